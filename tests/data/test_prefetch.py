"""Prefetching loader threads change nothing but speed: the same clips, in the same order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from avbench.data.loader import ClipSource, balanced_batches
from avbench.data.prefetch import BatchPrefetcher
from avbench.specs import InputKind


def make_source():
    rng = np.random.default_rng(0)
    arrays = {f"v{i}": rng.integers(0, 255, (30 + i, 6, 6), dtype=np.uint8) for i in range(12)}
    videos = pd.DataFrame({"driver": [f"d{i % 4}" for i in range(12)]}, index=list(arrays))
    return ClipSource(arrays, InputKind.FRAMES), videos


def batches(workers: int, n: int = 7, dtype=None):
    source, videos = make_source()
    rng = np.random.default_rng(42)
    draw = balanced_batches(videos, 3, 2, rng)
    with BatchPrefetcher(source, lambda: next(draw), 8, rng, workers=workers, depth=3,
                         dtype=dtype) as loader:
        return [(labels, batch.numpy().copy()) for labels, batch in (next(loader) for _ in range(n))]


def test_threads_give_the_same_batches_as_the_calling_thread():
    plain, threaded = batches(0), batches(3)
    for (la, a), (lb, b) in zip(plain, threaded, strict=True):
        assert la == lb and a.shape == (6, 8, 1, 6, 6) and a.dtype == np.float32 and np.array_equal(a, b)


def test_same_clips_as_the_unprefetched_batch_path():
    """``ClipSource.batch`` (evaluation and earlier training) draws the same starts from the rng."""
    source, videos = make_source()
    rng = np.random.default_rng(42)
    draw = balanced_batches(videos, 3, 2, rng)
    expected = []
    for _ in range(3):
        labels = next(draw)
        expected.append(source.batch(labels, 8, lambda x: x, rng).numpy())
    got = [b for _, b in batches(2, n=3)]
    for e, g in zip(expected, got, strict=True):
        assert np.array_equal(e, g)


def test_batches_are_the_method_s_input_in_the_asked_dtype():
    """Frames leave the loader scaled to [0, 1]: exactly uint8 / 255 in float32, or in float64
    for FP64 runs (not float32 values widened)."""
    source, videos = make_source()
    rng = np.random.default_rng(42)
    labels = next(balanced_batches(videos, 3, 2, rng))
    starts = source.starts(labels, 8, rng)
    raw = source.gather(labels, starts, 8)
    rng = np.random.default_rng(42)
    draw = balanced_batches(videos, 3, 2, rng)
    with BatchPrefetcher(source, lambda: next(draw), 8, rng, workers=0, dtype=torch.float64) as loader:
        got_labels, got = next(loader)
    assert got_labels == labels and got.dtype == torch.float64
    assert np.array_equal(got.numpy(), raw.astype(np.float64) / 255.0)
    assert np.array_equal(batches(0, n=1)[0][1], raw.astype(np.float32) / np.float32(255.0))


@pytest.mark.gpu
def test_on_a_gpu_the_staged_batches_equal_the_cpu_ones():
    """Copied through pinned memory and scaled on the side stream: the inputs the device makes
    of the same clips (a GPU divides by multiplying with 1/255: within 1 ulp of the CPU's)."""
    if not torch.cuda.is_available():
        pytest.fail("the gpu marker needs a CUDA device")
    source, videos = make_source()
    rng = np.random.default_rng(42)
    draw = balanced_batches(videos, 3, 2, rng)
    with BatchPrefetcher(source, lambda: next(draw), 8, rng, workers=2, depth=3,
                         device="cuda") as loader:
        got = [(labels, batch) for labels, batch in (next(loader) for _ in range(7))]
    for (la, a), (lb, b) in zip(batches(0), got, strict=True):
        assert b.is_cuda and b.dtype == torch.float32 and la == lb
        on_device = source.to_input(torch.from_numpy(a).mul(255).round().byte(), lambda x: x.cuda())
        assert torch.equal(b, on_device)
        torch.testing.assert_close(b.cpu(), torch.from_numpy(a), rtol=1.2e-7, atol=0)
