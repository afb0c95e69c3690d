"""Profile f5c_featdiff's training and inference step (B=128, T=64) with torch.profiler: top kernels."""
import json, os, sys, time
import torch
from torch.profiler import profile, ProfilerActivity
from avbench.registry import load_registry
from avbench.bench.suite import build_for_bench
from avbench.bench.model import random_input
from avbench.training import make_fabric, train_step, compile_submodules

out = os.environ.get("PROF_OUT", ".devstate/prof")
os.makedirs(out, exist_ok=True)
reg = load_registry()
torch.backends.cudnn.benchmark = True
report = {}
for label, compiled, precision in [("eager_bf16", False, "bf16-mixed"), ("compiled_bf16", True, "bf16-mixed")]:
    method = build_for_bench(reg, "f5c_featdiff", 478)
    fabric = make_fabric("cuda", precision)
    opt = torch.optim.AdamW(method.parameters(), lr=1e-4)
    model, opt = fabric.setup(method, opt)
    model.mark_forward_method("loss")
    model.train()
    clips, drivers, targets = random_input(method, 128, 64, fabric.device)
    if compiled:
        compile_submodules(method)
    step = lambda: train_step(model, opt, fabric, clips, drivers, targets, grad_clip=1.0)
    for _ in range(8):
        step()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(10):
        step()
    torch.cuda.synchronize()
    sec = (time.perf_counter() - t) / 10
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(5):
            step()
        torch.cuda.synchronize()
    table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=30, max_name_column_width=90)
    open(f"{out}/train_{label}.txt", "w").write(f"step {sec*1000:.1f} ms, {128/sec:.0f} clips/s\n" + table)
    prof.export_chrome_trace(f"{out}/train_{label}.trace.json")
    events = [e for e in prof.key_averages() if e.device_time_total > 0]
    total = sum(e.self_device_time_total for e in events)
    top = sorted(events, key=lambda e: -e.self_device_time_total)[:25]
    report[label] = {"step_ms": sec * 1000, "clips_per_s": 128 / sec, "self_device_us_total_5_steps": total,
                     "top": [(e.key[:120], e.self_device_time_total, round(100 * e.self_device_time_total / total, 1), e.count) for e in top]}
    print(label, f"{128/sec:.0f} clips/s", flush=True)
    for k, us, pct, n in report[label]["top"][:15]:
        print(f"  {pct:5.1f}%  {us/5/1000:7.2f} ms/step  x{n//5:<4d} {k}")
    del model, opt, method
    torch.cuda.empty_cache()
json.dump(report, open(f"{out}/profile.json", "w"), indent=1)
