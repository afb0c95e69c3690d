"""F5C with inter-frame feature differencing: a preprocessing-free avatar fingerprinting method.

Paper: Chapariniya, Odobez, Dellwo, Vuković, "Micro-Expression-Aware Avatar Fingerprinting via
Inter-Frame Feature Differencing", arXiv:2604.23247 (2026), Sec. III and Table I.  The F5C
backbone (ConvStack -> fcc -> ccc) comes from MOL (Shao et al., "MOL: Joint Estimation of
Micro-Expression, Optical Flow, and Landmark via Transformer-Graph-Style Convolution",
TPAMI 2025; F5C = "Fully-Connected Convolution + Channel Correspondence Convolution").

Pipeline (per clip of T grayscale 128x128 frames)::

    frames --F5C, per frame--> f_t (128x16x16) --condition--> (128, T', 16, 16)
           --temporal identity head (2x Conv3d, pool, MLP)--> 256-d, L2-normalised

The four input conditions of the paper's ablation (Table VI) differ only in what reaches the
head: ``featdiff`` d_t = f_{t+1} - f_t (T' = T-1, proposed), ``pixeldiff`` F5C(I_{t+1} - I_t)
(T' = T-1), ``rawfeat`` f_t (T' = T) and ``static`` the centre frame T//2 only (T' = 1).
:class:`FrameEncoderMethod` implements them for any per-frame backbone; methods/resnet18.py
reuses it (Table VIII).

Where the paper is silent, these choices were made (each also noted where it is coded):

* ConvStack paddings (1, 1, 0, 0): 128 -> 64 -> 32 -> 16 -> 16, exact halvings.  MOL uses
  (0, 0, 1, 0), which reaches 16x16 too but with ragged borders.  Convs have no bias (BN follows).
* fcc follows MOL's FCC (a ParC-style global circular convolution): per branch, add a learned
  positional encoding along the conv axis, BatchNorm (pre-norm, as in MOL), depthwise circular
  conv along the first axis (+bias), add the second axis' encoding, circular conv along the second
  axis (+bias), residual add.  Meta-kernels and encodings have length 32 and are cropped to their
  *first* S taps (MOL's ``instance_kernel_method='crop'``), S = map size = 16.  The circular
  convolution is a product with the (C, S, S) circulant matrix of the cropped kernel: one
  batched matmul per axis on a channel-major copy of the maps (no depthwise-conv kernel).  The
  paper's fusion ("concatenation and 1x1 conv") is Conv1x1 + BN + ReLU here (MOL has none).
  Init: kernels U(+-1/sqrt(32)) as MOL's Conv2d-derived weights; biases 0 and encodings
  N(0, 0.02) instead of MOL's N(0, 1) (the paper does not say; small values keep the residual
  branches near identity at the start).
* ccc: k-NN graph over the H*W positions, cosine similarity of the 128-d channel vectors,
  self excluded, k = 4 (Table I); EdgeConv (DGCNN) message ReLU(W [x_i, x_j - x_i] + b), max over
  the k neighbours, residual add.  As MOL's ``edge_feature`` (two linear maps of x_i and
  x_j - x_i, no BatchNorm); unlike MOL, whose top-k keeps each position itself as one of its k
  "neighbours", self is excluded.  MOL's message maps the 256 spatial values of each channel
  (2 x 65.8 k parameters); the paper's "each position aggregates differential information from
  its neighbours" and its 0.06 M budget fit the per-position form used here.  Because ReLU is
  monotone the max moves inside it, so the linear maps run once per position, not per edge.
* Temporal head (Sec. III-D): Conv3d 128->64->32, kernel 3, padding 1, stride (1, 2, 1) in
  (T, H, W) order, each + BN + ReLU; AdaptiveAvgPool3d to (T, H, W) = (1, 4, 4) (the paper's
  "(4, 4, 1)" in H, W, T order); flatten 512; Linear 512->256, ReLU, Dropout 0.3, Linear 256->256;
  L2 normalisation.  Convs without bias (BN follows).

Efficiency: time is folded into the batch (one backbone call for all B*T' frames); the backbone
runs channels-last (it re-strides its input itself: ``module.to(memory_format=...)`` refuses the
head's 5-D Conv3d weights); fcc and ccc use layouts in which their work is plain matmuls; there
are no Python loops over frames or positions and no host syncs; fp16/bf16 autocast is checked.

Parameters (paper, Table I: 0.53 M = F5C 0.06 M + head 0.47 M).  Here: ConvStack 19,280, fcc
33,536, ccc 32,896 (backbone 85,712), head 473,792, total 559,504 (0.56 M).  The head matches
the paper; fcc + ccc (MOL's "F5C block" proper) is 0.066 M, so the paper's "F5C: 0.06 M" most
likely leaves out the ConvStack (0.019 M), or counts a leaner fusion/message layer than its
text implies.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from avbench.method import Method
from avbench.specs import InputKind

CONDITIONS = ("featdiff", "pixeldiff", "rawfeat", "static")


# --------------------------------------------------------------------------------------------
# ConvStack


class ConvBnAct(nn.Sequential):
    """Conv2d (no bias) + BatchNorm2d + ReLU.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size.
        stride: stride.
        padding: zero padding on every side.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 padding: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class ConvStack(nn.Sequential):
    """Four conv units mapping a 1x128x128 frame to 128x16x16 (paper Sec. III-B).

    Strides (2, 2, 2, 1) and kernels (4, 3, 2, 1) are the paper's; paddings (1, 1, 0, 0) are
    chosen so that each stride-2 layer halves the map exactly (128 -> 64 -> 32 -> 16 -> 16).

    Args:
        in_channels: input channels (1: grayscale).
        widths: output channels of the four layers.
    """

    kernels: ClassVar[tuple[int, ...]] = (4, 3, 2, 1)
    strides: ClassVar[tuple[int, ...]] = (2, 2, 2, 1)
    paddings: ClassVar[tuple[int, ...]] = (1, 1, 0, 0)

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (8, 32, 64, 128)):
        if len(widths) != 4:
            raise ValueError(f"ConvStack has four layers; got widths {widths}")
        chans = (in_channels, *widths)
        super().__init__(*(ConvBnAct(chans[i], chans[i + 1], k, s, p) for i, (k, s, p)
                           in enumerate(zip(self.kernels, self.strides, self.paddings))))


# --------------------------------------------------------------------------------------------
# fcc: fully-connected (global circular) convolution
#
# fcc works on a (C, H, N, W) "channel-major" copy of the maps: there both circular convolutions
# are single batched matmuls with the channel as batch dimension (along H: M_c @ (H, N*W); along
# W: (H*N, W) @ M_c^T), and BatchNorm / the 1x1 fusion see one (1, C, H*N, W) image.  Measured on
# CPU this is 3-10x faster than einsum or depthwise conv on NCHW / channels-last maps.


def circulant(kernel: Tensor, size: int) -> Tensor:
    """The (C, S, S) circulant matrices M with M[c, i, j] = kernel[c, (j - i) mod S].

    ``M @ v`` is the circular cross-correlation out[i] = sum_m kernel[m] * v[(i + m) mod S], the
    same as ``F.conv1d`` of a circularly padded ``v`` (MOL's implementation).

    Args:
        kernel: (C, S) taps, already cropped to the map size S.
        size: S.
    """
    idx = torch.arange(size, device=kernel.device)
    return kernel[:, (idx[None, :] - idx[:, None]) % size]


def circular_conv(z: Tensor, kernel: Tensor, axis: str) -> Tensor:
    """Depthwise global circular convolution of channel-major (C, H, N, W) maps along H or W.

    Args:
        z: (C, H, N, W) features, contiguous.
        kernel: (C, S) taps, S = the map size along ``axis`` (the caller crops the meta-kernel).
        axis: "H" (along each column) or "W" (along each row).
    """
    c, h, n, w = z.shape
    if axis == "H":
        return torch.bmm(circulant(kernel, h), z.reshape(c, h, n * w)).view(c, h, n, w)
    if axis == "W":
        out = torch.bmm(z.reshape(c, h * n, w), circulant(kernel, w).transpose(1, 2))
        return out.view(c, h, n, w)
    raise ValueError(f"axis must be 'H' or 'W', got {axis!r}")


def _as_image(z: Tensor) -> Tensor:
    """(C, H, N, W) -> (1, C, H*N, W) view, for BatchNorm2d / 1x1 Conv2d over all positions."""
    c, h, n, w = z.shape
    return z.view(1, c, h * n, w)


class CircularBranch(nn.Module):
    """One fcc branch on (C, H, N, W) maps: circular conv along one axis, then the other; residual.

    As MOL's FCC: add the first axis' positional encoding, BatchNorm (pre-norm), circular conv
    (+bias), add the second axis' encoding, circular conv (+bias), add the input.  Meta-kernels
    and encodings of length ``meta_kernel`` are cropped to their first S taps at run time (S = the
    map size along the axis, at most ``meta_kernel``).

    Args:
        channels: channels of this branch (half of the fcc input).
        meta_kernel: stored kernel / encoding length (paper: 32).
        order: "HW" (H then W) or "WH".
    """

    def __init__(self, channels: int, meta_kernel: int = 32, order: str = "HW"):
        super().__init__()
        if order not in ("HW", "WH"):
            raise ValueError(f"order must be 'HW' or 'WH', got {order!r}")
        self.order = order
        self.meta_kernel = meta_kernel
        bound = 1.0 / math.sqrt(meta_kernel)  # MOL: default init of a (meta_kernel x 1) dw conv
        self.kernel = nn.Parameter(torch.empty(2, channels, meta_kernel).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(2, channels))
        self.pos = nn.Parameter(torch.empty(2, channels, meta_kernel).normal_(0.0, 0.02))
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, z: Tensor) -> Tensor:
        c, h, _, w = z.shape
        y = z
        for step, axis in enumerate(self.order):
            size = h if axis == "H" else w
            if size > self.meta_kernel:
                raise ValueError(f"fcc meta-kernel ({self.meta_kernel}) is shorter than the "
                                 f"feature map ({size}); raise meta_kernel")
            pos = self.pos[step, :, :size]  # crop, as the kernel
            y = y + (pos.view(c, size, 1, 1) if axis == "H" else pos.view(c, 1, 1, size))
            if step == 0:
                y = self.norm(_as_image(y)).view_as(z)
            y = circular_conv(y, self.kernel[step, :, :size], axis)
            y = y + self.bias[step].view(c, 1, 1, 1)
        return z + y


class FullyConnectedConv(nn.Module):
    """fcc: two asymmetric circular branches (H-then-W, W-then-H) on channel halves, fused.

    Every output position sees its full row and column (a global receptive field on the map).
    Takes and returns (N, C, H, W) maps; works internally on a channel-major copy.

    Args:
        channels: input = output channels (split in two halves).
        meta_kernel: meta-kernel length (paper: 32, cropped to the map size 16).
    """

    def __init__(self, channels: int = 128, meta_kernel: int = 32):
        super().__init__()
        if channels % 2:
            raise ValueError(f"fcc splits channels in halves; got {channels}")
        half = channels // 2
        self.branch_hw = CircularBranch(half, meta_kernel, order="HW")
        self.branch_wh = CircularBranch(half, meta_kernel, order="WH")
        self.fuse = ConvBnAct(channels, channels, 1, 1, 0)

    def forward(self, x: Tensor) -> Tensor:
        z = x.permute(1, 2, 0, 3).contiguous()  # (C, H, N, W)
        a, b = z.chunk(2, dim=0)
        z = torch.cat([self.branch_hw(a), self.branch_wh(b)], dim=0)
        return self.fuse(_as_image(z)).view_as(z).permute(2, 0, 1, 3)  # (N, C, H, W) view


# --------------------------------------------------------------------------------------------
# ccc: channel correspondence convolution (EdgeConv on a k-NN graph of positions)


def knn_positions(x: Tensor, k: int) -> Tensor:
    """Indices of the k most cosine-similar other positions of every position.

    Args:
        x: (N, P, C) one C-dimensional vector per position.
        k: neighbours per position (self excluded); needs k < P.

    Returns:
        (N, P, k) int64 indices into P, most similar first.
    """
    if not 0 < k < x.shape[1]:
        raise ValueError(f"k must be in [1, {x.shape[1] - 1}] for {x.shape[1]} positions, got {k}")
    with torch.no_grad():  # the graph is a selection: gradients flow through the gathered features
        xn = F.normalize(x, dim=-1)
        sim = xn @ xn.transpose(1, 2)
        sim.diagonal(dim1=1, dim2=2).fill_(float("-inf"))
        return sim.topk(k, dim=-1).indices


def gather_positions(v: Tensor, idx: Tensor) -> Tensor:
    """Rows of v at idx: (N, P, C) and (N, P, k) -> (N, P, k, C)."""
    n, p, c = v.shape
    k = idx.shape[-1]
    flat = (idx + torch.arange(n, device=idx.device).view(n, 1, 1) * p).reshape(-1)
    return v.reshape(n * p, c).index_select(0, flat).view(n, p, k, c)


def neighbour_max(v: Tensor, idx: Tensor) -> Tensor:
    """Per channel, the largest value among each position's neighbours: (N, P, C) -> (N, P, C).

    The winners are found without autograd; one ``gather`` of them carries the gradient (max's
    subgradient), so backward never touches an (N, P, k, C) tensor (ccc forward + backward 1.3x
    faster on CPU than autograd through ``amax``, whose backward rebuilds an equality mask).

    Args:
        v: (N, P, C) values per position.
        idx: (N, P, k) neighbour indices into P.
    """
    if not (v.requires_grad and torch.is_grad_enabled()):
        return gather_positions(v, idx).amax(dim=2)  # inference: 4x faster than finding winners
    with torch.no_grad():
        winner = gather_positions(v, idx).max(dim=2).indices  # (N, P, C): which of the k neighbours
        source = idx.gather(2, winner)  # (N, P, C): its position
    return v.gather(1, source)


class ChannelCorrespondenceConv(nn.Module):
    """ccc: EdgeConv over the k-NN graph of spatial positions (cosine similarity in channel space).

    For position i with neighbours j (self excluded), as MOL's ``edge_feature``:
    out_i = x_i + max_j ReLU(W [x_i, x_j - x_i] + b).  With W = [W_s | W_d] the message is
    u_i + v_j (u = (W_s - W_d) x + b, v = W_d x), and since ReLU is monotone,
    max_j ReLU(u_i + v_j) = ReLU(u_i + max_j v_j): the linear maps run once per position and the
    per-edge work is a gather and a max (:func:`neighbour_max`).  No BatchNorm on the messages,
    as in MOL (a BN there would also need the full (N, P, k, C) edge tensor).

    Args:
        channels: feature channels C (input = output).
        k: neighbours per position (paper: 4).
    """

    def __init__(self, channels: int = 128, k: int = 4):
        super().__init__()
        self.k = k
        self.edge = nn.Linear(2 * channels, channels)  # on [x_i, x_j - x_i]

    def neighbours(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, H*W, k) neighbour indices (positions in row-major order)."""
        return knn_positions(_positions(x), self.k)

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        pts = _positions(x)  # (N, P, C)
        idx = knn_positions(pts, self.k)
        w_self, w_diff = self.edge.weight.split(c, dim=1)
        u = F.linear(pts, w_self - w_diff, self.edge.bias)  # (N, P, C), per position
        v = F.linear(pts, w_diff)
        out = pts + F.relu(u + neighbour_max(v, idx))
        return out.view(n, h, w, c).permute(0, 3, 1, 2)  # NCHW view, channels-last memory


def _positions(x: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, H*W, C); free for channels-last tensors."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n, h * w, c)


def channels_last(x: Tensor) -> Tensor:
    """(N, C, H, W) in channels-last memory; for C = 1 a free re-striding that convs recognise."""
    n, c, h, w = x.shape
    if c == 1:
        return x.reshape(n, h, w, 1).permute(0, 3, 1, 2)
    return x.contiguous(memory_format=torch.channels_last)


# --------------------------------------------------------------------------------------------
# Backbone and temporal identity head


class F5CBackbone(nn.Module):
    """ConvStack -> fcc -> ccc: (N, 1, 128, 128) frames to (N, 128, 16, 16) feature maps.

    Args:
        in_channels: input channels (1: grayscale).
        widths: ConvStack widths; the last is the feature width.
        meta_kernel: fcc meta-kernel length.
        knn_k: ccc neighbours.
    """

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (8, 32, 64, 128),
                 meta_kernel: int = 32, knn_k: int = 4):
        super().__init__()
        self.out_channels = widths[-1]
        self.stem = ConvStack(in_channels, widths)
        self.fcc = FullyConnectedConv(widths[-1], meta_kernel)
        self.ccc = ChannelCorrespondenceConv(widths[-1], knn_k)

    def forward(self, x: Tensor) -> Tensor:
        # Channels-last convs are 1.7x faster here on CPU, and what tensor cores want on GPU.
        return self.ccc(self.fcc(self.stem(channels_last(x))))


class TemporalIdentityHead(nn.Module):
    """(B, C, T', H, W) motion tensor -> (B, D) L2-normalised embedding (paper Sec. III-D).

    Two Conv3d units with stride (1, 2, 1) halve H twice (16 -> 8 -> 4 for F5C), W is kept;
    adaptive average pooling to (1, pool, pool) collapses time and equalises the map; an MLP maps
    the flattened widths[-1] * pool^2 features to the embedding.  Any input width, any T' >= 1 and
    any H, W work (ResNet18 feeds 4x4 maps).

    Args:
        in_channels: channels of the input maps.
        widths: output channels of the two Conv3d units (paper: 64, 32).
        pool: spatial output size of the pooling (paper: 4 -> 32*4*4 = 512 features).
        hidden_dim: MLP hidden width (paper: 256).
        embedding_dim: output dimension (paper: 256).
        dropout: MLP dropout (paper: 0.3).
    """

    def __init__(self, in_channels: int = 128, widths: tuple[int, ...] = (64, 32), pool: int = 4,
                 hidden_dim: int = 256, embedding_dim: int = 256, dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        chans = (in_channels, *widths)
        for cin, cout in itertools.pairwise(chans):
            layers += [nn.Conv3d(cin, cout, 3, stride=(1, 2, 1), padding=1, bias=False),
                       nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]
        self.convs = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool3d((1, pool, pool))
        self.mlp = nn.Sequential(
            nn.Linear(chans[-1] * pool * pool, hidden_dim),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, embedding_dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.convs(x)).flatten(1)
        return F.normalize(self.mlp(x), dim=1)


# --------------------------------------------------------------------------------------------
# The four input conditions, for any per-frame backbone


def frame_differences(features: Tensor) -> Tensor:
    """d_t = f_{t+1} - f_t along dim 1: (B, T, ...) -> (B, T-1, ...) (paper Eq. 2)."""
    return features[:, 1:] - features[:, :-1]


class FrameEncoderMethod(Method):
    """A per-frame backbone, one of the four input conditions, the temporal identity head.

    Subclasses set ``self.backbone`` (frames (N, 1, 128, 128) -> maps (N, C, h, w)) and
    ``self.head`` in ``__init__``.  Time is folded into the batch: the backbone runs once on all
    B*T' frames.  A subclass with a class attribute ``fixed_condition`` fixes the condition (the
    registry's per-condition names); a config naming another one is an error.
    """

    input_kind = InputKind.FRAMES
    fixed_condition: ClassVar[str | None] = None
    backbone: nn.Module
    head: TemporalIdentityHead

    def __init__(self, config=None):
        super().__init__(config)
        cond = self.config.condition
        if cond not in CONDITIONS:
            raise ValueError(f"condition must be one of {', '.join(CONDITIONS)}; got {cond!r}")
        if self.fixed_condition is not None and cond != self.fixed_condition:
            raise ValueError(f"{type(self).__name__} is the {self.fixed_condition!r} condition; "
                             f"config says {cond!r} (use the method registered for {cond!r})")

    def backbone_input(self, clips: Tensor) -> Tensor:
        """(B, T, 1, H, W) clips -> (B, T', 1, H, W) frames the backbone encodes."""
        if clips.ndim != 5 or clips.shape[2] != 1:
            raise ValueError(f"{type(self).__name__} expects (B, T, 1, H, W) grayscale clips, "
                             f"got {tuple(clips.shape)}")
        t = clips.shape[1]
        cond = self.config.condition
        if cond in ("featdiff", "pixeldiff") and t < 2:
            raise ValueError(f"condition {cond!r} needs at least 2 frames per clip, got {t}")
        if cond == "static":
            return clips[:, t // 2: t // 2 + 1]
        if cond == "pixeldiff":
            return frame_differences(clips)
        return clips

    def head_input(self, clips: Tensor) -> Tensor:
        """(B, T, 1, H, W) clips -> the (B, C, T', h, w) tensor the temporal head receives."""
        frames = self.backbone_input(clips)
        b, t = frames.shape[:2]
        maps = self.backbone(frames.reshape(b * t, *frames.shape[2:]))
        maps = maps.unflatten(0, (b, t))  # (B, T', C, h, w)
        if self.config.condition == "featdiff":
            maps = frame_differences(maps)
        return maps.transpose(1, 2)  # channels-last maps give channels-last-3d strides here

    def embed(self, clips: Tensor) -> Tensor:
        return self.head(self.head_input(clips))

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of backbone, head and in total."""
        counts = {name: sum(p.numel() for p in getattr(self, name).parameters())
                  for name in ("backbone", "head")}
        counts["total"] = sum(p.numel() for p in self.parameters())
        return counts


class F5CMethod(FrameEncoderMethod):
    """F5C backbone + input condition + temporal identity head (paper Sec. III, Table I)."""

    @dataclass(frozen=True)
    class Config:
        condition: str = "featdiff"  # featdiff | pixeldiff | rawfeat | static (Table VI)
        embedding_dim: int = 256
        knn_k: int = 4  # ccc graph neighbours (Table I)
        meta_kernel: int = 32  # fcc meta-kernel length, cropped to the 16x16 map (Sec. III-B)
        dropout: float = 0.3  # head MLP dropout (Sec. III-D)
        temperature: float = 0.07  # SupCon (Table I)
        stem_widths: tuple[int, ...] = (8, 32, 64, 128)  # ConvStack channels (Sec. III-B)
        head_widths: tuple[int, ...] = (64, 32)  # Conv3d channels of the head (Sec. III-D)
        head_pool: int = 4  # pooled map 4x4 -> 32*4*4 = 512 features (Sec. III-D)
        hidden_dim: int = 256  # head MLP 512 -> 256 -> 256 (Sec. III-D)

    def __init__(self, config: F5CMethod.Config | None = None):
        super().__init__(config)
        c = self.config
        self.backbone = F5CBackbone(1, tuple(c.stem_widths), c.meta_kernel, c.knn_k)
        self.head = TemporalIdentityHead(self.backbone.out_channels, tuple(c.head_widths),
                                         c.head_pool, c.hidden_dim, c.embedding_dim, c.dropout)


class F5CFeatDiff(F5CMethod):
    """F5C + inter-frame feature differencing (proposed; Table VI: 0.877 overall AUC)."""

    fixed_condition = "featdiff"

    @dataclass(frozen=True)
    class Config(F5CMethod.Config):
        condition: str = "featdiff"


class F5CPixelDiff(F5CMethod):
    """F5C on pixel differences I_{t+1} - I_t (Table VI: 0.861)."""

    fixed_condition = "pixeldiff"

    @dataclass(frozen=True)
    class Config(F5CMethod.Config):
        condition: str = "pixeldiff"


class F5CRawFeat(F5CMethod):
    """F5C per-frame features, no differencing (Table VI: 0.649)."""

    fixed_condition = "rawfeat"

    @dataclass(frozen=True)
    class Config(F5CMethod.Config):
        condition: str = "rawfeat"


class F5CStatic(F5CMethod):
    """F5C on the centre frame only (Table VI: 0.610)."""

    fixed_condition = "static"

    @dataclass(frozen=True)
    class Config(F5CMethod.Config):
        condition: str = "static"


__all__ = [
    "CONDITIONS",
    "ChannelCorrespondenceConv",
    "CircularBranch",
    "ConvStack",
    "F5CBackbone",
    "F5CFeatDiff",
    "F5CMethod",
    "F5CPixelDiff",
    "F5CRawFeat",
    "F5CStatic",
    "FrameEncoderMethod",
    "FullyConnectedConv",
    "TemporalIdentityHead",
    "channels_last",
    "circulant",
    "circular_conv",
    "frame_differences",
    "gather_positions",
    "knn_positions",
    "neighbour_max",
]
