"""Embed videos and score pairs: one vector per video; a pair's score is the dot product of its
two vectors.

:func:`score_videos` is the one path from a table of videos and their verification pairs to a
score table: validation during training, the test groups of ``avbench run`` and ``avbench
evaluate`` all call it, so a number measured in any of them means the same thing.

Embeddings are computed at the precision of the model's weights (FP32 for mixed-precision
training), never under autocast and with TF32 off: a stored score is then what any machine
computes from the saved model -- a 2-core CPU reproduces a GPU run's AUC -- rather than a
number that moves with BF16 rounding (about 0.003 AUC on the synthetic board's F5C models).
Evaluation is a small part of a run, so the cost does not matter.  Training keeps its mixed
precision; only scoring (validation and test) is exact.

A method embeds one centred clip of T frames per video (L2-normalised: the score is a cosine),
clips of equal length batched.  A method whose class sets ``embeds_whole_videos = True`` is
given each video whole instead, one video per call as a ``(1, N, ...)`` batch of its N frames
(T does not apply): for methods whose reference scores average over all of a video's windows
(``methods/avaprintdb_gcn.py``), which a fixed-length clip would truncate or pad.

Multi-clip aggregation (the ``multi_clip`` protocol; an eval group's ``clips`` and
``aggregate``): ``k`` clips per video at starts spread evenly over it
(:func:`avbench.data.clips.spread_starts`), each embedded like the single clip, and folded
into one vector per video so that a pair's score stays the dot product of two vectors
(:func:`aggregate_clips`).  ``k = 1`` is the single centred clip, computed by the very same
batches, so it gives the single-clip scores exactly.  Whole-video methods already see every
frame; ``k > 1`` is refused for them (:func:`check_clips_apply`) rather than stored as a
number that only repeats the single-clip one.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import torch

from avbench.data.clips import spread_starts
from avbench.data.loader import ClipSource
from avbench.errors import UsageError
from avbench.scores import score_table
from avbench.specs import check_aggregation


@contextmanager
def exact_fp32(device_type: str):
    """No autocast (also if a caller's context enabled it) and TF32 off for matmuls and
    convolutions inside (restored after): FP32 means FP32."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        with torch.autocast(device_type, enabled=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


CPU_BATCH = 16


def check_clips_apply(whole_videos: bool, clips: int, method_name: str, where: str = "") -> None:
    """Refuse ``clips > 1`` for a method that embeds each video whole: it already averages
    over every window of the video, so ``k`` clips would give it the single-clip number again
    under another name (a curve that is flat by construction, not by measurement)."""
    if whole_videos and clips != 1:
        raise UsageError(f"{where}clips={clips}: method {method_name!r} embeds each video whole "
                         "(embeds_whole_videos: its score already averages over every window of "
                         "the video), so multi-clip aggregation does not apply to it; evaluate it "
                         "with a single-clip protocol such as overall")


def aggregate_clips(emb: np.ndarray, aggregate: str) -> np.ndarray:
    """(n, k, D) unit clip embeddings -> (n, D): one vector per video whose dot products are the
    aggregated scores.

    ``"embedding"``: the mean of the k unit embeddings, re-normalised, so a score is the cosine
    of two videos' mean directions (the video as one point, as a gallery would store it).
    ``"score"``: the mean of the k unit embeddings, *not* re-normalised: the dot product of two
    such means is exactly the mean of the k x k cosines between every clip of one video and
    every clip of the other.  All k x k pairs rather than the k matched pairs (clip i with clip
    i): clip i of one video and clip i of another show unrelated moments (the two videos were
    driven by different footage), so matching them by index would pick an arbitrary k of the
    k x k comparisons; the full mean uses every one, is symmetric in the two videos, and needs
    no second scoring rule.
    """
    mean = emb.mean(axis=1)
    if aggregate == "score":
        return mean
    norms = np.linalg.norm(mean, axis=1, keepdims=True)
    return mean / np.maximum(norms, 1e-12)  # F.normalize's guard: a zero mean stays zero


@torch.no_grad()
def embed_videos(method, source: ClipSource, labels: list, clip_length: int, fabric,
                 batch_size: int = 32, clips: int = 1, aggregate: str = "embedding",
                 clip_cache: dict | None = None) -> np.ndarray:
    """(len(labels), D) float32, deterministic (centre crops or whole videos, eval mode).

    ``clips`` > 1: that many clips per video (:func:`avbench.data.clips.spread_starts`), batched
    across videos like single clips, folded into one vector per video by ``aggregate``
    (:func:`aggregate_clips`).  ``clips`` = 1 cuts the centred clip and applies no aggregation,
    so its embeddings are bit for bit the single-clip ones.  ``clip_cache`` (a dict the caller
    keeps for one model): the k clip embeddings of these videos are kept there and reused by a
    later call for the same videos, clip length and k, so the two aggregations of one k embed
    their clips once and aggregate the very same numbers (k = 1 is never cached).

    On a CPU at most :data:`CPU_BATCH` clips go through the model at once, whatever
    ``batch_size`` asks (runs pass their training batch): F5C's activations for 128 clips of 64
    frames took 9.4 GB there, more than many laptops have; 16 clips use an eighth of that and
    embed as fast, since a CPU gains nothing from a larger batch.
    """
    check_aggregation(clips, aggregate, "embed_videos")
    whole = bool(getattr(method, "embeds_whole_videos", False))
    check_clips_apply(whole, clips, type(method).__name__)
    key = (tuple(labels), clip_length, clips)
    if clips > 1 and clip_cache is not None and key in clip_cache:
        return aggregate_clips(clip_cache[key], aggregate)
    if torch.device(getattr(fabric, "device", "cpu")).type == "cpu":
        batch_size = min(batch_size, CPU_BATCH)
    was_training = method.training
    method.eval()
    dtype = next(method.parameters()).dtype  # FP64 runs hold FP64 weights; mixed precision FP32 ones
    # One (video, start) per clip, k per video in a row: batches cut across videos as single
    # clips do, and with k = 1 they are the single-clip batches themselves.
    items = [(label, 0) for label in labels] if whole else [
        (label, start) for label in labels
        for start in spread_starts(len(source.arrays[label]), clip_length, clips)]
    out = []
    for i in range(0, len(items), 1 if whole else batch_size):
        chunk = items[i:i + (1 if whole else batch_size)]
        length = len(source.arrays[chunk[0][0]]) if whole else clip_length
        batch = source.gather([label for label, _ in chunk], [start for _, start in chunk], length)
        x = source.to_input(batch, fabric.to_device, dtype)
        with exact_fp32(getattr(x, "device", torch.device("cpu")).type):  # see the module docstring
            emb = method.embed(x)
        out.append(emb.float().cpu().numpy())
    method.train(was_training)
    if not out:
        return np.zeros((0, 0), np.float32)
    emb = np.concatenate(out)
    if clips == 1:
        return emb
    per_video = emb.reshape(len(labels), clips, -1)
    if clip_cache is not None:
        clip_cache[key] = per_video
    return aggregate_clips(per_video, aggregate)


def score_videos(method, source: ClipSource, videos: pd.DataFrame, pairs: pd.DataFrame,
                 clip_length: int, fabric, batch_size: int = 32, clips: int = 1,
                 aggregate: str = "embedding", clip_cache: dict | None = None) -> pd.DataFrame:
    """Score every pair of ``pairs`` (columns ``a``, ``b``: row labels of ``videos``; ``target``,
    ``label``) with ``method``: each video that occurs in a pair is embedded once (in the order
    of ``videos``), a pair's score is the dot product of its two embeddings (a cosine: methods
    return unit vectors, or, for window-averaging methods, the mean window cosine).  ``clips``
    and ``aggregate`` (an eval group's) are passed to :func:`embed_videos`: with ``k`` clips
    per video the score is the cosine of the mean clip embeddings (``"embedding"``) or the
    mean of the k x k clip cosines (``"score"``); ``clip_cache`` shares clip embeddings between
    calls for one model (see :func:`embed_videos`).

    Returns the score table of :func:`avbench.scores.score_table` (paths, drivers, generators,
    label, score), the form in which scores are stored and summarised.
    """
    needed = set(pairs["a"]).union(pairs["b"])
    labels = [label for label in videos.index if label in needed]
    emb = embed_videos(method, source, labels, clip_length, fabric, batch_size, clips, aggregate,
                       clip_cache)
    row = {label: i for i, label in enumerate(labels)}
    a = emb[[row[x] for x in pairs["a"]]] if len(pairs) else emb[:0]
    b = emb[[row[x] for x in pairs["b"]]] if len(pairs) else emb[:0]
    return score_table(pairs, videos, (a * b).sum(1))
