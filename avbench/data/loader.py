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


class ClipSource:
    """The decoded frames of a set of videos, memory-mapped from the cache.

    Decoding happens once, up front, with progress reported; later epochs and runs
    only read the cache.
    """

    def __init__(self, root: Path, videos: pd.DataFrame, cache: FrameCache,
                 progress: Callable[[int, int], None] | None = None):
        self.videos = videos
        self.frames: dict = {}
        for k, (label, rel) in enumerate(videos["path"].items()):
            self.frames[label] = cache.frames(root / rel)
            if progress:
                progress(k + 1, len(videos))

    def clip(self, label, clip_length: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """A (T, H, W) uint8 clip: random start if ``rng`` is given, else centred."""
        frames = self.frames[label]
        n = len(frames)
        start = train_start(n, clip_length, rng) if rng is not None else eval_start(n, clip_length)
        return take_clip(frames, start, clip_length)


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


def stack_clips(source: ClipSource, labels: list, clip_length: int,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """(B, T, 1, H, W) uint8."""
    return np.stack([source.clip(lb, clip_length, rng) for lb in labels])[:, :, None]
