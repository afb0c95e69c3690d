"""Where a training step's time goes: torch.profiler over a few steps, kernels ranked by GPU time.

Measure before optimising: this runs the same Fabric training step as :mod:`avbench.bench.model`
(compiled if asked), then profiles ``steps`` more of them and keeps the kernel table (as text,
the way torch.profiler prints it), a Chrome trace to open in Perfetto, and the top kernels by
self device time (self CPU time on a CPU) in the record, each with its share of the total and
its time per step.  On a GPU the ranking holds the kernels only (torch.profiler also lists each
operator with its kernels' time as its own, which would count every kernel twice), so the shares
add up to the GPU's busy time; on a CPU it holds the operators' self CPU time.
"""

from __future__ import annotations

from pathlib import Path

import torch

from avbench.bench.model import ModelBench, training_step_on_random_input
from avbench.training import compile_method

TOP = 25


def profile_training(method, method_name: str, cfg: ModelBench, device: str, out_dir: Path) -> dict:
    """Profile ``cfg.steps`` training steps after ``cfg.warmup`` untimed ones; writes
    ``profile-<method>-<precision>[-compiled].txt`` and ``.trace.json`` into ``out_dir``."""
    from torch.profiler import ProfilerActivity, profile

    step = training_step_on_random_input(method, cfg, device)
    if cfg.compile:
        compile_method(method, cfg.compile_mode)
    for _ in range(max(cfg.warmup, 1)):
        step()
    cuda = device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(cfg.steps):
            step()
        if cuda:
            torch.cuda.synchronize()
    events = prof.key_averages()
    if cuda:  # the kernels themselves: an operator's self device time repeats its kernels'
        from torch.autograd import DeviceType

        ranked, self_time = ([e for e in events if e.device_type == DeviceType.CUDA],
                             lambda e: e.self_device_time_total)
    else:
        ranked, self_time = list(events), (lambda e: e.self_cpu_time_total)
    total = sum(self_time(e) for e in ranked) or 1
    top = sorted(ranked, key=self_time, reverse=True)[:TOP]
    stem = f"profile-{method_name}-{cfg.precision}{'-compiled' if cfg.compile else ''}"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sort_by = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    (out_dir / f"{stem}.txt").write_text(events.table(sort_by=sort_by, row_limit=TOP,
                                                      max_name_column_width=100) + "\n")
    prof.export_chrome_trace(str(out_dir / f"{stem}.trace.json"))
    return {
        "benchmark": "profile", "method": method_name, "device": device, "precision": cfg.precision,
        "compile": cfg.compile, "compile_mode": cfg.compile_mode, "batch": cfg.batch, "clip_length": cfg.clip_length, "steps": cfg.steps,
        "self_time_ms_per_step": total / 1000 / cfg.steps,  # GPU: kernel time; CPU: operator time
        "table": str(out_dir / f"{stem}.txt"),
        "top": [{"name": e.key, "ms_per_step": self_time(e) / 1000 / cfg.steps,
                 "share": self_time(e) / total, "calls_per_step": e.count / cfg.steps} for e in top],
    }
