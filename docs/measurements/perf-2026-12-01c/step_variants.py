"""Dev experiment: training-step variants and ccc kernel configs on one GPU, as run at commit dfa7812
(later commits renamed avbench.training.compile_submodules to compile_method)."""
import json, sys, time, itertools
import torch
from avbench.registry import load_registry
from avbench.bench.suite import build_for_bench
from avbench.bench.model import random_input
from avbench.training import make_fabric, train_step, compile_submodules
from avbench.ops import max_relative as mr
import avbench_methods.f5c as f5c

out = sys.argv[1]
what = sys.argv[2]
reg = load_registry()
rec = []

def save():
    json.dump(rec, open(out, "w"), indent=1)

def timed(fn, warm, steps):
    for _ in range(warm): fn()
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(steps): fn()
    torch.cuda.synchronize(); return (time.perf_counter() - t) / steps

if what == "kernels":
    torch.manual_seed(0)
    base = torch.randn(128, 16, 8192, 16, device="cuda", dtype=torch.float16)
    x = base.permute(2, 0, 1, 3).requires_grad_(True)
    g = torch.randn(8192, 128, 16, 16, device="cuda", dtype=torch.float16).contiguous(memory_format=torch.channels_last)
    def plain():
        f5c.FUSED_CCC = False
        y = f5c.MaxRelativeCorrespondence(4)(x); y.backward(g)
    def fused():
        y = mr.max_relative(x, 4); y.backward(g)
    def fused_fwd():
        with torch.no_grad(): mr.max_relative(x, 4)
    with torch.autocast("cuda", dtype=torch.float16):
        t = timed(plain, 2, 5); rec.append({"kernel": "plain eager fwd+bwd", "ms": 1000 * t}); print(rec[-1], flush=True)
        for fb, fw, bb, bw, pp in [(32, 8, 64, 8, 4), (64, 8, 64, 8, 4), (16, 4, 64, 8, 4), (32, 4, 64, 8, 4), (32, 8, 128, 8, 2), (32, 8, 64, 8, 8)]:
            mr.FORWARD_BLOCK, mr.FORWARD_WARPS, mr.BACKWARD_BLOCK, mr.BACKWARD_WARPS, mr.BACKWARD_PROGRAMS_PER_SM = fb, fw, bb, bw, pp
            try:
                t = timed(fused, 2, 10); tf = timed(fused_fwd, 2, 10)
                rec.append({"kernel": "fused", "cfg": [fb, fw, bb, bw, pp], "ms": 1000 * t, "fwd_nograd_ms": 1000 * tf})
            except Exception as e:
                rec.append({"kernel": "fused", "cfg": [fb, fw, bb, bw, pp], "error": repr(e)[:300]})
            print(rec[-1], flush=True); save()
    save(); sys.exit()

# training-step variants: (whole-embed compile, fused AdamW, deferred read, fused ccc)
VARIANTS = {"V0_old": (False, False, False, False), "V1_whole": (True, False, False, False),
            "V2_whole_fusedopt_deferred": (True, True, True, False), "V3_all": (True, True, True, True),
            "V4_submod_fusedopt_deferred_ccc": (False, True, True, True)}
names = sys.argv[3].split(",") if len(sys.argv) > 3 else list(VARIANTS)
if len(sys.argv) > 4:
    mr.FORWARD_BLOCK, mr.FORWARD_WARPS, mr.BACKWARD_BLOCK, mr.BACKWARD_WARPS, mr.BACKWARD_PROGRAMS_PER_SM = map(int, sys.argv[4].split(","))
for name in names:
    whole, fopt, deferred, ccc = VARIANTS[name]
    torch._dynamo.reset()
    f5c.FUSED_CCC = ccc
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    method = build_for_bench(reg, "f5c_featdiff", 478)
    fabric = make_fabric("cuda", "16-mixed")
    opt = torch.optim.AdamW(method.parameters(), lr=1e-3, fused=fopt)
    model, opt = fabric.setup(method, opt)
    model.mark_forward_method("loss"); model.train()
    clips, drivers, targets = random_input(method, 128, 64, fabric.device)
    if whole:
        compile_submodules(method)
    else:
        for c in method.children(): c.compile()
    prev = []
    losses = []
    def step():
        p = train_step(model, opt, fabric, clips, drivers, targets, 1.0)
        if deferred:
            if prev: losses.append(prev.pop().result().loss)
            prev.append(p)
        else:
            losses.append(p.result().loss)
    t0 = time.perf_counter()
    step(); torch.cuda.synchronize(); first = time.perf_counter() - t0
    t = timed(step, 6, 30)
    rec.append({"variant": name, "flags": [whole, fopt, deferred, ccc], "clips_per_s": 128 / t, "step_ms": 1000 * t,
                "first_step_s": first, "loss_first_last": [losses[0], losses[-1]],
                "peak_gib": torch.cuda.max_memory_allocated() / 2**30})
    print(rec[-1], flush=True); save()
    del model, opt, method
    torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
save()
