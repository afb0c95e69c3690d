"""Landmark extraction for a set of videos: parallel, cached, counted.

Each video's raw extractor output (NaN rows where no face was found) is cached once per
video and extractor version under ``<cache>/landmarks/<extractor>-v<version>/``, keyed by the
frame-cache key of the video (path, size, mtime, decode policy), so a re-encoded video is
extracted again and nothing stale is served.  Extraction runs in spawned worker processes
(one extractor each) with a progress bar; frames without a face are counted per video and
filled by :mod:`avbench.landmarks.fill` when clips are cut.  The report gives, per
generator, videos, frames, failure-to-acquire rate and extraction frames/s.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from avbench.data.frame_cache import FrameCache
from avbench.engines import map_tasks
from avbench.errors import DatasetError
from avbench.landmarks.fill import POLICY, fill_missing, missing_frames
from avbench.specs import LandmarkExtractorSpec


class LandmarkCache:
    """Raw landmarks per (video, extractor, version), as ``.npy`` files written atomically."""

    def __init__(self, root: Path, spec: LandmarkExtractorSpec, perturbation: str = ""):
        # Landmarks of perturbed frames (the robustness protocol) live apart, per perturbation.
        self.folder = Path(root) / "landmarks" / f"{spec.name}-v{spec.version}"
        if perturbation:
            self.folder = self.folder / "perturbed" / perturbation
        self.frames = FrameCache(root)

    def path(self, video: Path) -> Path:
        key = hashlib.sha256(self.frames.key(video).encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.npy"

    def load(self, video: Path) -> np.ndarray | None:
        p = self.path(video)
        return np.load(p) if p.exists() else None

    def save(self, video: Path, landmarks: np.ndarray) -> None:
        p = self.path(video)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{secrets.token_hex(4)}.tmp.npy")
        np.save(tmp, landmarks.astype(np.float32))
        os.replace(tmp, p)


@dataclass
class VideoRecord:
    label: object
    path: str
    generator: str
    frames: int = 0
    missing: int = 0  # frames without a detected face
    seconds: float = 0.0  # extraction time; 0 when served from the cache
    cached: bool = False
    skipped: str = ""  # why the video cannot be used, if it cannot


@dataclass
class ExtractionReport:
    extractor: str
    records: list[VideoRecord] = field(default_factory=list)

    @property
    def skipped(self) -> list[VideoRecord]:
        return [r for r in self.records if r.skipped]

    def by_generator(self) -> pd.DataFrame:
        """Per generator: videos, frames, missing frames, failure-to-acquire rate, frames/s."""
        df = pd.DataFrame([vars(r) for r in self.records])
        if df.empty:
            return pd.DataFrame(columns=["videos", "frames", "missing", "failure_rate", "extracted_fps",
                                         "skipped_videos"])
        fresh = df[~df["cached"]]
        out = df.groupby("generator").agg(videos=("path", "size"), frames=("frames", "sum"),
                                          missing=("missing", "sum"),
                                          skipped_videos=("skipped", lambda s: int((s != "").sum())))
        out["failure_rate"] = out["missing"] / out["frames"].where(out["frames"] > 0)
        secs = fresh.groupby("generator")["seconds"].sum()
        frames = fresh.groupby("generator")["frames"].sum()
        out["extracted_fps"] = (frames / secs.where(secs > 0)).reindex(out.index)
        return out[["videos", "frames", "missing", "failure_rate", "extracted_fps", "skipped_videos"]]

    def summary(self) -> dict:
        """Totals and the per-generator table, JSON-ready for the results store (None: not
        measured, e.g. frames/s when everything came from the cache)."""
        frames = sum(r.frames for r in self.records)
        missing = sum(r.missing for r in self.records)
        fresh = [r for r in self.records if not r.cached]
        secs = sum(r.seconds for r in fresh)
        table = self.by_generator().astype(object)
        per_gen = {g: {k: _json_value(v) for k, v in row.items()} for g, row in table.to_dict("index").items()}
        return {"extractor": self.extractor, "fill_policy": POLICY, "videos": len(self.records),
                "frames": frames, "missing_frames": missing,
                "failure_rate": missing / frames if frames else None,
                "extracted_fps": sum(r.frames for r in fresh) / secs if secs else None,
                "skipped_videos": [r.path for r in self.skipped], "per_generator": per_gen}


def _json_value(v):
    v = v.item() if hasattr(v, "item") else v
    return None if isinstance(v, float) and v != v else v


# --- workers ----------------------------------------------------------------------------

_EXTRACTOR = None
_EXTRACTOR_SPEC = None


def _extract_one(args: tuple) -> tuple[int, int, float]:
    """Extract one video's landmarks into the cache: ``(video, cache_root, spec)``, or with
    ``perturbation, key`` after them, from the frames perturbed first
    (:func:`avbench.perturb.apply`; ``key``, the video's dataset-relative path, seeds its noise)."""
    global _EXTRACTOR, _EXTRACTOR_SPEC
    video, cache_root, spec, perturbation, key = (*args, "", "")[:5]
    if _EXTRACTOR is None or _EXTRACTOR_SPEC != spec:  # once per worker process
        import cv2

        cv2.setNumThreads(1)  # one worker per core already
        _EXTRACTOR, _EXTRACTOR_SPEC = spec.load()(), spec
    cache = LandmarkCache(Path(cache_root), spec, perturbation)
    frames = cache.frames.frames(Path(video))
    if perturbation:
        from avbench.perturb import apply, get_perturbation

        frames = apply(get_perturbation(perturbation), frames, 0, key)
    t = time.perf_counter()
    lm = np.asarray(_EXTRACTOR(np.asarray(frames)), np.float32)
    seconds = time.perf_counter() - t
    if lm.shape[:1] != (len(frames),) or lm.ndim != 3:
        raise ValueError(f"{spec.name} returned landmarks of shape {lm.shape} for {len(frames)} frames "
                         f"of {video}; expected (frames, points, coords)")
    cache.save(Path(video), lm)
    return len(lm), int(missing_frames(lm).sum()), seconds


# --- the entry point ---------------------------------------------------------------------

def extract_landmarks(root: Path, videos: pd.DataFrame, spec: LandmarkExtractorSpec, cache_root: Path,
                      workers: int | None = None,
                      progress: Callable[[int, int], None] | None = None, engine: str = "local",
                      scheduler: str | None = None, perturbation: str = "") -> tuple[dict, ExtractionReport]:
    """Filled (N, P, C) float32 landmarks per row label of ``videos``, and the report.

    Videos missing from the landmark cache are extracted on ``workers`` processes of this
    machine, or on a Dask cluster (``engine="dask"``, see :mod:`avbench.engines`).

    Videos in which no frame has a face are left out of the returned arrays and listed in
    ``report.skipped`` with the reason; callers drop them from their selection and say so.

    ``perturbation`` (a name of :data:`avbench.perturb.PERTURBATIONS` that changes pixels):
    the landmarks of the perturbed frames, cached apart from the plain ones.
    """
    if perturbation and spec.source == "dataset":
        raise DatasetError(f"the {spec.name} landmarks ship with the dataset: they cannot be "
                           f"extracted again from frames perturbed by {perturbation!r}; use an "
                           "extractor that reads frames (--extractor mediapipe)")
    report = ExtractionReport(spec.name)
    records = {label: VideoRecord(label, rel, gen) for label, rel, gen
               in zip(videos.index, videos["path"], videos["generator"], strict=True)}
    raw: dict = {}
    if spec.source == "dataset":
        for k, (label, rel) in enumerate(videos["landmarks"].items()):
            if not rel:
                records[label].skipped = "the dataset ships no landmark file for it"
            else:
                raw[label] = _load_shipped(Path(root) / rel)
            if progress:
                progress(k + 1, len(videos))
    else:
        cache = LandmarkCache(cache_root, spec, perturbation)
        todo = []
        for label, rel in videos["path"].items():
            arr = cache.load(Path(root) / rel)
            if arr is None:
                todo.append(label)
            else:
                raw[label] = arr
                records[label].cached = True
        done = len(videos) - len(todo)
        if progress:
            progress(done, len(videos))
        if todo:
            # Construct once here: missing packages or weights fail before any worker starts.
            checked = spec.load()()
            tasks = [(str(Path(root) / videos.at[label, "path"]), str(cache_root), spec)
                     + ((perturbation, str(videos.at[label, "path"])) if perturbation else ())
                     for label in todo]
            global _EXTRACTOR, _EXTRACTOR_SPEC
            _EXTRACTOR, _EXTRACTOR_SPEC = checked, spec  # used as is when tasks run in this process
            for i, (_, _, seconds) in map_tasks(_extract_one, tasks, engine, workers, scheduler):
                label = todo[i]
                raw[label] = cache.load(Path(root) / videos.at[label, "path"])
                records[label].seconds = seconds
                done += 1
                if progress:
                    progress(done, len(videos))
    arrays = {}
    for label, lm in raw.items():
        rec = records[label]
        rec.frames, rec.missing = len(lm), int(missing_frames(lm).sum())
        try:
            arrays[label] = fill_missing(lm)
        except ValueError as exc:
            rec.skipped = f"{exc} ({rec.frames} frames)"
    report.records = list(records.values())
    return arrays, report


def _load_shipped(path: Path) -> np.ndarray:
    try:
        arr = np.load(path)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read this landmark file ({exc}); re-create it or remove "
                           "it and use an extractor (--extractor mediapipe)") from exc
    if arr.ndim != 3 or arr.shape[-1] not in (2, 3):
        raise DatasetError(f"{path}: landmarks of shape {arr.shape}; expected (frames, points, 2 or 3)")
    return arr.astype(np.float32)


__all__ = ["ExtractionReport", "LandmarkCache", "VideoRecord", "extract_landmarks"]
