"""Data-pipeline throughput: training clips/s served from the decoded-frame cache.

Measures what the training loop does per batch without the model: draw an
identity-balanced batch, cut random clips from the memory-mapped cache (in
``workers`` loader threads, :class:`~avbench.data.prefetch.BatchPrefetcher`), move
them to the device as uint8 and scale them there.  Compared with the model's
clips/s (:mod:`avbench.bench.model`) it tells whether loading is the bottleneck.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from avbench.data.loader import ClipSource, balanced_batches
from avbench.data.prefetch import BatchPrefetcher


def pipeline_throughput(source: ClipSource, train: pd.DataFrame, device: str, batch_drivers: int = 16,
                        per_driver: int = 8, clip_length: int = 64, batches: int = 20,
                        warmup: int = 2, workers: int = 0, seed: int = 0) -> dict:
    """Clips/s of loading ``train`` batches onto ``device`` (videos already in the frame cache)."""
    import torch

    rng = np.random.default_rng(seed)
    draw = balanced_batches(train, batch_drivers, per_driver, rng)
    on_gpu = torch.device(device).type == "cuda"
    with BatchPrefetcher(source, lambda: next(draw), clip_length, rng, workers=workers,
                         device=device) as loader:
        def one() -> int:
            _, clips = next(loader)
            return clips.shape[0]

        for _ in range(warmup):
            one()
        if on_gpu:
            torch.cuda.synchronize()
        start = time.perf_counter()
        clips = sum(one() for _ in range(batches))
        if on_gpu:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    frame_bytes = int(np.prod(next(iter(source.arrays.values())).shape[1:]))
    return {"benchmark": "data_pipeline", "device": device, "batch": batch_drivers * per_driver,
            "clip_length": clip_length, "batches": batches, "loader_workers": workers,
            "clips_per_s": clips / seconds, "mb_per_s": clips * clip_length * frame_bytes / seconds / 1e6}
