"""Training batches prepared ahead by loader threads, so the accelerator never waits for data.

The main thread draws each batch's videos and clip starts (all random choices, in the
same order as without prefetching, so results do not change); loader threads copy the
clips out of the memory-mapped frame cache (numpy copies release the GIL) into pinned
memory; the main thread then starts an asynchronous host-to-device copy and scales on
the device.  ``depth`` batches are in flight at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from avbench.data.loader import ClipSource


class BatchPrefetcher:
    """Iterate ``(labels, cpu_batch)`` for endless batches of ``next_labels()``.

    Args:
        source: where the clips come from.
        next_labels: returns the next batch's row labels (e.g. ``balanced_batches``).
        clip_length: T.
        rng: the generator of clip starts (drawn on the calling thread).
        workers: loader threads; 0 loads on the calling thread (no prefetch).
        depth: batches prepared ahead (with ``workers`` > 0).
        pin: copy batches into page-locked memory (for asynchronous copies to a GPU).
    """

    def __init__(self, source: ClipSource, next_labels: Callable[[], list], clip_length: int,
                 rng: np.random.Generator, workers: int = 4, depth: int = 4, pin: bool = False):
        self.source, self.next_labels, self.t, self.rng = source, next_labels, clip_length, rng
        self.pin = pin
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="avbench-loader") if workers else None
        self.pending: deque = deque()
        self.depth = max(1, depth) if workers else 0

    def _load(self, labels: list, starts: list[int]):
        import torch

        batch = torch.from_numpy(self.source.gather(labels, starts, self.t))
        return batch.pin_memory() if self.pin else batch

    def _submit(self) -> None:
        labels = self.next_labels()
        starts = self.source.starts(labels, self.t, self.rng)
        self.pending.append((labels, self.pool.submit(self._load, labels, starts)))

    def __iter__(self) -> Iterator[tuple[list, object]]:
        return self

    def __next__(self) -> tuple[list, object]:
        if self.pool is None:
            labels = self.next_labels()
            return labels, self._load(labels, self.source.starts(labels, self.t, self.rng))
        while len(self.pending) < self.depth:
            self._submit()
        labels, future = self.pending.popleft()
        self._submit()
        return labels, future.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BatchPrefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
