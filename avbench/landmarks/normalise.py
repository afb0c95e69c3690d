"""Landmark clips to model input: the layout's points, in a face-centred, scale-free frame.

Shared by every landmark method so they see the same coordinates: the layout's subset of
points, the first two coordinates (x, y: every extractor has them, depth is not comparable
between extractors), translated so the nose tip is the origin and divided by the distance
between the inner eye corners (AVAPrintDB's normalisation), per frame.
"""

from __future__ import annotations

import torch
from torch import Tensor

from avbench.landmarks.layouts import Layout

EPS = 1e-6


def normalise_points(points: Tensor, layout: Layout) -> Tensor:
    """(B, T, n_points, C) -> (B, T, layout.size, 2)."""
    if points.ndim != 4 or points.shape[2] != layout.n_points or points.shape[3] < 2:
        raise ValueError(f"expected (B, T, {layout.n_points}, C>=2) landmark clips for layout "
                         f"{layout.name}, got {tuple(points.shape)}")
    x = points[..., :2]
    if layout.subset is not None:
        x = x[:, :, list(layout.subset)]
    x = x - x[:, :, layout.nose: layout.nose + 1]
    i, j = layout.eye_inner
    scale = torch.linalg.vector_norm(x[:, :, i] - x[:, :, j], dim=-1).clamp_min(EPS)
    return x / scale[..., None, None]
