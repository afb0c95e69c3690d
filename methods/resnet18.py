"""ResNet-18 per-frame encoder in the four input conditions: the paper's backbone ablation.

Paper: Chapariniya, Odobez, Dellwo, Vuković, "Micro-Expression-Aware Avatar Fingerprinting via
Inter-Frame Feature Differencing", arXiv:2604.23247 (2026), Sec. IV-C3 and Table VIII.
ResNet-18: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, written here in
plain torch (torchvision's layout and init; torchvision is not needed).  Reference
implementation: the authors' public code, github.com/Mchapariniya/TrustFA-FG2026
(``scripts/ablation_backbone_resnet18.py``); it carries no licence, so it was read for facts only
and this module is written independently of it.

**Paper text vs reference code.**  The text says the ablation keeps the grayscale input, the
loss, the embedding size and the schedule "and change[s] only the encoder family", which reads as
F5C's temporal Conv3d head on ResNet maps.  The code that produced Table VIII has no Conv3d head:

* Per frame, a ResNet-18 (1-channel 7x7/2 stem, no pretrained weights) to its global-average-
  pooled 512-d vector (the classifier dropped).
* ``featdiff``: each frame's vector is L2-normalised, then consecutive frames are differenced;
  ``pixeldiff``: frames are differenced before the encoder; ``rawfeat``: no differencing;
  ``static``: the centre frame T//2 only.  The vectors are averaged over time.  (For featdiff
  the mean of the differences telescopes to (n_T - n_1) / (T - 1): the embedding depends only on
  the first and last frames' normalised vectors, although all frames run through the encoder
  and its BatchNorms.)
* MLP 512 -> 512 (BatchNorm, ReLU, Dropout 0.3) -> 256, L2-normalised.
* Batches of 8 drivers x 4 videos (the ``paper`` and ``standard`` profiles of these methods'
  specs, ``methods/__init__.py``); F5C's are 16 x 8.
* In training the encoder runs on chunks of 128 frames (clip-major order; two 64-frame clips),
  so BatchNorm statistics are per chunk and running averages are updated once per chunk
  (``chunk_frames``; 0: one call on all frames).  Evaluation uses the running averages, so
  chunking does not change its embeddings.  (Under data-parallel training BatchNorm is
  synchronised, so each process's k-th chunk is normalised together with the others' k-th.)

That is the default, ``head="mlp"``: 11,170,240 (encoder) + 395,008 (MLP) = 11,565,248
parameters, the paper's "11.6 M".  ``head="conv3d"`` is the text's reading: the encoder's
512x4x4 maps through a 1x1 conv + BN + ReLU neck to 128 channels (``neck_channels``; 0: none)
and F5C's temporal head unchanged (methods/f5c.py; its stride axis W halves the 4x4 maps' W to 2
and then 1, and its (1, 4, 4) pooling repeats columns), featdiff differencing the neck's maps as
they are: 11,709,920 parameters (12,307,680 without the neck).

As for F5C (the reference's data loader), each clip is z-scored before the encoder
(``clip_norm``, see methods/f5c.py), in both heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .f5c import FrameEncoderMethod, TemporalIdentityHead, channels_last, check_option

HEADS = ("mlp", "conv3d")


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN units with an identity (or 1x1 conv + BN projection) shortcut.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the first conv (and of the projection).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + shortcut)


class ResNet18Trunk(nn.Module):
    """ResNet-18 without classifier: (N, in, H, W) -> (N, 512, H/32, W/32).

    Args:
        in_channels: input channels (1: grayscale).
        widths: channels of the four stages (64, 128, 256, 512).
        depths: BasicBlocks per stage (2, 2, 2, 2).
    """

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (64, 128, 256, 512),
                 depths: tuple[int, ...] = (2, 2, 2, 2)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        stages = []
        cin = widths[0]
        for i, (width, depth) in enumerate(zip(widths, depths)):
            blocks = [BasicBlock(cin if j == 0 else width, width, 2 if (i > 0 and j == 0) else 1)
                      for j in range(depth)]
            stages.append(nn.Sequential(*blocks))
            cin = width
        self.stages = nn.Sequential(*stages)
        self.out_channels = widths[-1]
        for m in self.modules():  # torchvision's init (BatchNorm: weight 1, bias 0, the default)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        return self.stages(self.stem(x))


class PooledResNet18(nn.Module):
    """ResNet-18 trunk + global average pooling: (N, 1, H, W) frames -> (N, 512) vectors.

    Args:
        in_channels: input channels (1: grayscale).
    """

    def __init__(self, in_channels: int = 1):
        super().__init__()
        self.trunk = ResNet18Trunk(in_channels)
        self.out_channels = self.trunk.out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.trunk(channels_last(x)).mean(dim=(2, 3))


class ResNet18Backbone(nn.Module):
    """ResNet-18 trunk plus an optional 1x1 conv + BN + ReLU neck to ``neck_channels`` (maps).

    Args:
        in_channels: input channels (1: grayscale).
        neck_channels: output channels of the neck; 0 for none (512-channel maps).
    """

    def __init__(self, in_channels: int = 1, neck_channels: int = 128):
        super().__init__()
        self.trunk = ResNet18Trunk(in_channels)
        self.neck: nn.Module = nn.Identity()
        self.out_channels = self.trunk.out_channels
        if neck_channels:
            self.neck = nn.Sequential(
                nn.Conv2d(self.trunk.out_channels, neck_channels, 1, bias=False),
                nn.BatchNorm2d(neck_channels),
                nn.ReLU(inplace=True),
            )
            self.out_channels = neck_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.neck(self.trunk(channels_last(x)))


class PooledEmbeddingHead(nn.Module):
    """(B, in) clip vector -> (B, D) L2-normalised embedding: Linear, BN, ReLU, Dropout, Linear.

    Args:
        in_features: clip vector width (512).
        hidden_dim: hidden width (reference: 512).
        embedding_dim: output dimension (256).
        dropout: dropout after the hidden layer (reference: 0.3).
    """

    def __init__(self, in_features: int = 512, hidden_dim: int = 512, embedding_dim: int = 256,
                 dropout: float = 0.3):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(in_features, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, embedding_dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(self.mlp(x), dim=1)


class ResNet18Method(FrameEncoderMethod):
    """ResNet-18 per frame + input condition + identity head (Table VIII; module docstring)."""

    @dataclass(frozen=True)
    class Config:
        condition: str = "featdiff"  # featdiff | pixeldiff | rawfeat | static: set by the spec
        head: str = "mlp"  # reference: pooled vectors, time mean, MLP; "conv3d": the text's reading
        embedding_dim: int = 256  # kept equal to F5C's (Sec. IV-C3)
        hidden_dim: int = 512  # mlp head: 512 -> 512 -> 256 (reference)
        dropout: float = 0.3  # head dropout, as F5C
        chunk_frames: int = 128  # reference: training encodes 128 frames per call (0: all at once)
        neck_channels: int = 128  # conv3d head: 512 -> 128, F5C's head unchanged (0: no neck)
        clip_norm: str = "zscore"  # reference: each clip z-scored; "none": frames in [0, 1]
        temperature: float = 0.07  # SupCon, as F5C (Table VIII caption)

    def __init__(self, config: ResNet18Method.Config | None = None):
        super().__init__(config)
        c = self.config
        check_option("ResNet18Method", "head", c.head, HEADS)
        n = c.chunk_frames
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"ResNet18Method: chunk_frames must be an integer >= 0 (0: no "
                             f"chunks); got {n!r} (set it with --set chunk_frames=128)")
        if c.head == "mlp":
            self.backbone = PooledResNet18(1)
            self.head = PooledEmbeddingHead(self.backbone.out_channels, c.hidden_dim,
                                            c.embedding_dim, c.dropout)
        else:
            self.backbone = ResNet18Backbone(1, c.neck_channels)
            self.head = TemporalIdentityHead(self.backbone.out_channels,
                                             embedding_dim=c.embedding_dim, dropout=c.dropout)

    def encode_frames(self, frames: Tensor) -> Tensor:
        """Per-frame features; in training, ``chunk_frames`` frames per encoder call (clip-major
        order), so BatchNorm sees the reference's per-chunk statistics (static: one call, as the
        reference encodes its centre frames)."""
        n = self.config.chunk_frames
        b, t = frames.shape[:2]
        if not self.training or not n or b * t <= n or self.config.condition == "static":
            return super().encode_frames(frames)
        flat = frames.flatten(0, 1)
        return torch.cat([self.backbone(part) for part in flat.split(n)]).unflatten(0, (b, t))

    def before_differencing(self, features: Tensor) -> Tensor:
        """mlp head: each frame's 512-d vector L2-normalised before featdiff (the reference);
        conv3d head: the neck's maps as they are."""
        return F.normalize(features, dim=-1) if self.config.head == "mlp" else features

    def to_head(self, features: Tensor) -> Tensor:
        """mlp head: (B, T', 512) vectors averaged over time; conv3d head: a motion tensor."""
        return features.mean(dim=1) if self.config.head == "mlp" else super().to_head(features)


__all__ = [
    "HEADS", "BasicBlock", "PooledEmbeddingHead", "PooledResNet18", "ResNet18Backbone",
    "ResNet18Method", "ResNet18Trunk",
]
