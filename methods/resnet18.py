"""ResNet-18 per-frame encoder with the F5C temporal identity head: the paper's backbone ablation.

Paper: Chapariniya, Odobez, Dellwo, Vuković, "Micro-Expression-Aware Avatar Fingerprinting via
Inter-Frame Feature Differencing", arXiv:2604.23247 (2026), Sec. IV-C3 and Table VIII.  The paper
swaps F5C for ResNet18 and keeps everything else (grayscale input, the four input conditions, the
temporal head, SupCon, embedding size) to test whether differencing alone suffices with a generic
appearance-oriented encoder.  ResNet-18: He et al., "Deep Residual Learning for Image
Recognition", CVPR 2016, written here in plain torch (torchvision's layout and init).

Where the paper is silent, these choices were made:

* One input channel (grayscale): the 7x7/2 stem conv has 1 input channel; no pretrained weights
  (Table I: everything is trained from scratch).  The classifier (avgpool + fc) is dropped; the
  trunk maps a 128x128 frame to 512x4x4 (stride 32).
* A 1x1 conv + BN + ReLU "neck" (512 -> 128) makes the F5C temporal head usable unchanged
  (in = 128, 0.47 M), so only the encoder differs from F5C, as the paper intends.  It also
  reproduces the paper's parameter count: trunk 11.17 M + neck 0.07 M + head 0.47 M = 11.71 M
  (paper: "11.6 M"); feeding the 512-channel maps straight to the head (``neck_channels=0``)
  would give 12.31 M.
* The head's two stride-(1, 2, 1) Conv3d layers halve H of the 4x4 maps to 2 and then 1; the
  (1, 4, 4) adaptive pooling then repeats rows, so the 512 head features hold 32x1x4 distinct
  values.  The paper does not say how its head met ResNet's 4x4 maps; this keeps the head
  identical for both backbones.
* Conditions as for F5C (methods/f5c.py): featdiff differences the neck output of consecutive
  frames, pixeldiff feeds I_{t+1} - I_t, rawfeat per-frame maps, static the centre frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .f5c import FrameEncoderMethod, TemporalIdentityHead, channels_last


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
        for m in self.modules():  # torchvision's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        return self.stages(self.stem(x))


class ResNet18Backbone(nn.Module):
    """ResNet-18 trunk plus an optional 1x1 conv + BN + ReLU neck to ``neck_channels``.

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


class ResNet18Method(FrameEncoderMethod):
    """ResNet-18 per frame + input condition + the F5C temporal identity head (Table VIII)."""

    @dataclass(frozen=True)
    class Config:
        condition: str = "featdiff"  # featdiff | pixeldiff | rawfeat | static (Table VIII)
        embedding_dim: int = 256  # kept equal to F5C's (Sec. IV-C3)
        neck_channels: int = 128  # 512 -> 128 so the F5C head is reused unchanged (0: none)
        dropout: float = 0.3  # head MLP dropout, as F5C
        temperature: float = 0.07  # SupCon, as F5C (Table VIII caption)
        head_widths: tuple[int, ...] = (64, 32)  # as F5C
        head_pool: int = 4  # as F5C
        hidden_dim: int = 256  # as F5C

    def __init__(self, config: ResNet18Method.Config | None = None):
        super().__init__(config)
        c = self.config
        self.backbone = ResNet18Backbone(1, c.neck_channels)
        self.head = TemporalIdentityHead(self.backbone.out_channels, tuple(c.head_widths),
                                         c.head_pool, c.hidden_dim, c.embedding_dim, c.dropout)


class ResNet18FeatDiff(ResNet18Method):
    """ResNet-18 + inter-frame feature differencing (Table VIII: 0.547 overall AUC)."""

    fixed_condition = "featdiff"

    @dataclass(frozen=True)
    class Config(ResNet18Method.Config):
        condition: str = "featdiff"


class ResNet18PixelDiff(ResNet18Method):
    """ResNet-18 on pixel differences (Table VIII: 0.759)."""

    fixed_condition = "pixeldiff"

    @dataclass(frozen=True)
    class Config(ResNet18Method.Config):
        condition: str = "pixeldiff"


class ResNet18RawFeat(ResNet18Method):
    """ResNet-18 per-frame features, no differencing (Table VIII: 0.581)."""

    fixed_condition = "rawfeat"

    @dataclass(frozen=True)
    class Config(ResNet18Method.Config):
        condition: str = "rawfeat"


class ResNet18Static(ResNet18Method):
    """ResNet-18 on the centre frame only (Table VIII: 0.581)."""

    fixed_condition = "static"

    @dataclass(frozen=True)
    class Config(ResNet18Method.Config):
        condition: str = "static"


__all__ = [
    "BasicBlock", "ResNet18Backbone", "ResNet18FeatDiff", "ResNet18Method", "ResNet18PixelDiff",
    "ResNet18RawFeat", "ResNet18Static", "ResNet18Trunk",
]
