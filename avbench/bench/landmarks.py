"""Landmark extraction throughput per extractor, on videos of a dataset, with a fresh cache.

Frames come from a temporary frame cache (decoded first, not timed as extraction), so
the figure is the extractor's own: frames/s per worker (the extraction report's
``extracted_fps``) and overall wall-clock frames/s with ``workers`` processes.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from avbench.landmarks.extract import extract_landmarks
from avbench.specs import LandmarkExtractorSpec


def extraction_throughput(root: Path, videos: pd.DataFrame, spec: LandmarkExtractorSpec,
                          workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="avbench-bench-") as tmp:
        start = time.perf_counter()
        _, report = extract_landmarks(root, videos, spec, Path(tmp), workers=workers)
        wall = time.perf_counter() - start
    summary = report.summary()
    return {"benchmark": "landmark_extraction", "extractor": spec.name, "workers": workers,
            "videos": summary["videos"], "frames": summary["frames"],
            "frames_per_s_per_worker": summary["extracted_fps"],
            "frames_per_s": summary["frames"] / wall, "seconds": wall,
            "failure_rate": summary["failure_rate"], "skipped_videos": len(summary["skipped_videos"])}
