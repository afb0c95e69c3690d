"""Which part of loading slows the GPU: one compiled model, the same steps, five ways of feeding it."""
import json
import sys
import time

import numpy as np
import torch

from avbench.bench.model import ModelBench
from avbench.bench.suite import build_for_bench
from avbench.config import TrainingConfig
from avbench.data.frame_cache import FrameCache
from avbench.data.loader import ClipSource, balanced_batches
from avbench.data.prefetch import BatchPrefetcher
from avbench.data.spec import open_dataset
from avbench.registry import load_registry
from avbench.training import (OneStepBehind, compile_method, label_ids, label_tensor, make_fabric,
                              make_optimizer, train_step)

reg = load_registry()
index = open_dataset(reg, None)
train = index.select("train")
source = ClipSource.from_frames(index.root, train, FrameCache())
torch.backends.cudnn.benchmark = True
method = build_for_bench(reg, "f5c_featdiff", 478)
fabric = make_fabric("cuda", "16-mixed", 1)
optimizer = make_optimizer(method, TrainingConfig(), "cuda")
model, optimizer = fabric.setup(method, optimizer)
model.mark_forward_method("loss")
model.train()
compile_method(method, "default")
rng = np.random.default_rng(0)
draw = balanced_batches(train, 16, 8, rng)
driver_of = label_ids(train, "driver")
behind = OneStepBehind()
out = {}
class NoCopy:  # a stager that hands out the pinned host batch: loading and pinning only
    def swap(self, next_host):
        return next_host()


loaders = {m: BatchPrefetcher(source, lambda: next(draw), 64, rng, workers=8, device=fabric.device)
           for m in ("e2e", "pin-only", "copy-only")}
loaders["pin-only"].stager = NoCopy()
loaders["copy-only"].stager.prepare = lambda x: x
resident = next(loaders["e2e"])
u8 = resident[1].mul(255).round().byte()
side = torch.cuda.Stream()


def step(mode):
    if mode in loaders:
        labels, clips = next(loaders[mode])
        if mode != "e2e":
            labels, clips = resident
    elif mode == "convert-only":
        with torch.cuda.stream(side):
            y = source.to_input(u8, lambda x: x)
        torch.cuda.current_stream().wait_stream(side)
        y.record_stream(torch.cuda.current_stream())
        labels, clips = resident
    else:
        labels, clips = resident
    d = label_tensor([driver_of[x] for x in labels], fabric.device)
    behind.push(train_step(model, optimizer, fabric, clips, d, d, grad_clip=1.0), 0)


for _ in range(10):
    step("e2e")
for rep in range(2):
    for mode in ("resident", "e2e", "pin-only", "copy-only", "convert-only"):
        for _ in range(5):
            step(mode)
        behind.flush(); torch.cuda.synchronize(); behind.waited_s = 0.0
        t = time.perf_counter()
        for _ in range(40):
            step(mode)
        behind.flush(); torch.cuda.synchronize()
        s = (time.perf_counter() - t) / 40
        out[f"{mode}-{rep}"] = {"clips_per_s": 128 / s, "step_ms": 1000 * s, "wait_ms": 1000 * behind.waited_s / 40}
        print(mode, rep, {k: round(v, 2) for k, v in out[f"{mode}-{rep}"].items()}, flush=True)
for loader in loaders.values():
    loader.close()
json.dump(out, open(sys.argv[1], "w"), indent=1)
