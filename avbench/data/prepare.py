"""Fill the frame cache before training: every video decoded once, on all cores or a cluster.

Training then only reads memory-mapped frames.  A video that cannot be decoded is
counted and named in the report, never silently dropped; the run that later needs it
stops with the same error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from avbench.data.frame_cache import FrameCache
from avbench.data.video import VideoDecodeError
from avbench.engines import map_tasks


@dataclass
class PrepareReport:
    videos: int = 0
    decoded: int = 0  # decoded now
    cached: int = 0  # already in the cache
    frames: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    lengths: dict[str, int] = field(default_factory=dict)  # path -> decoded frames

    @property
    def videos_per_s(self) -> float | None:
        return self.decoded / self.seconds if self.decoded and self.seconds else None


def _decode(task: tuple[str, str]) -> tuple[int, bool, str]:
    """(frames, decoded now, error) for one video; errors are returned, not raised, so one
    bad file does not cancel the rest."""
    path, cache_root = task
    cache = FrameCache(cache_root)
    try:
        frames = len(cache.frames(path))
    except VideoDecodeError as exc:
        return 0, False, str(exc)
    return frames, cache.misses == 1, ""


def prepare_frames(root: Path, videos: pd.DataFrame, cache_root: Path, engine: str = "local",
                   workers: int | None = None, scheduler: str | None = None,
                   progress: Callable[[int, int], None] | None = None) -> PrepareReport:
    tasks = [(str(Path(root) / rel), str(cache_root)) for rel in videos["path"]]
    report = PrepareReport(videos=len(tasks))
    start = time.perf_counter()
    for done, (i, (frames, decoded, error)) in enumerate(
            map_tasks(_decode, tasks, engine, workers, scheduler), start=1):
        if error:
            report.failed.append((videos["path"].iloc[i], error))
        else:
            report.lengths[videos["path"].iloc[i]] = frames
            report.frames += frames
            report.decoded += decoded
            report.cached += not decoded
        if progress:
            progress(done, len(tasks))
    report.seconds = time.perf_counter() - start
    return report
