"""Embed videos and score pairs: one vector per video; a pair's score is the dot product of its
two vectors.

:func:`score_videos` is the one path from a table of videos and their verification pairs to a
score table: validation during training, the test groups of ``avbench run`` and ``avbench
evaluate`` all call it, so a number measured in any of them means the same thing.

A method embeds one centred clip of T frames per video (L2-normalised: the score is a cosine),
clips of equal length batched.  A method whose class sets ``embeds_whole_videos = True`` is
given each video whole instead, one video per call as a ``(1, N, ...)`` batch of its N frames
(T does not apply): for methods whose reference scores average over all of a video's windows
(``methods/avaprintdb_gcn.py``), which a fixed-length clip would truncate or pad.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from avbench.data.loader import ClipSource
from avbench.scores import score_table


@torch.no_grad()
def embed_videos(method, source: ClipSource, labels: list, clip_length: int, fabric,
                 batch_size: int = 32) -> np.ndarray:
    """(len(labels), D) float32, deterministic (centre crops or whole videos, eval mode)."""
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
        with fabric.autocast():  # marked forward methods run outside Fabric's precision context
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
