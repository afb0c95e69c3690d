"""Prefetching loader threads change nothing but speed: the same clips, in the same order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from avbench.data.loader import ClipSource, balanced_batches
from avbench.data.prefetch import BatchPrefetcher
from avbench.specs import InputKind


def make_source():
    rng = np.random.default_rng(0)
    arrays = {f"v{i}": rng.integers(0, 255, (30 + i, 6, 6), dtype=np.uint8) for i in range(12)}
    videos = pd.DataFrame({"driver": [f"d{i % 4}" for i in range(12)]}, index=list(arrays))
    return ClipSource(arrays, InputKind.FRAMES), videos


def batches(workers: int, n: int = 7):
    source, videos = make_source()
    rng = np.random.default_rng(42)
    draw = balanced_batches(videos, 3, 2, rng)
    with BatchPrefetcher(source, lambda: next(draw), 8, rng, workers=workers, depth=3) as loader:
        return [(labels, batch.numpy().copy()) for labels, batch in (next(loader) for _ in range(n))]


def test_threads_give_the_same_batches_as_the_calling_thread():
    plain, threaded = batches(0), batches(3)
    for (la, a), (lb, b) in zip(plain, threaded, strict=True):
        assert la == lb and a.shape == (6, 8, 1, 6, 6) and np.array_equal(a, b)


def test_same_clips_as_the_unprefetched_batch_path():
    """``ClipSource.batch`` (evaluation and earlier training) draws the same starts from the rng."""
    source, videos = make_source()
    rng = np.random.default_rng(42)
    draw = balanced_batches(videos, 3, 2, rng)
    expected = []
    for _ in range(3):
        labels = next(draw)
        expected.append(source.batch(labels, 8, lambda x: x, rng).mul(255).round().byte().numpy())
    got = [b for _, b in batches(2, n=3)]
    for e, g in zip(expected, got, strict=True):
        assert np.array_equal(e, g)
