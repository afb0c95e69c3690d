"""End to end vs model-only in one process: where the staged batch is scaled, loader threads."""
import dataclasses
import json
import sys

import torch

import avbench.data.prefetch as pf
from avbench.bench.end_to_end import end_to_end_throughput
from avbench.bench.model import ModelBench, train_throughput
from avbench.bench.suite import build_for_bench
from avbench.data.frame_cache import FrameCache
from avbench.data.loader import ClipSource
from avbench.data.spec import open_dataset
from avbench.registry import load_registry

reg = load_registry()
index = open_dataset(reg, None)
train = index.select("train")
source = ClipSource.from_frames(index.root, train, FrameCache())
cfg = ModelBench(precision="16-mixed", compile=True, steps=40, warmup=8)
out = []
side_stage, side_swap = pf._CudaStager._stage, pf._CudaStager.swap


def copy_only(self, labels, host):
    with torch.cuda.stream(self.stream):
        return labels, host.to(self.device, non_blocking=True)


def scale_on_compute(self, next_host):
    labels, batch = side_swap(self, next_host)
    return labels, self.prepare(batch)


def row(name, rec):
    r = {k: rec.get(k) for k in ("clips_per_s", "step_ms", "resident_clips_per_s", "data_path_share",
                                 "host_ms_per_step", "wait_ms_per_step")}
    r["name"] = name
    out.append(r)
    print(name, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}, flush=True)


row("model", train_throughput(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", cfg, "cuda"))
for name, workers, scale in [("side-8", 8, "side"), ("compute-8", 8, "compute"), ("side-4", 4, "side"),
                             ("model-again", 0, None), ("side-8-again", 8, "side")]:
    if scale is None:
        row(name, train_throughput(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", cfg, "cuda"))
        continue
    pf._CudaStager._stage = side_stage if scale == "side" else copy_only
    pf._CudaStager.swap = side_swap if scale == "side" else scale_on_compute
    row(name, end_to_end_throughput(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", source,
                                    train, cfg, "cuda", workers=workers))
json.dump(out, open(sys.argv[1], "w"), indent=1)
