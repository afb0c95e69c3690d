"""Use a saved model without a protocol: embed a dataset's videos, verify one pair of videos.

Both start from a checkpoint (:mod:`avbench.checkpoints`) and read videos the way training
did: frame methods through the frame cache (the same decoding and resizing), landmark
methods through the landmark extractor the model was trained with.  Embeddings come from
:func:`avbench.embed.embed_videos`, the step every evaluation uses; a pair's score is the dot
product of its two embeddings, as in every score table; the decision compares it with the
threshold stored with the model (the EER threshold of its validation identities).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from avbench.errors import CheckpointError, UsageError

__all__ = ["Verification", "embed_dataset", "open_model", "verify_videos"]


def open_model(registry, checkpoint: str | Path | None = None, run: int | None = None,
               db: str | Path | None = None, device: str = "cpu"):
    """The saved model of ``--checkpoint FILE`` or of ``--run ID`` (a row of ``db``), loaded
    on ``device``: an :class:`~avbench.checkpoints.LoadedModel` (``method``, ``meta``, ``path``)."""
    from avbench.checkpoints import load_checkpoint
    from avbench.evaluate import checkpoint_of_row
    from avbench.results import ResultsStore, default_db_path

    if (run is None) == (checkpoint is None):
        raise UsageError("give exactly one of --run ID (a row of --db) and --checkpoint FILE")
    path = Path(checkpoint) if checkpoint is not None else checkpoint_of_row(
        ResultsStore(db or default_db_path()), run)
    return load_checkpoint(path, registry, device=device)


def _fabric(model, device: str):
    from avbench.runner import resolve_device
    from avbench.training import make_fabric

    training = model.meta.get("training") if isinstance(model.meta.get("training"), dict) else {}
    precision = training.get("precision") if isinstance(training.get("precision"), str) else "32-true"
    return make_fabric(resolve_device(device), precision)


def _clip_length(model) -> int:
    t = model.meta.get("clip_length")
    if isinstance(t, bool) or not isinstance(t, int) or t < 1:
        raise CheckpointError(f"{model.path}: its sidecar gives no clip length (clip_length {t!r}); "
                              "save the checkpoint again with avbench run")
    return t


def _source(registry, model, root: Path, videos: pd.DataFrame, cache_dir: Path | None, progress=None):
    """The model's input for ``videos`` (paths relative to ``root``), and the labels left out
    because no frame of them had a face (landmark methods)."""
    from avbench.data.frame_cache import FrameCache
    from avbench.data.loader import ClipSource
    from avbench.paths import default_cache_dir
    from avbench.specs import InputKind

    cache = Path(cache_dir or default_cache_dir())
    spec = registry.methods.get(model.meta["method"])
    if spec.input == InputKind.FRAMES:
        return ClipSource.from_frames(root, videos, FrameCache(cache),
                                      progress=(lambda d, n: progress("decode", d, n)) if progress else None), []
    from avbench.landmarks.extract import extract_landmarks

    name = model.meta["config"].get("extractor")
    extractor = registry.landmark_extractors.get(name)
    arrays, report = extract_landmarks(root, videos, extractor, cache,
                                       progress=(lambda d, n: progress(f"landmarks ({name})", d, n))
                                       if progress else None)
    return ClipSource(arrays, InputKind.LANDMARKS), [label for label in videos.index if label not in arrays]


def embed_dataset(registry, model, data: str | None = None, split: str | None = None,
                  device: str = "cpu", cache_dir: Path | None = None, progress=None) -> pd.DataFrame:
    """One embedding per video of a dataset (``split``: only train, val or test), with the
    index's columns (path, source, generator, target, driver, kind, split, ...) and
    ``embedding`` (a list of floats).  Videos without a usable input (no face in any frame)
    are listed in ``df.attrs["left_out"]``, never silently missing."""
    from avbench.data.index import SPLITS
    from avbench.data.spec import open_dataset
    from avbench.embed import embed_videos

    index = open_dataset(registry, data)
    videos = index.videos
    if split is not None:
        if split not in SPLITS:
            raise UsageError(f"--split {split!r}: choose one of {', '.join(SPLITS)}")
        videos = videos[videos["split"] == split]
    if videos.empty:
        raise UsageError(f"{index.dataset} at {index.root} has no videos"
                         + (f" in split {split!r}" if split else ""))
    _check_points(registry, model, index)
    source, left_out = _source(registry, model, index.root, videos, cache_dir, progress)
    labels = [label for label in videos.index if label in source.arrays]
    emb = embed_videos(model.method, source, labels, _clip_length(model), _fabric(model, device),
                       batch_size=32)
    out = videos.loc[labels].reset_index(drop=True)
    out["embedding"] = list(emb.astype(np.float32))
    out.attrs.update(dataset=index.dataset, dataset_fingerprint=index.fingerprint,
                     method=model.meta["method"], checkpoint_sha256=model.meta["weights_sha256"],
                     left_out=[str(videos.at[label, "path"]) for label in left_out])
    return out


def _check_points(registry, model, index) -> None:
    """A landmark model reads the point layout it was trained on; the dataset's shipped
    landmark files may have another."""
    from avbench.specs import InputKind

    if registry.methods.get(model.meta["method"]).input != InputKind.LANDMARKS:
        return
    config = model.meta["config"]
    if config.get("extractor") != "dataset":
        return
    shipped = index.videos.loc[index.videos["landmarks"] != "", "landmarks"]
    if shipped.empty:
        raise UsageError(f"{model.path}: the model reads the landmark files a dataset ships beside its "
                         f"videos, and {index.dataset} at {index.root} ships none")
    n = int(np.load(index.root / shipped.iloc[0], mmap_mode="r", allow_pickle=False).shape[1])
    if n != config.get("n_points"):
        raise UsageError(f"{model.path}: the model reads {config.get('n_points')} landmark points, but "
                         f"{index.dataset}'s landmark files hold {n}")


@dataclass(frozen=True)
class Verification:
    """One pair's verdict: the score, the model's threshold and the decision at it."""

    a: str
    b: str
    score: float
    threshold: float | None  # None: the model was saved without one (no validation pairs)
    same_driver: bool | None  # score >= threshold; None without a threshold
    seconds: float  # decoding (or landmark extraction), embedding and scoring


def verify_videos(registry, model, a: str | Path, b: str | Path, device: str = "cpu",
                  cache_dir: Path | None = None) -> Verification:
    """Whether videos ``a`` and ``b`` are driven by the same person, by the saved model."""
    from avbench.embed import embed_videos

    start = time.perf_counter()
    if model.meta["config"].get("extractor") == "dataset":
        raise UsageError(f"{model.path}: the model reads landmark files shipped beside a dataset's "
                         "videos, which single video files do not have; verify with a model trained "
                         "on an extractor's landmarks (--extractor mediapipe)")
    paths = []
    for p in (a, b):
        path = Path(p).resolve()
        if not path.is_file():
            raise UsageError(f"{p}: no such video file")
        paths.append(path)
    videos = pd.DataFrame({"path": [str(p) for p in paths]}, index=["a", "b"])
    source, left_out = _source(registry, model, Path("/"), videos, cache_dir)
    if left_out:
        raise UsageError(f"{', '.join(str(videos.at[x, 'path']) for x in left_out)}: no face found "
                         "in any frame, so the landmark model has nothing to read")
    emb = embed_videos(model.method, source, ["a", "b"], _clip_length(model), _fabric(model, device), 2)
    score = float(np.dot(emb[0].astype(np.float64), emb[1].astype(np.float64)))
    threshold = model.meta.get("threshold")
    threshold = float(threshold) if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) else None
    return Verification(str(a), str(b), score, threshold,
                        None if threshold is None else score >= threshold, time.perf_counter() - start)
