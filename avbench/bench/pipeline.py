"""Data-pipeline throughput: training clips/s served from the decoded-frame cache.

Measures what the training loop does per batch without the model: draw an
identity-balanced batch, cut random clips from the memory-mapped cache, move them
to the device as uint8 and scale them there.  Compared with the model's clips/s
(:mod:`avbench.bench.model`) it tells whether loading is the bottleneck.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from avbench.data.loader import ClipSource, balanced_batches


def pipeline_throughput(source: ClipSource, train: pd.DataFrame, device: str, batch_drivers: int = 16,
                        per_driver: int = 8, clip_length: int = 64, batches: int = 20,
                        warmup: int = 2, seed: int = 0) -> dict:
    """Clips/s of ``ClipSource.batch`` on ``train`` videos (already in the frame cache)."""
    import torch

    rng = np.random.default_rng(seed)
    draw = balanced_batches(train, batch_drivers, per_driver, rng)
    dev = torch.device(device)

    def put(x):
        return x.to(dev, non_blocking=False)

    def one() -> int:
        x = source.batch(next(draw), clip_length, put, rng)
        return x.shape[0]

    for _ in range(warmup):
        one()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    clips = sum(one() for _ in range(batches))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"benchmark": "data_pipeline", "device": device, "batch": batch_drivers * per_driver,
            "clip_length": clip_length, "batches": batches, "clips_per_s": clips / seconds,
            "mb_per_s": clips * clip_length * int(np.prod(next(iter(source.arrays.values())).shape[1:]))
            / seconds / 1e6}
