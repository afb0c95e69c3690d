"""F5C's ccc (max-relative aggregation over a k-NN graph of positions) as two Triton kernels.

The plain path (:class:`methods.f5c.MaxRelativeCorrespondence`) takes five passes over an
F5C training batch's maps and, in backward, a scatter-add through (N, P, C) int64 indices:

1. normalise every position's C-vector, 2. a (P x P) cosine-similarity matrix per frame (1 GB
for B = 128, T = 64), 3. k arg-max passes over it, 4. gather the k neighbours and take the
per-channel maximum, writing the winner's position as int64 (2 GB), 5. in backward, an atomic
scatter-add of the gradient to the winners (4.2 ms of a 50.8 ms step on an H200).

Here the forward kernel does 1-4 for a block of positions of one frame without writing the
similarities: it loads the frame's (P, C) maps once, computes the block's similarity rows with a
tensor-core matmul, selects the top k by k arg-max passes in registers, gathers and maxes the k
neighbours, and writes the output, the neighbour indices (N, P, k) int32 and the winner of
every (position, channel) as one int8 (which of the k, or -1 where the ReLU is off).  The
backward kernel runs one frame at a time per program (a persistent grid) and accumulates the
frame's input gradient in a float32 scratch of P x C that stays in L2: first each position's
own gradient (the residual, plus its own share where it won), then the neighbours' shares by
atomic adds, then one write in the input's layout.

The function is the plain path's, out_i = x_i + ReLU(max_{j in N(i)} x_j) per channel, with
N(i) = i and its k-1 most cosine-similar positions (i ranked first), rounded as the plain path
rounds under autocast: each vector's norm is a float32 sum (autocast runs norms in float32),
the vector divided by it in float32 (F.normalize) and rounded to the maps' dtype (autocast
casts a matmul's inputs), the dot products summed in float32 and the similarities rounded to
the dtype (the matmul's output), and ties go to the lower position index (the plain path's
arg-max passes).  In half precision that rounding decides many neighbours (BF16 keeps 8
significant bits, so similarities near 1 tie in steps of 2**-8), so the kernel ranks what the
plain path ranks rather than exact similarities.
What still differs is the order of the dot products' sums, which can flip a rounding and with
it a near-tied neighbour, and the order of the gradient's float32 sum (atomic adds: not bitwise
reproducible run to run, as the plain path's scatter-add on a GPU is not), rounded once.

Both kernels read and write any strides: the input is usually fcc's channel-major output
((C, H, N, W) memory) and the output is channels-last, as the plain path returns.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

try:  # CUDA builds of torch ship Triton; CPU builds do not
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = None

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"  # Triton's CPU interpreter (tests)
MAX_POSITIONS = 256  # a block's similarity rows (BLOCK_Q x P) are held in registers
MAX_FRAME_BYTES = 128 * 1024  # one frame's (P, C) maps, the matmul operand, in shared memory
MAX_K = 8
# Tuned on an H200 for F5C's (8192, 128, 16, 16) FP16 training batch (docs/performance.md).
FORWARD_BLOCK = 32  # positions per step of a forward program (one program per frame)
FORWARD_WARPS = 8
BACKWARD_BLOCK = 64  # positions per step of a backward program (a persistent grid)
BACKWARD_WARPS = 8
BACKWARD_PROGRAMS_PER_SM = 4


def supports(x: Tensor, k: int) -> bool:
    """Whether the fused op can compute ccc for ``x`` (else the plain path does).

    Needs Triton and a CUDA tensor (or the interpreter), half or single precision, at most
    :data:`MAX_POSITIONS` positions, a frame of at most :data:`MAX_FRAME_BYTES`, and
    1 <= k <= min(P, :data:`MAX_K`).
    """
    if triton is None or x.ndim != 4 or not (x.is_cuda or INTERPRET):
        return False
    n, c, h, w = x.shape
    return (x.dtype in (torch.float16, torch.bfloat16, torch.float32) and n > 0
            and h * w <= MAX_POSITIONS and _block(h * w) * _block(c) * x.element_size() <= MAX_FRAME_BYTES
            and 1 <= k <= min(MAX_K, h * w))


def max_relative(x: Tensor, k: int) -> Tensor:
    """(N, C, H, W) maps -> x + ReLU(max over each position's k-NN graph), channels-last.

    The graph: each position and its k-1 most cosine-similar positions of the same map.  Only
    when gradients are needed does the forward pass write what backward reads.
    """
    save = torch.is_grad_enabled() and x.requires_grad
    return _max_relative(x, k, save)[0]


if triton is not None:

    @triton.jit
    def _forward_kernel(x_ptr, norm_ptr, y_ptr, idx_ptr, win_ptr,
                        sxn, sxc, sxh, sxw, syn, syc, syh, syw, C, W,
                        P: tl.constexpr, K: tl.constexpr, BLOCK_Q: tl.constexpr,
                        BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr, SAVE: tl.constexpr,
                        IEEE: tl.constexpr):
        n = tl.program_id(0).to(tl.int64)  # one frame per program: its maps are loaded once
        cols = tl.arange(0, BLOCK_P)
        ch = tl.arange(0, BLOCK_C)
        col_ok = cols < P
        ch_ok = ch < C
        frame = x_ptr + n * sxn
        every = tl.load(frame + ((cols // W) * sxh + (cols % W) * sxw)[:, None] + ch[None, :] * sxc,
                        mask=col_ok[:, None] & ch_ok[None, :], other=0.0)
        # Normalised as F.normalize does (float32 division), then rounded to the maps' dtype, as
        # autocast rounds a matmul's inputs: the plain path's similarities, summed in float32.
        norm_cols = tl.load(norm_ptr + n * P + cols, mask=col_ok, other=1.0)
        every = (every.to(tl.float32) / norm_cols[:, None]).to(every.dtype)
        for start in range(0, P, BLOCK_Q):  # a loop, not unrolled: compiles in seconds
            rows = start + tl.arange(0, BLOCK_Q)
            row_ok = rows < P
            ok = row_ok[:, None] & ch_ok[None, :]
            mine = tl.load(frame + ((rows // W) * sxh + (rows % W) * sxw)[:, None] + ch[None, :] * sxc,
                           mask=ok, other=0.0)
            norm_rows = tl.load(norm_ptr + n * P + rows, mask=row_ok, other=1.0)
            unit = (mine.to(tl.float32) / norm_rows[:, None]).to(mine.dtype)
            if IEEE:
                sim = tl.dot(unit, tl.trans(every), input_precision="ieee")
            else:  # the matmul's output dtype, as the plain path's: ties break by position
                sim = tl.dot(unit, tl.trans(every)).to(mine.dtype).to(tl.float32)
            sim = tl.where(cols[None, :] == rows[:, None], float("inf"), sim)  # self ranks first
            sim = tl.where(col_ok[None, :], sim, float("-inf"))
            best = tl.full((BLOCK_Q, BLOCK_C), float("-inf"), tl.float32)
            win = tl.zeros((BLOCK_Q, BLOCK_C), tl.int32)
            for j in tl.static_range(K):
                nb = tl.argmax(sim, 1)  # the next most similar position (lowest index on ties)
                if SAVE:
                    tl.store(idx_ptr + (n * P + rows) * K + j, nb, mask=row_ok)
                sim = tl.where(cols[None, :] == nb[:, None], float("-inf"), sim)
                value = tl.load(frame + ((nb // W) * sxh + (nb % W) * sxw)[:, None] + ch[None, :] * sxc,
                                mask=ok, other=0.0).to(tl.float32)
                # Strictly greater: ties go to the more similar neighbour; a NaN wins, as in max.
                better = (value > best) | ((value != value) & (best == best))
                best = tl.where(better, value, best)
                win = tl.where(better, j, win)
            relu = tl.where(best > 0, best, tl.where(best != best, best, 0.0))
            out = mine.to(tl.float32) + relu
            tl.store(y_ptr + n * syn + ((rows // W) * syh + (rows % W) * syw)[:, None]
                     + ch[None, :] * syc, out.to(y_ptr.dtype.element_ty), mask=ok)
            if SAVE:
                win = tl.where(best > 0, win, -1)  # no gradient through an inactive ReLU
                tl.store(win_ptr + (n * P + rows)[:, None] * C + ch[None, :], win.to(tl.int8),
                         mask=ok)

    @triton.jit
    def _backward_kernel(g_ptr, idx_ptr, win_ptr, dx_ptr, scratch_ptr,
                         sgn, sgc, sgh, sgw, sdn, sdc, sdh, sdw,
                         N, C, W, PROGRAMS, P: tl.constexpr,
                         K: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_C: tl.constexpr):
        pid = tl.program_id(0)
        ch = tl.arange(0, BLOCK_C)
        scratch = scratch_ptr + pid.to(tl.int64) * P * C  # this program's (P, C) float32 rows
        ch_ok = ch < C
        frame = pid
        while frame < N:  # frames pid, pid + PROGRAMS, ...
            n = frame.to(tl.int64)
            # 1. Each position's own gradient: the residual's, and its own share where it won.
            for start in range(0, P, BLOCK_Q):  # a loop, not unrolled: compiles in seconds
                rows = start + tl.arange(0, BLOCK_Q)
                ok = (rows < P)[:, None] & ch_ok[None, :]
                g = tl.load(g_ptr + n * sgn + ((rows // W) * sgh + (rows % W) * sgw)[:, None]
                            + ch[None, :] * sgc, mask=ok, other=0.0).to(tl.float32)
                won = tl.load(win_ptr + (n * P + rows)[:, None] * C + ch[None, :], mask=ok, other=-1)
                tl.store(scratch + rows[:, None] * C + ch[None, :], tl.where(won == 0, g + g, g),
                         mask=ok)
            tl.debug_barrier()
            # 2. The other neighbours' shares, added where they won.
            for start in range(0, P, BLOCK_Q):  # a loop, not unrolled: compiles in seconds
                rows = start + tl.arange(0, BLOCK_Q)
                row_ok = rows < P
                ok = row_ok[:, None] & ch_ok[None, :]
                won = tl.load(win_ptr + (n * P + rows)[:, None] * C + ch[None, :], mask=ok, other=-1)
                target = tl.zeros((BLOCK_Q, BLOCK_C), tl.int32)
                for j in tl.static_range(1, K):
                    nb = tl.load(idx_ptr + (n * P + rows) * K + j, mask=row_ok, other=0)
                    target = tl.where(won == j, nb[:, None], target)
                share = ok & (won > 0)
                g = tl.load(g_ptr + n * sgn + ((rows // W) * sgh + (rows % W) * sgw)[:, None]
                            + ch[None, :] * sgc, mask=share, other=0.0).to(tl.float32)
                tl.atomic_add(scratch + target * C + ch[None, :], g, mask=share, sem="relaxed",
                              scope="cta")
            tl.debug_barrier()
            # 3. The frame's gradient, in the input's layout.
            for start in range(0, P, BLOCK_Q):  # a loop, not unrolled: compiles in seconds
                rows = start + tl.arange(0, BLOCK_Q)
                ok = (rows < P)[:, None] & ch_ok[None, :]
                total = tl.load(scratch + rows[:, None] * C + ch[None, :], mask=ok, other=0.0)
                tl.store(dx_ptr + n * sdn + ((rows // W) * sdh + (rows % W) * sdw)[:, None]
                         + ch[None, :] * sdc, total.to(dx_ptr.dtype.element_ty), mask=ok)
            tl.debug_barrier()  # the scratch is the next frame's
            frame += PROGRAMS


def _channels_last_empty(x: Tensor) -> Tensor:
    n, c, h, w = x.shape
    return torch.empty_strided((n, c, h, w), (h * w * c, 1, w * c, c), dtype=x.dtype,
                               device=x.device)


def _empty_like_strides(like: Tensor, stride: list[int]) -> Tensor:
    """A tensor of ``like``'s shape with ``stride`` where those strides are dense (the input's
    gradient is written in the input's layout: usually fcc's channel-major memory), else
    channels-last."""
    order = sorted(range(4), key=lambda d: stride[d])
    expected, dense = 1, True
    for d in order:
        dense &= stride[d] == expected
        expected *= like.shape[d]
    if not dense:
        return _channels_last_empty(like)
    return torch.empty_strided(like.shape, stride, dtype=like.dtype, device=like.device)


def _forward(x: Tensor, k: int, save: bool) -> tuple[Tensor, Tensor, Tensor]:
    n, c, h, w = x.shape
    p = h * w
    y = _channels_last_empty(x)
    idx = torch.empty((n, p, k) if save else (0,), dtype=torch.int32, device=x.device)
    win = torch.empty((n, p, c) if save else (0,), dtype=torch.int8, device=x.device)
    # Norms as F.normalize takes them under autocast, which runs norms in float32: summed and
    # kept in float32, clamped at 1e-12 (one pass).
    norm = torch.linalg.vector_norm(x, dim=1, dtype=torch.float32).clamp_min_(1e-12)
    _forward_kernel[(n,)](
        x, norm.contiguous(), y, idx, win, *x.stride(), *y.stride(), c, w,
        P=p, K=k, BLOCK_Q=FORWARD_BLOCK, BLOCK_P=_block(p), BLOCK_C=_block(c), SAVE=save,
        IEEE=x.dtype == torch.float32, num_warps=FORWARD_WARPS)
    return y, idx, win


def _block(size: int) -> int:
    """A power of two >= size, and >= 16: the smallest matrix side tensor cores take."""
    return max(16, triton.next_power_of_2(size))


def _backward(grad: Tensor, idx: Tensor, win: Tensor, x_stride: list[int]) -> Tensor:
    n, c, h, w = grad.shape
    p = h * w
    dx = _empty_like_strides(grad, x_stride)
    if grad.is_cuda:
        sms = torch.cuda.get_device_properties(grad.device).multi_processor_count
        programs = min(n, sms * BACKWARD_PROGRAMS_PER_SM)
    else:  # the interpreter: a few programs, each with several frames
        programs = min(n, 2)
    scratch = torch.empty((programs, p, c), dtype=torch.float32, device=grad.device)
    _backward_kernel[(programs,)](
        grad, idx, win, dx, scratch, *grad.stride(), *dx.stride(), n, c, w, programs, P=p,
        K=idx.shape[-1], BLOCK_Q=BACKWARD_BLOCK, BLOCK_C=_block(c),
        num_warps=BACKWARD_WARPS)
    return dx


@torch.library.custom_op("avbench::max_relative", mutates_args=())
def _max_relative(x: Tensor, k: int, save: bool) -> tuple[Tensor, Tensor, Tensor]:
    return _forward(x, k, save)


@_max_relative.register_fake
def _(x: Tensor, k: int, save: bool) -> tuple[Tensor, Tensor, Tensor]:
    n, c, h, w = x.shape
    idx = x.new_empty((n, h * w, k) if save else (0,), dtype=torch.int32)
    win = x.new_empty((n, h * w, c) if save else (0,), dtype=torch.int8)
    return _channels_last_empty(x), idx, win


@torch.library.custom_op("avbench::max_relative_backward", mutates_args=())
def _max_relative_backward(grad: Tensor, idx: Tensor, win: Tensor, x_stride: list[int]) -> Tensor:
    return _backward(grad, idx, win, x_stride)


@_max_relative_backward.register_fake
def _(grad: Tensor, idx: Tensor, win: Tensor, x_stride: list[int]) -> Tensor:
    return _empty_like_strides(grad, x_stride)


def _setup_context(ctx, inputs, output) -> None:
    x, _, save = inputs
    _, idx, win = output
    ctx.save = save
    ctx.x_stride = list(x.stride())
    ctx.save_for_backward(idx, win)


def _backward_rule(ctx, grad, _grad_idx, _grad_win):
    if not ctx.save:
        raise RuntimeError("max_relative: the forward pass ran without saving its neighbours "
                           "(gradients were off); run it with gradients enabled")
    idx, win = ctx.saved_tensors
    return _max_relative_backward(grad, idx, win, ctx.x_stride), None, None


_max_relative.register_autograd(_backward_rule, setup_context=_setup_context)
