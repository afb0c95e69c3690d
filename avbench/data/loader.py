"""Clips for training and evaluation, straight from the decoded-frame cache.

Training batches are identity-balanced (N drivers x M videos of each, across targets
and generators) so every anchor of the supervised contrastive loss has positives;
clips start at random positions (paper Eq. 5).  Evaluation clips are the centred
ones (Eq. 6).  Clips leave here as uint8; scaling to [0, 1] happens on the device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from avbench.data.clips import eval_start, take_clip, train_start
from avbench.data.frame_cache import FrameCache
from avbench.specs import InputKind


class ClipSource:
    """Per-video arrays, (N, ...) along time, from which clips are cut.

    One source serves both input kinds: decoded frames (``(N, H, W)`` uint8,
    memory-mapped from the frame cache; batches gain a channel axis and leave as uint8,
    scaled to [0, 1] on the device) and landmarks (``(N, P, C)`` float32, from the
    landmark cache).  Decoding or extraction happens once, up front, with progress
    reported; later epochs and runs only read the caches.
    """

    def __init__(self, arrays: dict, kind: InputKind):
        self.arrays = arrays
        self.kind = kind

    @classmethod
    def from_frames(cls, root: Path, videos: pd.DataFrame, cache: FrameCache,
                    progress: Callable[[int, int], None] | None = None) -> ClipSource:
        arrays = {}
        for k, (label, rel) in enumerate(videos["path"].items()):
            arrays[label] = cache.frames(root / rel)
            if progress:
                progress(k + 1, len(videos))
        return cls(arrays, InputKind.FRAMES)

    def starts(self, labels: list, clip_length: int, rng: np.random.Generator | None = None) -> list[int]:
        """Where each clip starts: random if ``rng`` is given, else centred.  Drawn apart from
        the copying (:meth:`gather`) so loader threads never touch the random generator and
        a run's clips do not depend on how many threads load them."""
        return [train_start(len(self.arrays[lb]), clip_length, rng) if rng is not None
                else eval_start(len(self.arrays[lb]), clip_length) for lb in labels]

    def gather(self, labels: list, starts: list[int], clip_length: int) -> np.ndarray:
        """Frames (B, T, 1, H, W) uint8, or landmarks (B, T, P, C) float32, from given starts."""
        clips = np.stack([take_clip(self.arrays[lb], st, clip_length) for lb, st in zip(labels, starts)])
        return clips[:, :, None] if self.kind == InputKind.FRAMES else clips

    def clip(self, label, clip_length: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """A (T, ...) clip: random start if ``rng`` is given, else centred."""
        (start,) = self.starts([label], clip_length, rng)
        return take_clip(self.arrays[label], start, clip_length)

    def stack(self, labels: list, clip_length: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Frames (B, T, 1, H, W) uint8, or landmarks (B, T, P, C) float32."""
        return self.gather(labels, self.starts(labels, clip_length, rng), clip_length)

    def to_input(self, batch, device_put: Callable, dtype=None):
        """A stacked batch (array or tensor) as the method's input tensor on the device:
        frames scaled to [0, 1] there (uint8 travels 4x lighter), landmarks as they are;
        float32 unless ``dtype`` asks otherwise (float64 for FP64 runs)."""
        import torch

        x = device_put(torch.as_tensor(batch))
        dtype = dtype or torch.float32
        if self.kind != InputKind.FRAMES:
            return x.to(dtype)
        # One pass, uint8 in, ``dtype`` out (a 0-dim divisor of that dtype sets the result's):
        # the same values as converting first and dividing after, without a second pass.
        return (x / torch.tensor(255.0, dtype=dtype)).to(dtype)  # .to: float frames given

    def batch(self, labels: list, clip_length: int, device_put: Callable,
              rng: np.random.Generator | None = None, dtype=None):
        """The method's input tensor on the device (see :meth:`to_input`)."""
        return self.to_input(self.stack(labels, clip_length, rng), device_put, dtype)


def balanced_batches(videos: pd.DataFrame, identities: int, per_identity: int,
                     rng: np.random.Generator) -> Iterator[list]:
    """Endless batches of row labels: ``identities`` drivers x ``per_identity`` videos.

    A driver with fewer videos than ``per_identity`` contributes repeats (different
    random clips of them); if the split has fewer drivers than asked, all are used.
    """
    by_driver = {d: g.index.to_numpy() for d, g in videos.groupby("driver", sort=True)}
    drivers = np.array(sorted(by_driver))
    n_ids = min(identities, len(drivers))
    if n_ids < 2:
        raise ValueError(f"identity-balanced batches need at least 2 drivers; found {len(drivers)}")
    while True:
        batch: list = []
        for d in rng.choice(drivers, n_ids, replace=False):
            pool = by_driver[d]
            batch += list(rng.choice(pool, per_identity, replace=len(pool) < per_identity))
        yield batch
