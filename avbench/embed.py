"""Embed videos: one centred clip per video, one L2-normalised vector per clip."""

from __future__ import annotations

import numpy as np
import torch

from avbench.data.loader import ClipSource


@torch.no_grad()
def embed_videos(method, source: ClipSource, labels: list, clip_length: int, fabric,
                 batch_size: int = 32) -> np.ndarray:
    """(len(labels), D) float32, deterministic (centre crops, eval mode)."""
    was_training = method.training
    method.eval()
    dtype = next(method.parameters()).dtype  # FP64 runs hold FP64 weights; mixed precision FP32 ones
    out = []
    for i in range(0, len(labels), batch_size):
        clips = source.batch(labels[i:i + batch_size], clip_length, fabric.to_device, dtype=dtype)
        with fabric.autocast():  # marked forward methods run outside Fabric's precision context
            emb = method.embed(clips)
        out.append(emb.float().cpu().numpy())
    method.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
