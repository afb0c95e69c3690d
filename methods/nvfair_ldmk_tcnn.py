"""NVFAIR's landmark-distance baseline: per-frame pairwise landmark distances -> temporal CNN.

Paper: Prashnani, Nagano, De Mello, Luebke, Gallo, "Avatar Fingerprinting for Authorized Use of
Synthetic Talking-Head Videos", ECCV 2024.  Its input is the per-frame set of Euclidean
distances between facial landmarks, normalised by face scale; a temporal CNN maps a clip of
them to a driver embedding; training is contrastive: positives are clips of the same driver
on any target, negatives other drivers (including on the same target), and time-shuffled
clips of the same driver are extra negatives, so the model must use the dynamics, not only
the set of poses.  Loss per anchor a: -log N / (N + Q + R), with N, Q, R the summed
similarities exp(-||a - b||^2 / tau) to positives, negatives and the shuffled clips.

The paper does not publish its layer sizes; the choices here (documented, in ``Config``):

* distances between the points of the landmark layout (MediaPipe: AVAPrintDB's 109-point
  subset, 5,886 distances; 68-point layouts: 2,278), in units of the inner-eye-corner distance
  (:mod:`avbench.landmarks.normalise`), so face size and position drop out;
* each distance minus its mean over the clip (``motion_only``), so the target's face shape
  drops out too and only motion is left (default synthetic dataset, 1000 GPU steps of 16 x 8
  clips at T = 64: test AUC 0.812 with it, 0.720 without);
* a 1x1 temporal convolution (a per-frame linear map) to 128 channels, then four residual
  temporal blocks (kernel 5, dilations 1, 2, 4, 8: a receptive field of 61 frames, about the
  T = 64 clip), each Conv1d + BatchNorm + ReLU;
* mean and standard deviation over time (statistics pooling: a driver's style is in how its
  motion varies), Linear 256 -> 128, L2 normalisation;
* tau = 0.5 on squared distances between unit vectors (range 0..4); the time-shuffled clip of
  every clip in the batch is embedded too (one extra forward pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from avbench.landmarks.layouts import layout_for
from avbench.landmarks.normalise import normalise_points
from avbench.method import LandmarkConfig, Method, data_parallel_loss, gather_batch, require_positive_pair
from avbench.specs import InputKind


def pairwise_distances(points: Tensor) -> Tensor:
    """(B, T, P, 2) -> (B, T, P(P-1)/2): Euclidean distance of every unordered pair, i < j."""
    p = points.shape[2]
    i, j = torch.triu_indices(p, p, offset=1, device=points.device)
    return torch.linalg.vector_norm(points[:, :, i] - points[:, :, j], dim=-1)


def nvfair_contrastive_loss(anchors: Tensor, drivers: Tensor, shuffled: Tensor | None, tau: float) -> Tensor:
    """Mean over anchors of -log N / (N + Q + R) (see the module docstring).

    Args:
        anchors: (B, D) embeddings of the clips.
        drivers: (B,) driver labels.
        shuffled: (B, D) embeddings of the time-shuffled clips, row k shuffles clip k (None: no R).
        tau: similarity temperature.
    """
    if shuffled is None:
        anchors, drivers, world = gather_batch(anchors, drivers)
    else:
        anchors, drivers, shuffled, world = gather_batch(anchors, drivers, shuffled)
    same = drivers[:, None] == drivers[None, :]
    eye = torch.eye(len(drivers), dtype=torch.bool, device=anchors.device)
    sim = torch.exp(-torch.cdist(anchors, anchors).pow(2) / tau)
    pos = (sim * (same & ~eye)).sum(1)
    neg = (sim * ~same).sum(1)
    shuf = torch.zeros_like(pos)
    if shuffled is not None:  # shuffled clips of the anchor's own driver
        shuf = (torch.exp(-torch.cdist(anchors, shuffled).pow(2) / tau) * same).sum(1)
    require_positive_pair(drivers, "the NVFAIR contrastive loss")
    has_pos = (same & ~eye).any(1)
    # Anchors without a positive are left out by their weight (no boolean indexing: that would
    # read the mask back to the host every step).
    loss = -torch.log(torch.where(has_pos, pos, 1.0) / (pos + neg + shuf))
    return data_parallel_loss((loss * has_pos).sum() / has_pos.sum(), world)


class TemporalBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, padding=dilation * (kernel - 1) // 2,
                              dilation=dilation, bias=False)
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x: Tensor) -> Tensor:
        return x + F.relu(self.norm(self.conv(x)))


class NvfairLandmarkTCNN(Method):
    """Pairwise landmark distances per frame, temporal CNN, statistics pooling, 128-d embedding."""

    input_kind = InputKind.LANDMARKS

    @dataclass(frozen=True)
    class Config(LandmarkConfig):  # + extractor, n_points: filled in by the runner
        width: int = 128
        kernel: int = 5
        dilations: tuple[int, ...] = (1, 2, 4, 8)
        embedding_dim: int = 128
        temperature: float = 0.5  # tau of exp(-||a - b||^2 / tau)
        shuffled_negatives: bool = True
        motion_only: bool = True  # subtract each distance's clip mean: the target's face shape drops out

    def __init__(self, config=None):
        super().__init__(config)
        c = self.config
        self.layout = layout_for(c.n_points)
        n_dist = self.layout.size * (self.layout.size - 1) // 2
        self.input_norm = nn.BatchNorm1d(n_dist)
        self.project = nn.Sequential(nn.Conv1d(n_dist, c.width, 1, bias=False), nn.BatchNorm1d(c.width),
                                     nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*(TemporalBlock(c.width, c.kernel, d) for d in c.dilations))
        self.out = nn.Linear(2 * c.width, c.embedding_dim)

    def distances(self, clips: Tensor) -> Tensor:
        d = pairwise_distances(normalise_points(clips, self.layout))
        return d - d.mean(dim=1, keepdim=True) if self.config.motion_only else d

    def embed(self, clips: Tensor) -> Tensor:
        return self._embed_distances(self.distances(clips))

    def _embed_distances(self, d: Tensor) -> Tensor:
        """(B, T, F) per-frame distances -> (B, D) embeddings."""
        x = self.blocks(self.project(self.input_norm(d.transpose(1, 2))))  # (B, W, T)
        stats = torch.cat([x.mean(2), x.std(2, unbiased=False)], dim=1)
        return F.normalize(self.out(stats), dim=1)

    def loss(self, clips: Tensor, drivers: Tensor, targets: Tensor) -> Tensor:
        d = self.distances(clips)
        anchors = self._embed_distances(d)
        shuffled = None
        if self.config.shuffled_negatives:
            # Per-frame features do not depend on frame order: shuffle them, not the clips.
            order = torch.argsort(torch.rand(d.shape[:2], device=d.device), dim=1)
            shuffled = self._embed_distances(torch.take_along_dim(d, order[:, :, None], dim=1))
        return nvfair_contrastive_loss(anchors, drivers, shuffled, self.config.temperature)
