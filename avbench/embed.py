"""Embed videos: one vector per video; a pair's score is the dot product of its two vectors.

A method embeds one centred clip of T frames per video (L2-normalised: the score is a cosine),
clips of equal length batched.  A method whose class sets ``embeds_whole_videos = True`` is
given each video whole instead, one video per call as a ``(1, N, ...)`` batch of its N frames
(T does not apply): for methods whose reference scores average over all of a video's windows
(``methods/avaprintdb_gcn.py``), which a fixed-length clip would truncate or pad.
"""

from __future__ import annotations

import numpy as np
import torch

from avbench.data.loader import ClipSource


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
