"""Training batches prepared ahead by loader threads, so the accelerator never waits for data.

The main thread draws each batch's videos and clip starts (all random choices, in the
same order as without prefetching, so results do not change); loader threads copy the
clips out of the memory-mapped frame cache (numpy copies release the GIL).  What comes out
is the method's input (:meth:`ClipSource.to_input`: frames scaled to [0, 1]).  On a GPU the
threads copy into pinned memory, and the next batch's host-to-device copy and its scaling
run on a side CUDA stream while the current step computes: a paper batch is 134 MB of uint8,
about 4 ms over PCIe, which on the compute stream would idle the GPU for 5 % of every step,
and its scaling to float32 writes 537 MB more.  Elsewhere the threads scale the batch too.

Under data-parallel training every process draws the same global batch (same seed, same
draws) and loads only its own slice (``shard``), so N processes see exactly the clips
one process would.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from avbench.data.loader import ClipSource


class BatchPrefetcher:
    """Iterate ``(labels, batch)`` for endless batches of ``next_labels()``.

    Args:
        source: where the clips come from.
        next_labels: returns the next global batch's row labels (e.g. ``balanced_batches``).
        clip_length: T.
        rng: the generator of clip starts (drawn on the calling thread).
        workers: loader threads; 0 loads on the calling thread (no prefetch).
        depth: batches prepared ahead (with ``workers`` > 0).
        shard: ``(rank, world_size)``: keep this process's contiguous slice of each batch.
        device: where the batches are wanted (``None``: the CPU).  A CUDA device gets them
            through pinned memory and a side stream, one batch ahead.
        dtype: the input's floating dtype (float32 unless given; float64 for FP64 runs).
    """

    def __init__(self, source: ClipSource, next_labels: Callable[[], list], clip_length: int,
                 rng: np.random.Generator, workers: int = 4, depth: int = 4,
                 shard: tuple[int, int] = (0, 1), device=None, dtype=None):
        import torch

        self.source, self.next_labels, self.t, self.rng = source, next_labels, clip_length, rng
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype
        self.rank, self.world = shard
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="avbench-loader") if workers else None
        self.pending: deque = deque()
        self.depth = max(1, depth) if workers else 0
        self.stager = _CudaStager(self.device, self._to_input) if self.device.type == "cuda" else None

    def _draw(self) -> tuple[list, list[int]]:
        """The next global batch's labels and starts (every rank draws them all), cut to this
        rank's slice."""
        labels = self.next_labels()
        starts = self.source.starts(labels, self.t, self.rng)
        if self.world == 1:
            return labels, starts
        if len(labels) % self.world:
            raise ValueError(f"a batch of {len(labels)} clips cannot be split evenly over {self.world} "
                             "processes; choose identities_per_batch x videos_per_identity divisible by it")
        size = len(labels) // self.world
        cut = slice(self.rank * size, (self.rank + 1) * size)
        return labels[cut], starts[cut]

    def _load(self, labels: list, starts: list[int]):
        """On a loader thread: the batch, pinned for a GPU (staged as it is), else as input."""
        import torch

        batch = torch.from_numpy(self.source.gather(labels, starts, self.t))
        if self.stager is not None:
            return batch.pin_memory()
        return self._to_input(batch.to(self.device))

    def _to_input(self, batch):
        return self.source.to_input(batch, lambda x: x, self.dtype)

    def _submit(self) -> None:
        labels, starts = self._draw()
        self.pending.append((labels, self.pool.submit(self._load, labels, starts)))

    def _next_host(self) -> tuple[list, object]:
        if self.pool is None:
            labels, starts = self._draw()
            return labels, self._load(labels, starts)
        while len(self.pending) < self.depth:
            self._submit()
        labels, future = self.pending.popleft()
        self._submit()
        return labels, future.result()

    def __iter__(self) -> Iterator[tuple[list, object]]:
        return self

    def __next__(self) -> tuple[list, object]:
        if self.stager is None:
            return self._next_host()
        return self.stager.swap(self._next_host)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BatchPrefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _CudaStager:
    """Keeps one batch in flight to the GPU on its own stream.

    ``swap`` hands out the batch copied and scaled during the previous step (the compute
    stream waits for that work only) and starts on the next one, so the copy of batch
    i + 1 overlaps the step on batch i.
    """

    def __init__(self, device, prepare: Callable):
        import torch

        self.torch, self.device, self.prepare = torch, device, prepare
        self.stream = torch.cuda.Stream(device)
        self.staged: tuple[list, object] | None = None

    def _stage(self, labels: list, host) -> tuple[list, object]:
        # The uint8 copy is used on the side stream only; the input it becomes is handed out.
        with self.torch.cuda.stream(self.stream):
            return labels, self.prepare(host.to(self.device, non_blocking=True))

    def swap(self, next_host: Callable[[], tuple[list, object]]) -> tuple[list, object]:
        if self.staged is None:
            self.staged = self._stage(*next_host())
        labels, batch = self.staged
        compute = self.torch.cuda.current_stream(self.device)
        compute.wait_stream(self.stream)  # only this batch's work is queued on the side stream
        batch.record_stream(compute)  # its memory is reused only after the step that reads it
        self.staged = self._stage(*next_host())
        return labels, batch
