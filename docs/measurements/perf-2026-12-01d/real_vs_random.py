"""Kernel time per step of the compiled FP16 training step on random clips vs one real batch."""
import json
import sys
from pathlib import Path

import numpy as np
import torch

import avbench.bench.model as bm
from avbench.bench.profile import profile_training
from avbench.bench.suite import build_for_bench
from avbench.data.frame_cache import FrameCache
from avbench.data.loader import ClipSource, balanced_batches
from avbench.data.spec import open_dataset
from avbench.registry import load_registry
from avbench.training import label_ids

out = Path(sys.argv[1])
reg = load_registry()
index = open_dataset(reg, None)
train = index.select("train")
source = ClipSource.from_frames(index.root, train, FrameCache())
rng = np.random.default_rng(0)
labels = next(balanced_batches(train, 16, 8, rng))
ids = label_ids(train, "driver")
tids = label_ids(train, "target")
real = (source.batch(labels, 64, lambda x: x.cuda(), rng),
        torch.tensor([ids[x] for x in labels], device="cuda"),
        torch.tensor([tids[x] for x in labels], device="cuda"))
cfg = bm.ModelBench(precision="16-mixed", compile=True, steps=20, warmup=5)
random_input = bm.random_input
summary = {}
for name in ("random", "real"):
    if name == "real":
        bm.random_input = lambda *a, **k: real
    torch.manual_seed(0)
    rec = profile_training(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", cfg, "cuda", out / name)
    summary[name] = rec
    print(f"== {name}: {rec['self_time_ms_per_step']:.2f} ms of kernels per step")
    for t in rec["top"][:14]:
        print(f"  {t['ms_per_step']:7.3f} ms {t['share']:6.1%} x{t['calls_per_step']:.0f}  {t['name'][:90]}")
(out / "real_vs_random.json").write_text(json.dumps(summary, indent=1))
