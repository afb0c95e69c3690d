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
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import torch

from avbench.data.loader import ClipSource
from avbench.scores import score_table


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


@torch.no_grad()
def embed_videos(method, source: ClipSource, labels: list, clip_length: int, fabric,
                 batch_size: int = 32) -> np.ndarray:
    """(len(labels), D) float32, deterministic (centre crops or whole videos, eval mode).

    On a CPU at most :data:`CPU_BATCH` clips go through the model at once, whatever
    ``batch_size`` asks (runs pass their training batch): F5C's activations for 128 clips of 64
    frames took 9.4 GB there, more than many laptops have; 16 clips use an eighth of that and
    embed as fast, since a CPU gains nothing from a larger batch.
    """
    if torch.device(getattr(fabric, "device", "cpu")).type == "cpu":
        batch_size = min(batch_size, CPU_BATCH)
    was_training = method.training
    method.eval()
    dtype = next(method.parameters()).dtype  # FP64 runs hold FP64 weights; mixed precision FP32 ones
    whole = bool(getattr(method, "embeds_whole_videos", False))
    out = []
    for i in range(0, len(labels), 1 if whole else batch_size):
        if whole:
            label = labels[i]
            video = source.gather([label], [0], len(source.arrays[label]))
            clips = source.to_input(video, fabric.to_device, dtype)
        else:
            clips = source.batch(labels[i:i + batch_size], clip_length, fabric.to_device, dtype=dtype)
        with exact_fp32(getattr(clips, "device", torch.device("cpu")).type):  # see the module docstring
            emb = method.embed(clips)
        out.append(emb.float().cpu().numpy())
    method.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def score_videos(method, source: ClipSource, videos: pd.DataFrame, pairs: pd.DataFrame,
                 clip_length: int, fabric, batch_size: int = 32) -> pd.DataFrame:
    """Score every pair of ``pairs`` (columns ``a``, ``b``: row labels of ``videos``; ``target``,
    ``label``) with ``method``: each video that occurs in a pair is embedded once (in the order
    of ``videos``), a pair's score is the dot product of its two embeddings (a cosine: methods
    return unit vectors, or, for window-averaging methods, the mean window cosine).

    Returns the score table of :func:`avbench.scores.score_table` (paths, drivers, generators,
    label, score), the form in which scores are stored and summarised.
    """
    needed = set(pairs["a"]).union(pairs["b"])
    labels = [label for label in videos.index if label in needed]
    emb = embed_videos(method, source, labels, clip_length, fabric, batch_size)
    row = {label: i for i, label in enumerate(labels)}
    a = emb[[row[x] for x in pairs["a"]]] if len(pairs) else emb[:0]
    b = emb[[row[x] for x in pairs["b"]]] if len(pairs) else emb[:0]
    return score_table(pairs, videos, (a * b).sum(1))
