"""The fused ccc kernels compute what F5C's plain ccc computes: outputs, input gradients and their
layouts, on a GPU and, on any machine with Triton installed, in Triton's CPU interpreter.

The interpreter runs in a subprocess (``TRITON_INTERPRET`` is read when the kernels are defined):
``python tests/ops/test_max_relative.py`` runs the same checks the GPU test runs, on the CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

# (N, C, H, W, k, layout): F5C's own maps; odd sizes (masks: P = 15 and C = 24 are not powers of
# two); k = 1 (only the position itself); channels-last input as well as fcc's channel-major one.
CASES = [(2, 128, 16, 16, 4, "channel-major"), (3, 24, 5, 3, 3, "channel-major"),
         (3, 8, 4, 4, 4, "channels-last"), (2, 16, 4, 4, 1, "channels-last")]


def _maps(n, c, h, w, layout, device, dtype=torch.float32) -> torch.Tensor:
    if layout == "channel-major":  # fcc's output: (C, H, N, W) memory
        return torch.randn(c, h, n, w, device=device, dtype=dtype).permute(2, 0, 1, 3)
    return torch.randn(n, c, h, w, device=device, dtype=dtype).contiguous(
        memory_format=torch.channels_last)


def _plain(x: torch.Tensor, k: int) -> torch.Tensor:
    """F5C's ccc module on its plain path (the fused op switched off)."""
    import avbench_methods.f5c as f5c

    fused, f5c.FUSED_CCC = f5c.FUSED_CCC, False
    try:
        return f5c.MaxRelativeCorrespondence(k)(x)
    finally:
        f5c.FUSED_CCC = fused


def check_fused_equals_plain(device: str) -> None:
    """Float32 maps: the fused op's output and input gradient equal the plain path's to float
    rounding; the output is channels-last and the gradient has the input's strides."""
    from avbench.ops import max_relative

    torch.manual_seed(0)
    for n, c, h, w, k, layout in CASES:
        x = _maps(n, c, h, w, layout, device).requires_grad_(True)
        x_plain = x.detach().clone().requires_grad_(True)
        assert max_relative.supports(x, k)
        fused = max_relative.max_relative(x, k)
        plain = _plain(x_plain, k)
        torch.testing.assert_close(fused, plain, rtol=0, atol=1e-6)
        assert fused.stride() == plain.stride() == (h * w * c, 1, w * c, c)
        grad = torch.randn_like(plain)
        fused.backward(grad)
        plain.backward(grad)
        torch.testing.assert_close(x.grad, x_plain.grad, rtol=1e-6, atol=1e-5)
        assert x.grad.stride() == x.stride()
        with torch.no_grad():  # nothing saved for backward, the same output
            torch.testing.assert_close(max_relative.max_relative(x, k), plain, rtol=0, atol=1e-6)


def check_ties_and_nan(device: str) -> None:
    """Tied similarities go to the lowest positions (a known answer: the plain path's choice
    among ties is arbitrary); a NaN in the maps reaches the output, as in the plain path, so a
    diverged model stays visible."""
    from avbench.ops import max_relative

    x = torch.zeros(2, 8, 4, 4, device=device)
    x[1, :, 2, 3] = 1.0  # position 11 of frame 1; every other vector is zero: all similarities 0
    expected = torch.zeros_like(x)
    expected[1, :, 2, 3] = 2.0  # 1 + ReLU(its own 1); positions 0, 1, 2 are everyone's others
    torch.testing.assert_close(max_relative.max_relative(x, 4), expected, rtol=0, atol=0)
    x = torch.randn(2, 8, 4, 4, device=device)
    x[0, 3, 1, 1] = float("nan")
    y = max_relative.max_relative(x, 4)
    assert torch.isnan(y[0, 3, 1, 1]) and torch.isfinite(y[1]).all()


def plain_ranking(x: torch.Tensor, k: int) -> torch.Tensor:
    """The neighbours the plain path ranks on a GPU under autocast, its rounding written out:
    norms in float32 (autocast's), the vectors divided by them in float32 and rounded to the
    maps' dtype (a matmul's inputs), dot products summed in float32 and rounded (its output),
    ties to the lowest position."""
    import avbench_methods.f5c as f5c

    pts = f5c._positions(x)
    norm = torch.linalg.vector_norm(pts.float(), dim=-1, keepdim=True).clamp_min(1e-12)
    unit = (pts.float() / norm).to(x.dtype).float()
    sim = (unit @ unit.transpose(1, 2)).to(x.dtype).float()
    sim.diagonal(dim1=1, dim2=2).fill_(float("inf"))
    return f5c.top_k_by_maxima(sim, k)


def check_half_precision_ranking(device: str, dtypes) -> None:
    """Half-precision maps: the kernel ranks the similarities the plain path ranks, rounded to
    the maps' dtype (on F5C-sized random maps, 0.6 % of FP16 positions choose other neighbours
    by exact similarities).  Only the order of the dot products' sums differs, which may flip
    a rounding: at most 1 position in 1000."""
    from avbench.ops import max_relative

    torch.manual_seed(0)
    for dtype in dtypes:
        x = _maps(8, 128, 16, 16, "channel-major", device, dtype)
        _, idx, _ = max_relative._forward(x, 4, save=True)
        same = (idx.long() == plain_ranking(x, 4)).all(dim=-1).float().mean().item()
        assert same >= 0.999, (dtype, same)


def check_all(device: str) -> None:
    check_fused_equals_plain(device)
    check_ties_and_nan(device)
    # Triton's interpreter mis-converts bfloat16 (numpy has none): BF16 is checked on GPUs.
    check_half_precision_ranking(device, [torch.float16] if device == "cpu"
                                 else [torch.float16, torch.bfloat16])


def test_the_fused_kernels_equal_the_plain_path_in_triton_s_interpreter():
    """The kernels' arithmetic, run by Triton's CPU interpreter (so CI checks it without a GPU).
    ``.ci/run`` installs Triton and sets ``AVBENCH_REQUIRE_TRITON=1``: there a missing Triton
    fails this test instead of skipping it."""
    try:
        import triton  # noqa: F401
    except ImportError:
        if os.environ.get("AVBENCH_REQUIRE_TRITON") == "1":
            pytest.fail("Triton is not installed (pip install triton==3.6.0)")
        pytest.skip("Triton is not installed: its interpreter runs these checks")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    run = subprocess.run([sys.executable, str(Path(__file__))], capture_output=True, text=True,
                         env=env, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "fused ccc equals the plain path on cpu" in run.stdout


def test_cpu_maps_take_the_plain_path():
    """Without the interpreter a CPU tensor is never given to the kernels (the method's plain
    path computes ccc there); nor are float64 maps, k beyond the positions or oversized maps."""
    from avbench.ops import max_relative

    if max_relative.INTERPRET:
        pytest.skip("under Triton's interpreter the kernels take CPU tensors")
    assert not max_relative.supports(torch.zeros(2, 8, 4, 4), 4)
    if torch.cuda.is_available() and max_relative.triton is not None:
        cuda = torch.zeros(2, 8, 4, 4, device="cuda")
        assert max_relative.supports(cuda, 4)
        assert not max_relative.supports(cuda.double(), 4)
        assert not max_relative.supports(cuda, 17)
        assert not max_relative.supports(torch.zeros(1, 8, 32, 32, device="cuda"), 4)


@pytest.mark.gpu
def test_the_fused_kernels_equal_the_plain_path_on_the_gpu():
    if not torch.cuda.is_available():
        pytest.fail("the gpu marker needs a CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    check_all("cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_in_half_precision_the_fused_op_equals_the_plain_path_under_autocast(dtype):
    """The method's two paths under autocast, as training runs them: the same neighbours and
    outputs but where a near-tie's rounding flips (at most 1 position in 1000)."""
    from avbench.ops import max_relative

    if not torch.cuda.is_available():
        pytest.fail("the gpu marker needs a CUDA device")
    torch.manual_seed(0)
    x = _maps(64, 128, 16, 16, "channel-major", "cuda", dtype)
    with torch.autocast("cuda", dtype=dtype):
        fused = max_relative.max_relative(x, 4)
        plain = _plain(x, 4)
    same = (fused == plain).all(dim=1)  # per position, over channels
    assert same.float().mean() >= 0.999, same.float().mean()


if __name__ == "__main__":  # the interpreter run of the test above
    check_all("cuda" if torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1"
              else "cpu")
    print("fused ccc equals the plain path on", "cpu" if os.environ.get("TRITON_INTERPRET") == "1"
          else "cuda")
