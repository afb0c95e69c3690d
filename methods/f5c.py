"""F5C with inter-frame feature differencing: a preprocessing-free avatar fingerprinting method.

Paper: Chapariniya, Odobez, Dellwo, Vuković, "Micro-Expression-Aware Avatar Fingerprinting via
Inter-Frame Feature Differencing", arXiv:2604.23247 (2026), Sec. III and Table I.  The F5C
backbone (ConvStack -> fcc -> ccc) comes from MOL (Shao et al., "MOL: Joint Estimation of
Micro-Expression, Optical Flow, and Landmark via Transformer-Graph-Style Convolution",
TPAMI 2025; F5C = "Fully-Connected Convolution + Channel Correspondence Convolution").

Reference implementation: the authors' public code, github.com/Mchapariniya/TrustFA-FG2026
(``src/feat_diff.py``: F5C + featdiff; ``scripts/ablation_representation.py``: the other three
conditions).  That repository carries no licence: it was read for facts only, and this module is
written independently of it.

Pipeline (per clip of T grayscale 128x128 frames)::

    clip --z-score--> frames --F5C, per frame--> f_t (128x16x16) --condition--> (128, T', 16, 16)
         --temporal identity head (2x Conv3d, pool, MLP)--> 256-d, L2-normalised

The four input conditions of the paper's ablation (Table VI) differ only in what reaches the
head: ``featdiff`` d_t = f_{t+1} - f_t (T' = T-1, proposed), ``pixeldiff`` F5C(I_{t+1} - I_t)
(T' = T-1), ``rawfeat`` f_t (T' = T) and ``static`` the centre frame T//2 only (T' = 1).  They
are one class, :class:`F5CMethod`, with the condition a config field that each registered name
sets (``methods/__init__.py``).  :class:`FrameEncoderMethod` implements the conditions for any
per-frame backbone; ``methods/resnet18.py`` reuses it (Table VIII).

**Paper text vs reference code.**  The published numbers were produced by the code, so where the
two disagree the code's reading is the default and the text's reading a config option (stored
with every result like any other config value):

* fcc fusion: the code concatenates the two branch outputs; the text says the branches "are
  fused by concatenation and 1x1 conv".  ``fusion=True`` adds that fusion (Conv1x1 + BN + ReLU,
  16,640 parameters).
* ccc: the code has no learned weights: out_i = x_i + ReLU(x_i + max_j (x_j - x_i)) over the 4
  positions most cosine-similar to i in channel space, i itself included (its top-4 of a
  similarity matrix whose diagonal is the maximum).  Its ``CCC`` module also builds a
  Linear(128, 128) + ReLU that ``forward`` never calls.  The text's "each position aggregates
  differential information from its neighbours" reads as a learned aggregation:
  ``ccc="edgeconv"`` is the DGCNN EdgeConv of MOL's ``edge_feature``,
  out_i = x_i + max_j ReLU(W [x_i, x_j - x_i] + b) over the k most similar *other* positions
  (self excluded: our choice, the text is silent), 32,896 parameters.
* Temporal head stride: the code stacks the frames' maps as (B, C, H, W, T) and its Conv3d
  stride (1, 2, 1) therefore halves W (16 -> 8 -> 4, H kept, pooled 16 -> 4); the text reads
  the stride in (T, H, W) order and halves H.  Here maps are (B, C, T, H, W) and the default
  ``head_stride_axis="W"`` strides W, which is the reference's layer up to a permutation of
  kernel axes (tested); ``head_stride_axis="H"`` is the text's reading.

Where the text is silent, the code's choices are followed (no option unless named):

* Input: each clip is z-scored over all its frames and pixels before the model,
  (x - mean) / (std + 1e-6) with the unbiased std (``ZSCORE_EPS``; a constant clip becomes all
  zeros instead of NaN).  The reference does it in its data loader; here the method does it in
  :meth:`FrameEncoderMethod.backbone_input`, so training, validation, evaluation and ``avbench
  bench`` all see it, and ``pixeldiff`` differences z-scored frames and ``static`` takes the
  centre frame of the z-scored clip (normalised with the whole clip's statistics), as the
  reference does.  ``clip_norm="none"`` feeds the [0, 1] frames as they arrive.
* ConvStack paddings (0, 0, 1, 0), as MOL: 128 -> 63 -> 31 -> 16 -> 16 (``stem_paddings``);
  its convolutions and the head's Conv3d layers have biases although BatchNorm follows.
* fcc follows MOL's FCC (a ParC-style global circular convolution): per branch, add a learned
  positional encoding along the first conv axis, BatchNorm (pre-norm), depthwise circular conv
  along that axis (+bias), add the second axis' encoding, circular conv along the second axis
  (+bias), residual add.  Meta-kernels and encodings have length 32 and are cropped to their
  *first* S taps at run time, S = map size = 16.  Init: kernels U(+-1/sqrt(32)) (a Conv2d's
  default for a 32-tap depthwise kernel), encodings and biases N(0, 1).
* BatchNorm statistics in training: the reference runs the backbone once per time step (a loop
  over t on the B frames of that step), so each BatchNorm normalises with one time step's
  statistics and updates its running averages T' times per batch.  ``batchnorm_per_step=True``
  (default) computes exactly that in one backbone call on all B*T' frames: every BatchNorm of
  the backbone (ConvStack's, and fcc's on its folded (1, C, H*B*T', W) image) splits its
  statistics by time step and applies the T' running-average updates in time order
  (:func:`step_batch_norm`; outputs, gradients and running averages equal the loop's to float
  rounding, tested in float64).  Under data-parallel training each step's statistics span all
  processes, as the converted BatchNorm layers' do.  ``False`` normalises all B*T' frames
  together (one running-average update per batch), a different model in training.
  Evaluation uses the running averages, so both give the same embeddings from the same weights.
* ccc graph: the position itself is always one of its k neighbours here (its similarity is set
  to +inf before the top-k), which equals the reference's plain top-k whenever self is the most
  similar position, i.e. except for exact ties (another position parallel to it, or an all-zero
  feature vector) and low-precision rounding, where the reference's choice is arbitrary.
  Because self is included, x_i + max_j (x_j - x_i) = max_j x_j: ccc is computed as
  x + ReLU(neighbour max of x), a gather and a max per position.

Efficiency: time is folded into the batch, one backbone call for all B*T' frames, in training
too.  The reference's loop over time steps launches every kernel of the backbone T' times: a
training step at T = 64 dispatches about 9,500 operations that way, 600 here (220 with
``batchnorm_per_step=False``), which matters where kernel launches bound the step (GPUs).
Per-step BatchNorm costs a few passes over each map, its gradient written by hand; on 2 CPU
cores a training step (B = 8, T = 16) takes 0.4 s fused, looped or with ``False`` alike.  The
backbone runs channels-last (it re-strides its input itself: ``module.to(memory_format=...)``
refuses the head's 5-D Conv3d weights); fcc and ccc use layouts in which their work is plain
matmuls and gathers; there are no Python loops over positions or time steps and no host syncs;
fp16/bf16 autocast is checked.  On GPUs with Triton ccc runs as two fused kernels
(:mod:`avbench.ops.max_relative`: no similarity matrix, winners as int8, no scatter-add), and
fcc hands it channels-last maps so that each position's channels are one contiguous row.  On
GPUs the first conv (one input channel) runs as a stride-1 conv on 2 x 2 blocks
(:func:`space_to_depth_conv`: the same products; cuDNN's BF16 kernels for one input channel
made compiled BF16 training 17 % slower than FP16).

Parameters.  The paper (Table I) reports 0.53 M = F5C 0.06 M + head 0.47 M.  The reference
model has 526,808: ConvStack 19,512 + fcc 16,896 + the unused ccc Linear 16,512 (F5C 52,920) +
head 473,888.  So the 0.53 M counts a layer that never runs, the head's 0.47 M matches, and the
F5C figure is 0.53 - 0.47 of the rounded totals (52,920 is 0.05 M).  Here, without the unused
layer: ConvStack 19,512, fcc 16,896, ccc 0, head 473,888, total 510,296 (0.51 M).  The text
options add 16,640 (``fusion=True``) and 32,896 (``ccc="edgeconv"``): 559,832 with both.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from avbench.distributed import SumSyncBatchNorm
from avbench.method import Method
from avbench.ops import max_relative
from avbench.specs import InputKind

CONDITIONS = ("featdiff", "pixeldiff", "rawfeat", "static")
CLIP_NORMS = ("zscore", "none")
CCC_KINDS = ("maxrel", "edgeconv")
ZSCORE_EPS = 1e-6  # added to each clip's std, as the reference: a still, uniform clip stays finite


def check_option(owner: str, option: str, value: Any, choices: tuple, hint: str = "") -> None:
    """A config value outside ``choices`` is an error naming the option and how to set it."""
    if value not in choices:
        hint = hint or f"set it with --set {option}={choices[0]}"
        raise ValueError(f"{owner}: {option} must be one of {', '.join(map(str, choices))}; got "
                         f"{value!r} ({hint})")


def check_flag(owner: str, option: str, value: Any) -> None:
    """A config flag must be a bool (``--set fusion=true`` would arrive as the string 'true')."""
    if not isinstance(value, bool):
        raise ValueError(f"{owner}: {option} must be True or False; got {value!r} "
                         f"(set it with --set {option}=True)")


# --------------------------------------------------------------------------------------------
# BatchNorm per time step
#
# The reference encodes a clip with one backbone call per time step, so in training each of its
# BatchNorms sees one step's B frames.  Here all B*T' frames go through the backbone at once and
# each BatchNorm splits its statistics by time step: the same numbers without T' backbone calls.


def step_batch_norm(norm: nn.modules.batchnorm._BatchNorm, x: Tensor, steps: int,
                    step_dim: int) -> Tensor:
    """``norm(x)``, but in training with every time step normalised by its own statistics.

    The size of dimension ``step_dim`` of ``x`` is a multiple of ``steps`` and its index runs
    sequence-major, ``i = j * steps + t`` (t the time step): dimension 0 of the backbone's
    (B*T', C, H, W) batch, and dimension 2 of fcc's (1, C, H*B*T', W) image, whose index
    (h * B + b) * T' + t has the same form.  Per (time step, channel), the mean and the biased
    variance over that step's values normalise it; the affine weight and bias are shared.  The
    running averages receive the T' updates that T' sequential calls would make, in time order
    (r <- (1 - m) r + m s_t, with the unbiased variance as BatchNorm; momentum None: the
    cumulative average), as one update, and ``num_batches_tracked`` grows by T'.

    A BatchNorm converted for data-parallel training (:class:`torch.nn.SyncBatchNorm` or
    avbench's :class:`~avbench.distributed.SumSyncBatchNorm`) takes each step's statistics over
    the global batch, as those layers do per call: per-step sums, then centred squares, are
    all-reduced in forward (two passes: E[x^2] - E[x]^2 loses digits in float32), and the two
    per-step gradient sums in backward.

    ``steps == 1``, and evaluation with running averages, are ``norm(x)`` itself.  Statistics
    are computed in float32 (float64 for float64 inputs) and the output has ``x``'s dtype, as
    native BatchNorm under autocast.

    Args:
        norm: the BatchNorm layer (parameters, buffers, eps, momentum).
        x: its input, channels at dimension 1.
        steps: time steps T' per sequence.
        step_dim: the dimension that holds the time steps (0, or >= 2).
    """
    if steps == 1 or not (norm.training or norm.running_mean is None):
        return norm(x)
    if step_dim == 1 or x.shape[step_dim] % steps:
        raise ValueError(f"step_batch_norm: dimension {step_dim} of a {tuple(x.shape)} input "
                         f"cannot hold {steps} time steps per sequence (it must be the batch or "
                         "a spatial dimension whose size is a multiple of the steps)")
    weight, bias = (norm.weight, norm.bias) if norm.affine else (None, None)
    y, mean, var, count = _StepBatchNorm.apply(x, weight, bias, norm.eps, steps, step_dim,
                                               _sync_group(norm))
    if norm.training and norm.track_running_stats:
        _update_running_stats(norm, mean, var * (count / (count - 1)))
    return y


def _by_step(x: Tensor, steps: int, step_dim: int, last: bool) -> tuple[Tensor, int, int]:
    """``x`` with the channel and the time step as dimensions of their own.

    Returns the tensor and those two dimensions.  (B*T', C, *) becomes (B, T', positions, C) if
    ``last`` (a view of channels-last maps), else (B, T', C, positions) (a view of contiguous
    ones); (N, C, ..., S, ...) with the steps in S becomes (N, C, before, S / T', T', after), a
    view of contiguous maps.  Other layouts are copied.
    """
    n, c = x.shape[:2]
    if step_dim == 0 and last:
        return x.movedim(1, -1).reshape(n // steps, steps, -1, c), 3, 1
    if step_dim == 0:
        return x.reshape(n // steps, steps, c, -1), 2, 1
    size = x.shape[step_dim]
    return x.reshape(n, c, math.prod(x.shape[2:step_dim]), size // steps, steps,
                     math.prod(x.shape[step_dim + 1:])), 1, 4


def _empty(x: Tensor, last: bool) -> Tensor:
    """A new tensor of ``x``'s shape and dtype, channels-last if ``last``, else contiguous."""
    if not last:
        return torch.empty(x.shape, dtype=x.dtype, device=x.device)
    dims = (x.shape[0], *x.shape[2:], x.shape[1])  # memory order
    strides = [math.prod(dims[i + 1:]) for i in range(len(dims))]
    return torch.empty_strided(x.shape, (strides[0], 1, *strides[1:-1]), dtype=x.dtype,
                               device=x.device)


def _sum_over(t: Tensor, dims: tuple[int, ...]) -> Tensor:
    """Sum over ``dims`` (kept), innermost first: one dimension at a time is several times
    faster than one multi-dimension reduction on CPU."""
    for d in sorted(dims, reverse=True):
        t = t.sum(d, keepdim=True)
    return t


class _StepBatchNorm(torch.autograd.Function):
    """The arithmetic of :func:`step_batch_norm`, with the gradient by hand in a few passes over
    the data, as native BatchNorm (autograd through the formulas, with ``torch.var_mean``, took
    3x longer per layer on CPU, and its views broke the in-place ReLU that follows).

    Returns the output (a new tensor in ``x``'s layout and dtype, so an in-place ReLU may follow)
    and, without gradient, the (C, T') means and biased variances and the number of values
    behind each.  With a process group, statistics and gradient sums span all processes.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, steps, step_dim, group):
        # Maps stay in their layout: channels-last ones (the backbone's) as such, others contiguous.
        last = step_dim == 0 and not x.is_contiguous() and x.movedim(1, -1).is_contiguous()
        v, channel_dim, time_dim = _by_step(x, steps, step_dim, last)
        v = v if v.dtype == torch.float64 else v.float()
        dims = tuple(d for d in range(v.ndim) if d not in (channel_dim, time_dim))
        shape = [1] * v.ndim
        shape[channel_dim] = x.shape[1]
        count = torch.full((), v.numel() // (x.shape[1] * steps), dtype=v.dtype, device=v.device)
        sums = _sum_over(v, dims)
        if group is not None:
            totals = torch.cat([sums.flatten(), count.view(1)])
            torch.distributed.all_reduce(totals, group=group)
            sums, count = totals[:-1].view_as(sums), totals[-1]
        out = _empty(x, last)
        out_v = _by_step(out, steps, step_dim, last)[0]  # a view; scratch space first
        mean = sums / count
        centred = v - mean
        # Two passes (E[x^2] - E[x]^2 loses digits in float32).
        squares = _sum_over(torch.mul(centred, centred, out=out_v if out.dtype == v.dtype
                                      else None), dims)
        if group is not None:
            torch.distributed.all_reduce(squares, group=group)
        var = squares / count
        invstd = torch.rsqrt(var + eps)
        scale = invstd if weight is None else invstd * weight.view(shape)
        if bias is None:
            torch.mul(centred, scale, out=out_v)
        else:
            torch.addcmul(bias.view(shape), centred, scale, out=out_v)
        ctx.save_for_backward(centred, invstd, weight, count)
        ctx.layout = (steps, step_dim, last, dims, shape, group, x.dtype)

        def per_step(stat: Tensor) -> Tensor:  # -> (C, T')
            return stat.movedim((channel_dim, time_dim), (0, 1)).reshape(x.shape[1], steps)

        mean, var = per_step(mean), per_step(var)
        ctx.mark_non_differentiable(mean, var, count)
        return out, mean, var, count

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad, _mean, _var, _count):
        centred, invstd, weight, count = ctx.saved_tensors
        steps, step_dim, last, dims, shape, group, dtype = ctx.layout
        g = _by_step(grad, steps, step_dim, last)[0].to(centred.dtype)
        grad_sum = _sum_over(g, dims)  # per (channel, step)
        grad_v = g * centred  # scratch space, then the gradient
        grad_dot = _sum_over(grad_v, dims)
        grad_weight = grad_bias = grad_x = None
        if weight is not None and any(ctx.needs_input_grad[1:3]):
            # This process's share, as for any parameter (data-parallel training combines them).
            per_channel = tuple(d for d in range(g.ndim) if shape[d] == 1)
            grad_weight = _sum_over(grad_dot * invstd, per_channel).view(-1)
            grad_bias = _sum_over(grad_sum, per_channel).view(-1)
        if ctx.needs_input_grad[0]:
            if group is not None:  # the statistics depend on every process's values
                both = torch.cat([grad_sum.flatten(), grad_dot.flatten()])
                torch.distributed.all_reduce(both, group=group)
                grad_sum, grad_dot = both.view(2, *grad_sum.shape).unbind(0)
            scale = invstd if weight is None else invstd * weight.view(shape)
            # scale * (g - mean(g) - xhat * mean(g * xhat)), xhat = centred * invstd
            torch.addcmul(-scale * grad_sum / count, centred,
                          -scale * invstd * invstd * grad_dot / count, out=grad_v)
            grad_v.addcmul_(g, scale)
            n, c = grad.shape[:2]
            grad_x = (grad_v.view(n, *grad.shape[2:], c).movedim(-1, 1) if last
                      else grad_v.view(grad.shape)).to(dtype)
        return grad_x, grad_weight, grad_bias, None, None, None, None


def _update_running_stats(norm: nn.modules.batchnorm._BatchNorm, mean: Tensor,
                          var: Tensor) -> None:
    """Apply T' sequential running-average updates at once, from (C, T') per-step means and
    unbiased variances: r_T = a r_0 + sum_t c_t s_t with a = prod_t (1 - m_t) and
    c_t = m_t prod_{u > t} (1 - m_u)."""
    with torch.no_grad():
        steps = mean.shape[1]
        done = norm.num_batches_tracked
        if norm.momentum is None:  # cumulative average: m = 1 / (batches tracked so far)
            m = 1.0 / (done.double() + torch.arange(1, steps + 1, dtype=torch.float64,
                                                    device=done.device))
        else:
            m = torch.full((steps,), float(norm.momentum), dtype=torch.float64, device=done.device)
        keep = (1.0 - m).flip(0).cumprod(0).flip(0)  # keep[t] = prod_{u >= t} (1 - m_u)
        coef = m * torch.cat([keep[1:], keep.new_ones(1)])
        for buffer, stat in ((norm.running_mean, mean), (norm.running_var, var)):
            buffer.copy_(buffer.double() * keep[0] + stat.double() @ coef)
        done.add_(steps)


def _sync_group(norm: nn.Module):
    """The process group over which ``norm`` takes its training statistics, or None (local)."""
    dist = torch.distributed
    if not (isinstance(norm, (nn.SyncBatchNorm, SumSyncBatchNorm)) and dist.is_available()
            and dist.is_initialized()):
        return None
    group = getattr(norm, "process_group", None) or dist.group.WORLD
    return group if dist.get_world_size(group) > 1 else None


# --------------------------------------------------------------------------------------------
# ConvStack


class ConvBnAct(nn.Sequential):
    """Conv2d + BatchNorm2d + ReLU.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size.
        stride: stride.
        padding: zero padding on every side.
        bias: whether the conv has a bias (the reference's ConvStack: yes; the fcc fusion: no).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 padding: int, bias: bool = True):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor, steps: int = 1, step_dim: int = 0) -> Tensor:
        """``steps``, ``step_dim``: where ``x`` holds its time steps (:func:`step_batch_norm`)."""
        conv, norm, act = self
        y = space_to_depth_conv(conv, x) if uses_space_to_depth(conv, x) else conv(x)
        return act(step_batch_norm(norm, y, steps, step_dim))


SPACE_TO_DEPTH_STEM = True  # on GPUs: the one-channel first conv as a space-to-depth conv


def uses_space_to_depth(conv: nn.Conv2d, x: Tensor) -> bool:
    """Whether :func:`space_to_depth_conv` computes ``conv(x)``: a CUDA tensor, one input
    channel, no padding or dilation, kernel a multiple of the stride and maps a multiple of it.

    Only on GPUs: there cuDNN's BF16 kernels for a one-channel input are slow (the paper's first
    conv, 1 -> 8 channels, kernel 4, stride 2 at B = 128, T = 64: 11.9 ms forward + backward in
    BF16 against 4.8 in FP16; as space-to-depth 5.8 and 4.0 ms, H200).  On CPUs the plain conv
    is the faster one (7.6 against 19 ms at B = 16, T = 16, 2 cores)."""
    return SPACE_TO_DEPTH_STEM and x.is_cuda and space_to_depth_fits(conv, x.shape)


def space_to_depth_fits(conv: nn.Conv2d, shape: tuple[int, ...]) -> bool:
    """Whether :func:`space_to_depth_conv` computes ``conv`` on maps of ``shape``."""
    s = conv.stride[0]
    return (conv.in_channels == 1 and conv.groups == 1 and s > 1 and conv.stride == (s, s)
            and conv.padding == (0, 0) and conv.dilation == (1, 1)
            and conv.kernel_size[0] % s == 0 and conv.kernel_size[1] % s == 0
            and shape[-2] % s == 0 and shape[-1] % s == 0)


def space_to_depth_conv(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """``conv(x)`` for a one-channel ``x`` as a stride-1 conv on s x s blocks: (N, 1, H, W) ->
    (N, s*s, H/s, W/s) channels-last, the (O, 1, k, k) kernel -> (O, s*s, k/s, k/s).

    out[i, j] = sum_{a,b} w[a, b] x[s i + a, s j + b]; with a = s A + p, b = s B + q that is
    sum_{p,q,A,B} w'[(p, q), A, B] x'[(p, q), i + A, j + B]: the same products, summed in
    another order.  The weight stays the module's parameter (state dicts are unchanged)."""
    s = conv.stride[0]
    n, _, h, w = x.shape
    o, _, kh, kw = conv.weight.shape
    blocks = x.reshape(n, h // s, s, w // s, s).permute(0, 1, 3, 2, 4)
    blocks = blocks.reshape(n, h // s, w // s, s * s).permute(0, 3, 1, 2)  # channels-last
    weight = conv.weight.reshape(o, kh // s, s, kw // s, s).permute(0, 2, 4, 1, 3)
    weight = weight.reshape(o, s * s, kh // s, kw // s).contiguous(memory_format=torch.channels_last)
    return F.conv2d(blocks, weight, conv.bias)


class ConvStack(nn.Sequential):
    """Four conv units mapping a 1x128x128 frame to 128x16x16 (paper Sec. III-B).

    Strides (2, 2, 2, 1) and kernels (4, 3, 2, 1) are the paper's; the paddings default to the
    reference's (0, 0, 1, 0): 128 -> 63 -> 31 -> 16 -> 16.

    Args:
        in_channels: input channels (1: grayscale).
        widths: output channels of the four layers.
        paddings: zero padding of the four layers.
    """

    kernels: ClassVar[tuple[int, ...]] = (4, 3, 2, 1)
    strides: ClassVar[tuple[int, ...]] = (2, 2, 2, 1)

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (8, 32, 64, 128),
                 paddings: tuple[int, ...] = (0, 0, 1, 0)):
        if len(widths) != 4 or len(paddings) != 4:
            raise ValueError(f"ConvStack has four layers; got widths {widths}, paddings {paddings} "
                             "(set four of each: --set stem_widths=(8,32,64,128))")
        chans = (in_channels, *widths)
        super().__init__(*(ConvBnAct(chans[i], chans[i + 1], k, s, p) for i, (k, s, p)
                           in enumerate(zip(self.kernels, self.strides, paddings))))

    def forward(self, x: Tensor, steps: int = 1) -> Tensor:
        """(N, 1, 128, 128) -> (N, 128, 16, 16); ``steps``: see :func:`step_batch_norm`."""
        for unit in self:
            x = unit(x, steps)
        return x


# --------------------------------------------------------------------------------------------
# fcc: fully-connected (global circular) convolution
#
# fcc works on a (C, H, N, W) "channel-major" copy of the maps: there both circular convolutions
# are single batched matmuls with the channel as batch dimension (along H: M_c @ (H, N*W); along
# W: (H*N, W) @ M_c^T), and BatchNorm / the optional 1x1 fusion see one (1, C, H*N, W) image.
# Measured on CPU this is 3-10x faster than einsum or depthwise conv on NCHW / channels-last maps.


def circulant(kernel: Tensor, size: int) -> Tensor:
    """The (C, S, S) circulant matrices M with M[c, i, j] = kernel[c, (j - i) mod S].

    ``M @ v`` is the circular cross-correlation out[i] = sum_m kernel[m] * v[(i + m) mod S], the
    same as ``F.conv1d`` of ``v`` with its first S-1 values appended (MOL's implementation).

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
    map size along the axis, at most ``meta_kernel``).  Encodings and biases start N(0, 1), as in
    the reference; kernels U(+-1/sqrt(meta_kernel)), a depthwise Conv2d's default.

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
        bound = 1.0 / math.sqrt(meta_kernel)
        self.kernel = nn.Parameter(torch.empty(2, channels, meta_kernel).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.randn(2, channels))
        self.pos = nn.Parameter(torch.randn(2, channels, meta_kernel))
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, z: Tensor, steps: int = 1) -> Tensor:
        """(C, H, N, W) -> (C, H, N, W); ``steps``: see :func:`step_batch_norm`."""
        c, h, _, w = z.shape
        y = z
        for step, axis in enumerate(self.order):
            size = h if axis == "H" else w
            if size > self.meta_kernel:
                raise ValueError(f"fcc meta-kernel ({self.meta_kernel}) is shorter than the "
                                 f"feature map ({size}); raise it with --set meta_kernel={size}")
            # Encodings and biases in the activations' dtype, as a conv's own bias under autocast:
            # an FP32 parameter would promote the branch, and all later maps, to FP32.
            pos = self.pos[step, :, :size].to(y.dtype)  # crop, as the kernel
            y = y + (pos.view(c, size, 1, 1) if axis == "H" else pos.view(c, 1, 1, size))
            if step == 0:
                y = step_batch_norm(self.norm, _as_image(y), steps, 2).view_as(z)
            y = circular_conv(y, self.kernel[step, :, :size], axis)
            y = y + self.bias[step].to(y.dtype).view(c, 1, 1, 1)
        return z + y


class FullyConnectedConv(nn.Module):
    """fcc: two asymmetric circular branches (H-then-W, W-then-H) on the two channel halves.

    Every output position sees its full row and column (a global receptive field on the map).
    The output is the two branches' outputs concatenated (the reference); ``fusion`` adds the
    paper text's 1x1 conv (+ BN + ReLU) over the concatenation.  Takes and returns (N, C, H, W)
    maps (channels-last out); works internally on a channel-major copy.

    Args:
        channels: input = output channels (split in two halves).
        meta_kernel: meta-kernel length (paper: 32, cropped to the map size 16).
        fusion: add the 1x1 conv fusion of the paper's text.
    """

    def __init__(self, channels: int = 128, meta_kernel: int = 32, fusion: bool = False):
        super().__init__()
        if channels % 2:
            raise ValueError(f"fcc splits channels in halves; got {channels}")
        half = channels // 2
        self.branch_hw = CircularBranch(half, meta_kernel, order="HW")
        self.branch_wh = CircularBranch(half, meta_kernel, order="WH")
        self.fuse = ConvBnAct(channels, channels, 1, 1, 0, bias=False) if fusion else None

    def forward(self, x: Tensor, steps: int = 1) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W); ``steps``: see :func:`step_batch_norm`."""
        z = x.permute(1, 2, 0, 3).contiguous()  # (C, H, N, W)
        a, b = z.chunk(2, dim=0)
        z = torch.cat([self.branch_hw(a, steps), self.branch_wh(b, steps)], dim=0)
        if self.fuse is not None:
            z = self.fuse(_as_image(z), steps, 2).view_as(z)
        # Channels-last (N, C, H, W): ccc reads each position's C-vector as one contiguous row.
        return z.permute(2, 0, 1, 3).contiguous(memory_format=torch.channels_last)


# --------------------------------------------------------------------------------------------
# ccc: channel correspondence convolution on a k-NN graph of spatial positions


def knn_positions(x: Tensor, k: int, include_self: bool = False) -> Tensor:
    """Indices of the k positions most cosine-similar to every position.

    Args:
        x: (N, P, C) one C-dimensional vector per position.
        k: neighbours per position.
        include_self: the position itself is the first of its k neighbours (k <= P); otherwise
            it is never one of them (k < P).

    Returns:
        (N, P, k) int64 indices into P, most similar first.
    """
    p = x.shape[1]
    most = p if include_self else p - 1
    if not 0 < k <= most:
        raise ValueError(f"ccc: k must be in [1, {most}] for {p} positions "
                         f"({'self included' if include_self else 'self excluded'}), got {k}; "
                         "set it with --set knn_k=4")
    with torch.no_grad():  # the graph is a selection: gradients flow through the gathered features
        xn = F.normalize(x, dim=-1)
        sim = xn @ xn.transpose(1, 2)
        sim.diagonal(dim1=1, dim2=2).fill_(float("inf") if include_self else float("-inf"))
        if sim.is_cuda and k <= MAX_K_BY_MAXIMA:
            return top_k_by_maxima(sim, k)
        return sim.topk(k, dim=-1).indices


MAX_K_BY_MAXIMA = 8
FUSED_CCC = True  # on GPUs with Triton: ccc as two fused kernels (avbench.ops.max_relative)


def top_k_by_maxima(scores: Tensor, k: int) -> Tensor:
    """``scores.topk(k, dim=-1).indices`` as k passes of arg-max-and-mask; overwrites ``scores``.

    On a GPU, ``topk`` runs a radix selection per row: for the 2 M rows of 256 similarities of
    one F5C training batch (B = 128, T = 64, 16 x 16 positions) it took 25 ms, 27 % of a compiled
    step on an H200.  k arg-max passes are plain memory-bound reductions that torch.compile can
    fuse.  On a CPU ``topk`` is the faster of the two (3x for k = 4), so it stays there.  The
    indices come largest first, as ``topk``'s; tied scores may be ordered differently.
    """
    found = []
    for _ in range(k):
        best = scores.argmax(dim=-1, keepdim=True)
        found.append(best)
        scores.scatter_(-1, best, float("-inf"))
    return torch.cat(found, dim=-1)


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


def _positions(x: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, H*W, C); free for channels-last tensors."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n, h * w, c)


def _maps(pts: Tensor, h: int, w: int) -> Tensor:
    """(N, H*W, C) -> (N, C, H, W) view in channels-last memory."""
    n, _, c = pts.shape
    return pts.reshape(n, h, w, c).permute(0, 3, 1, 2)


class MaxRelativeCorrespondence(nn.Module):
    """ccc as the reference computes it: no learned weights (``ccc="maxrel"``).

    With N(i) = position i and its k-1 most cosine-similar positions (channel space),
    out_i = x_i + ReLU(x_i + max_{j in N(i)} (x_j - x_i)), per channel.  As i is in N(i),
    x_i + max_j (x_j - x_i) = max_{j in N(i)} x_j, so out = x + ReLU(neighbour max of x).

    On a GPU with Triton the same function runs as two fused kernels
    (:mod:`avbench.ops.max_relative`: no similarity matrix or int64 winners in memory, no
    scatter-add; similarities rounded as this path rounds them under autocast, so both rank
    the same neighbours but where a near-tie's rounding flips).  ``FUSED_CCC = False`` keeps
    the plain path below everywhere; the tests compare the two.

    Args:
        k: neighbourhood size, self included (paper: 4).
    """

    def __init__(self, k: int = 4):
        super().__init__()
        self.k = k

    def neighbours(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, H*W, k) neighbour indices (positions row-major, self first)."""
        return knn_positions(_positions(x), self.k, include_self=True)

    def forward(self, x: Tensor) -> Tensor:
        if FUSED_CCC and max_relative.supports(x, self.k):
            return max_relative.max_relative(x, self.k)
        _, _, h, w = x.shape
        pts = _positions(x)  # (N, P, C)
        idx = knn_positions(pts, self.k, include_self=True)
        return _maps(pts + F.relu(neighbour_max(pts, idx)), h, w)


class EdgeConvCorrespondence(nn.Module):
    """ccc as the paper's text reads: a learned EdgeConv (``ccc="edgeconv"``).

    For position i with neighbours j (the k most cosine-similar *other* positions), as MOL's
    ``edge_feature``: out_i = x_i + max_j ReLU(W [x_i, x_j - x_i] + b).  With W = [W_s | W_d] the
    message is u_i + v_j (u = (W_s - W_d) x + b, v = W_d x), and since ReLU is monotone,
    max_j ReLU(u_i + v_j) = ReLU(u_i + max_j v_j): the linear maps run once per position and the
    per-edge work is a gather and a max (:func:`neighbour_max`).  No BatchNorm on the messages,
    as in MOL.

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
        _, c, h, w = x.shape
        pts = _positions(x)  # (N, P, C)
        idx = knn_positions(pts, self.k)
        w_self, w_diff = self.edge.weight.split(c, dim=1)
        u = F.linear(pts, w_self - w_diff, self.edge.bias)  # (N, P, C), per position
        v = F.linear(pts, w_diff)
        return _maps(pts + F.relu(u + neighbour_max(v, idx)), h, w)


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
        paddings: ConvStack paddings.
        meta_kernel: fcc meta-kernel length.
        knn_k: ccc neighbourhood size (self included for "maxrel", excluded for "edgeconv").
        ccc: "maxrel" (reference) or "edgeconv" (paper text).
        fusion: fcc's 1x1 conv fusion (paper text; the reference has none).
    """

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (8, 32, 64, 128),
                 paddings: tuple[int, ...] = (0, 0, 1, 0), meta_kernel: int = 32, knn_k: int = 4,
                 ccc: str = "maxrel", fusion: bool = False):
        super().__init__()
        check_option("F5CBackbone", "ccc", ccc, CCC_KINDS)
        self.out_channels = widths[-1]
        self.stem = ConvStack(in_channels, widths, paddings)
        self.fcc = FullyConnectedConv(widths[-1], meta_kernel, fusion)
        self.ccc = (MaxRelativeCorrespondence(knn_k) if ccc == "maxrel"
                    else EdgeConvCorrespondence(widths[-1], knn_k))

    def forward(self, x: Tensor, steps: int = 1) -> Tensor:
        """(N, 1, 128, 128) frames -> (N, 128, 16, 16) maps.

        ``steps``: the N frames are N / steps sequences of ``steps`` consecutive time steps
        (sequence-major, as :meth:`FrameEncoderMethod.encode_frames` folds (B, T')); in training
        every BatchNorm then normalises each time step with its own statistics, as ``steps``
        calls on one step's frames each would (:func:`step_batch_norm`).  1: one batch.
        """
        # Channels-last convs are 1.7x faster here on CPU, and what tensor cores want on GPU.
        return self.ccc(self.fcc(self.stem(channels_last(x), steps), steps))


class TemporalIdentityHead(nn.Module):
    """(B, C, T', H, W) motion tensor -> (B, D) L2-normalised embedding (paper Sec. III-D).

    Two Conv3d units (kernel 3, padding 1, with bias, + BN + ReLU) halve one spatial axis twice
    (``stride_axis``; 16 -> 8 -> 4 for F5C); adaptive average pooling to (1, pool, pool)
    collapses time and equalises the map; an MLP maps the flattened widths[-1] * pool^2 features
    to the embedding.  Any input width, any T' >= 1 and any H, W work (ResNet18 feeds 4x4 maps).

    The reference's tensor is (B, C, H, W, T) with stride (1, 2, 1) and pooling to (4, 4, 1): it
    strides W.  ``stride_axis="W"`` is that layer on (B, C, T, H, W), up to a permutation of the
    kernel's axes; "H" is the paper text's reading.

    Args:
        in_channels: channels of the input maps.
        widths: output channels of the two Conv3d units (paper: 64, 32).
        pool: spatial output size of the pooling (paper: 4 -> 32*4*4 = 512 features).
        hidden_dim: MLP hidden width (paper: 256).
        embedding_dim: output dimension (paper: 256).
        dropout: MLP dropout (paper: 0.3).
        stride_axis: "W" (reference code) or "H" (paper text): the axis the convs halve.
    """

    def __init__(self, in_channels: int = 128, widths: tuple[int, ...] = (64, 32), pool: int = 4,
                 hidden_dim: int = 256, embedding_dim: int = 256, dropout: float = 0.3,
                 stride_axis: str = "W"):
        super().__init__()
        check_option("TemporalIdentityHead", "head_stride_axis", stride_axis, ("W", "H"))
        stride = (1, 1, 2) if stride_axis == "W" else (1, 2, 1)  # (T, H, W)
        layers: list[nn.Module] = []
        chans = (in_channels, *widths)
        for cin, cout in itertools.pairwise(chans):
            layers += [nn.Conv3d(cin, cout, 3, stride=stride, padding=1),
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
        x = block_average(self.convs(x), self.pool).flatten(1)
        return F.normalize(self.mlp(x), dim=1)


def block_average(x: Tensor, pool: nn.AdaptiveAvgPool3d) -> Tensor:
    """``pool(x)`` for a (B, C, T, H, W) tensor, as means over (T, H-blocks, W-blocks) where the
    output size divides H and W (F5C's 16 x 4 maps into 4 x 4; ResNet-18's 4 x 4 into 4 x 4).

    The same numbers as adaptive pooling (equal blocks), but its backward is a broadcast that
    torch.compile fuses into its neighbours, where adaptive pooling's backward is a scatter with
    atomic adds: 4.1 ms of F5C's 64 ms training step on an H200 (docs/performance.md).  Other
    sizes fall back to the pooling layer itself."""
    _, ph, pw = pool.output_size
    t, h, w = x.shape[-3:]
    if pool.output_size[0] != 1 or h % ph or w % pw:
        return pool(x)
    blocks = x.unflatten(4, (pw, w // pw)).unflatten(3, (ph, h // ph))  # (B, C, T, ph, h/ph, pw, w/pw)
    return blocks.mean(dim=(2, 4, 6)).unsqueeze(2)  # (B, C, 1, ph, pw), as the pooling layer gives


# --------------------------------------------------------------------------------------------
# The four input conditions, for any per-frame backbone


def frame_differences(features: Tensor) -> Tensor:
    """d_t = f_{t+1} - f_t along dim 1: (B, T, ...) -> (B, T-1, ...) (paper Eq. 2)."""
    return features[:, 1:] - features[:, :-1]


def zscore_clips(clips: Tensor, eps: float = ZSCORE_EPS) -> Tensor:
    """Each clip of (B, ...) to zero mean and unit std over all its values (frames and pixels).

    The std is the unbiased one (torch's default, as the reference); ``eps`` is added to it.
    """
    dims = tuple(range(1, clips.ndim))
    std, mean = torch.std_mean(clips, dim=dims, keepdim=True)
    return (clips - mean) / (std + eps)


class FrameEncoderMethod(Method):
    """A per-frame backbone, one of the four input conditions, an identity head.

    Subclasses set ``self.backbone`` (frames (N, 1, 128, 128) -> per-frame features (N, ...))
    and ``self.head`` in ``__init__``; their Config has ``condition`` and ``clip_norm``.  The
    default :meth:`to_head` stacks per-frame maps (N, C, h, w) into a (B, C, T', h, w) motion
    tensor for :class:`TemporalIdentityHead`; a subclass with another head overrides it (and
    :meth:`before_differencing` to change what featdiff subtracts).
    """

    input_kind = InputKind.FRAMES
    backbone: nn.Module
    head: nn.Module

    def __init__(self, config=None):
        super().__init__(config)
        name = type(self).__name__
        check_option(name, "condition", self.config.condition, CONDITIONS,
                     "each condition is its own registered method, e.g. f5c_static")
        check_option(name, "clip_norm", self.config.clip_norm, CLIP_NORMS)

    def backbone_input(self, clips: Tensor) -> Tensor:
        """(B, T, 1, H, W) clips in [0, 1] -> the (B, T', 1, H, W) frames the backbone encodes.

        The clip is normalised first (``clip_norm``), then the condition picks or differences
        its frames.
        """
        if clips.ndim != 5 or clips.shape[2] != 1:
            raise ValueError(f"{type(self).__name__} expects (B, T, 1, H, W) grayscale clips, "
                             f"got {tuple(clips.shape)}")
        t = clips.shape[1]
        cond = self.config.condition
        if cond in ("featdiff", "pixeldiff") and t < 2:
            raise ValueError(f"condition {cond!r} needs at least 2 frames per clip, got {t}; "
                             "use a longer clip (--train clip_length=...)")
        if self.config.clip_norm == "zscore":
            clips = zscore_clips(clips)
        if cond == "static":
            return clips[:, t // 2: t // 2 + 1]
        if cond == "pixeldiff":
            return frame_differences(clips)
        return clips

    def encode_frames(self, frames: Tensor) -> Tensor:
        """(B, T', 1, H, W) -> (B, T', ...) per-frame features: one backbone call on all frames."""
        b, t = frames.shape[:2]
        return self.backbone(frames.flatten(0, 1)).unflatten(0, (b, t))

    def before_differencing(self, features: Tensor) -> Tensor:
        """What featdiff subtracts, from (B, T, ...) per-frame features: here they themselves."""
        return features

    def to_head(self, features: Tensor) -> Tensor:
        """(B, T', C, h, w) per-frame maps -> the (B, C, T', h, w) tensor the head receives."""
        return features.transpose(1, 2)  # channels-last maps give channels-last-3d strides here

    def head_input(self, clips: Tensor) -> Tensor:
        """(B, T, 1, H, W) clips in [0, 1] -> what the head receives."""
        features = self.encode_frames(self.backbone_input(clips))
        if self.config.condition == "featdiff":
            features = frame_differences(self.before_differencing(features))
        return self.to_head(features)

    def embed(self, clips: Tensor) -> Tensor:
        return self.head(self.head_input(clips))

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of backbone, head and in total."""
        counts = {name: sum(p.numel() for p in getattr(self, name).parameters())
                  for name in ("backbone", "head")}
        counts["total"] = sum(p.numel() for p in self.parameters())
        return counts


class F5CMethod(FrameEncoderMethod):
    """F5C backbone + input condition + temporal identity head (paper Sec. III, Table I).

    Defaults are the reference code's; the paper text's readings are options (module docstring).
    """

    @dataclass(frozen=True)
    class Config:
        condition: str = "featdiff"  # featdiff | pixeldiff | rawfeat | static: set by the spec
        embedding_dim: int = 256
        knn_k: int = 4  # ccc graph size (Table I; maxrel: self + 3 others, edgeconv: 4 others)
        ccc: str = "maxrel"  # reference: parameter-free; "edgeconv": the text's learned aggregation
        fusion: bool = False  # reference: fcc branches concatenated; True: + the text's 1x1 conv
        meta_kernel: int = 32  # fcc meta-kernel length, cropped to the 16x16 map (Sec. III-B)
        stem_widths: tuple[int, ...] = (8, 32, 64, 128)  # ConvStack channels (Sec. III-B)
        stem_paddings: tuple[int, ...] = (0, 0, 1, 0)  # reference, as MOL: 128 -> 63 -> 31 -> 16
        head_widths: tuple[int, ...] = (64, 32)  # Conv3d channels of the head (Sec. III-D)
        head_pool: int = 4  # pooled map 4x4 -> 32*4*4 = 512 features (Sec. III-D)
        head_stride_axis: str = "W"  # reference: its (H, W, T) tensor strides W; "H": the text
        hidden_dim: int = 256  # head MLP 512 -> 256 -> 256 (Sec. III-D)
        dropout: float = 0.3  # head MLP dropout (Sec. III-D)
        clip_norm: str = "zscore"  # reference: each clip z-scored; "none": frames in [0, 1]
        batchnorm_per_step: bool = True  # reference: training BatchNorm statistics per time step
        temperature: float = 0.07  # SupCon (Table I)

    def __init__(self, config: F5CMethod.Config | None = None):
        super().__init__(config)
        c = self.config
        check_flag("F5CMethod", "fusion", c.fusion)
        check_flag("F5CMethod", "batchnorm_per_step", c.batchnorm_per_step)
        self.backbone = F5CBackbone(1, tuple(c.stem_widths), tuple(c.stem_paddings), c.meta_kernel,
                                    c.knn_k, c.ccc, c.fusion)
        self.head = TemporalIdentityHead(self.backbone.out_channels, tuple(c.head_widths),
                                         c.head_pool, c.hidden_dim, c.embedding_dim, c.dropout,
                                         c.head_stride_axis)

    def encode_frames(self, frames: Tensor) -> Tensor:
        """Per-frame maps, one backbone call on all B*T' frames; with ``batchnorm_per_step``
        BatchNorm takes each time step's statistics in training, as the reference's one call per
        step (:func:`step_batch_norm`)."""
        b, t = frames.shape[:2]
        steps = t if self.config.batchnorm_per_step else 1
        return self.backbone(frames.flatten(0, 1), steps=steps).unflatten(0, (b, t))


__all__ = [
    "CCC_KINDS",
    "CLIP_NORMS",
    "CONDITIONS",
    "ZSCORE_EPS",
    "CircularBranch",
    "ConvStack",
    "EdgeConvCorrespondence",
    "F5CBackbone",
    "F5CMethod",
    "FrameEncoderMethod",
    "FullyConnectedConv",
    "MaxRelativeCorrespondence",
    "TemporalIdentityHead",
    "channels_last",
    "check_flag",
    "check_option",
    "circulant",
    "circular_conv",
    "frame_differences",
    "gather_positions",
    "knn_positions",
    "top_k_by_maxima",
    "neighbour_max",
    "step_batch_norm",
    "zscore_clips",
]
