"""BatchNorm per time step in one call (F5C's ``batchnorm_per_step``): the same outputs,
gradients and running averages as one BatchNorm call per time step, as the reference's loop
makes them, also across data-parallel processes."""

from __future__ import annotations

import copy
import os
import socket
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from avbench_methods.f5c import F5CBackbone, channels_last, step_batch_norm
from torch import nn

from avbench.distributed import sync_batchnorm

STEPS = 3


def close(got, want, what, rtol=1e-10, atol=1e-12):
    torch.testing.assert_close(got, want, rtol=rtol, atol=atol, msg=lambda m: f"{what}: {m}")


def one_call_per_step(norm: nn.Module, x: torch.Tensor, steps: int, step_dim: int):
    """The reference: ``norm`` once on each time step's slice, in time order."""
    out = torch.empty_like(x)
    for t in range(steps):
        index = [slice(None)] * x.ndim
        index[step_dim] = slice(t, None, steps)
        out[tuple(index)] = norm(x[tuple(index)])
    return out


# Frames of 4 sequences x 3 steps, sequence-major, as the backbone gets them (channels-last
# and contiguous), and fcc's (1, C, H*N, W) image of channel-major maps (N = 12 frames).
LAYOUTS = {
    "frames_channels_last": ((12, 5, 6, 7), 0, True),
    "frames_contiguous": ((12, 5, 6, 7), 0, False),
    "fcc_image": ((1, 5, 6 * 12, 7), 2, False),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("momentum, affine", [(0.1, True), (None, True), (0.3, False)])
def test_one_call_equals_one_batchnorm_call_per_time_step(layout, momentum, affine):
    shape, step_dim, last = LAYOUTS[layout]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 3 + 1
    x = channels_last(x) if last else x
    norm = nn.BatchNorm2d(5, momentum=momentum, affine=affine).double().train()
    with torch.no_grad():
        norm.running_mean.normal_(generator=g)
        norm.running_var.uniform_(0.5, 2, generator=g)
        norm.num_batches_tracked.fill_(7)
        if affine:
            norm.weight.normal_(generator=g)
            norm.bias.normal_(generator=g)
    ref = copy.deepcopy(norm)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    weights = torch.randn(shape, generator=g, dtype=torch.float64)
    ya = step_batch_norm(norm, xa, STEPS, step_dim)
    yb = one_call_per_step(ref, xb, STEPS, step_dim)
    (ya * weights).sum().backward()
    (yb * weights).sum().backward()
    close(ya, yb, "output")
    assert ya.stride() == x.stride()  # the input's layout: an in-place ReLU may follow
    close(xa.grad, xb.grad, "input gradient")
    for (name, p), q in zip(norm.named_parameters(), ref.parameters()):
        close(p.grad, q.grad, f"{name} gradient")
    close(norm.running_mean, ref.running_mean, "running_mean")
    close(norm.running_var, ref.running_var, "running_var")
    assert norm.num_batches_tracked.item() == ref.num_batches_tracked.item() == 7 + STEPS


def test_one_time_step_or_evaluation_is_the_batchnorm_itself():
    x = torch.randn(12, 5, 6, 7)
    norm = nn.BatchNorm2d(5).train()
    ref = copy.deepcopy(norm)
    torch.testing.assert_close(step_batch_norm(norm, x, 1, 0), ref(x), rtol=0, atol=0)
    norm.eval(), ref.eval()
    torch.testing.assert_close(step_batch_norm(norm, x, STEPS, 0), ref(x), rtol=0, atol=0)
    assert norm.num_batches_tracked.item() == 1


def test_a_layout_that_cannot_hold_the_steps_is_an_error_naming_it():
    norm = nn.BatchNorm2d(5).train()
    with pytest.raises(ValueError, match=r"step_batch_norm: dimension 0 of a \(10, 5, 6, 7\) input "
                                         r"cannot hold 3 time steps per sequence"):
        step_batch_norm(norm, torch.randn(10, 5, 6, 7), STEPS, 0)
    with pytest.raises(ValueError, match="dimension 1 of a"):
        step_batch_norm(norm, torch.randn(12, 6, 6, 7), STEPS, 1)


def test_bf16_input_gives_a_bf16_output_close_to_float32():
    x = torch.randn(12, 5, 6, 7)
    norm = nn.BatchNorm2d(5).train()
    ref = copy.deepcopy(norm)
    low = step_batch_norm(norm, x.bfloat16(), STEPS, 0)
    assert low.dtype == torch.bfloat16
    torch.testing.assert_close(low.float(), one_call_per_step(ref, x, STEPS, 0),
                               rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(norm.running_var, ref.running_var, rtol=1e-2, atol=1e-3)


# --- data-parallel training -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _backbone() -> nn.Module:
    torch.manual_seed(0)
    return F5CBackbone(widths=(4, 8, 8, 16), fusion=True).double().train()


def _batch():
    g = torch.Generator().manual_seed(1)
    frames = torch.randn(4, STEPS, 1, 64, 64, generator=g, dtype=torch.float64)  # (B, T', ...)
    weights = torch.randn(4, STEPS, 16, 8, 8, generator=g, dtype=torch.float64)
    return frames, weights


def _step(net: nn.Module, frames, weights) -> torch.Tensor:
    """One training forward and backward, the backbone's BatchNorms per time step."""
    out = net(frames.flatten(0, 1), steps=STEPS).unflatten(0, frames.shape[:2])
    (out * weights).sum().backward()
    return out


def _state(net: nn.Module, out) -> dict:
    return {"out": out.detach(),
            "grads": {n: p.grad.clone() for n, p in net.named_parameters()},
            "buffers": {n: b.clone() for n, b in net.named_buffers()},
            "kinds": sorted({type(m).__name__ for m in net.modules()
                             if isinstance(m, nn.modules.batchnorm._BatchNorm)})}


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        frames, weights = _batch()
        local = slice(2 * rank, 2 * rank + 2)  # each process holds 2 of the 4 sequences
        results = {}
        for device_type in ("cpu", "cuda"):  # avbench's SumSyncBatchNorm; torch's SyncBatchNorm
            net = sync_batchnorm(_backbone(), device_type)
            got = _step(net, frames[local], weights[local])
            for p in net.parameters():  # the sum over processes is the single-process gradient
                dist.all_reduce(p.grad)
            results[device_type] = _state(net, got)
        if rank == 0:
            torch.save(results, out)
        dist.barrier()  # neither process tears gloo down while the other still talks to it
    finally:
        dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # as tests/test_distributed.py: skip the teardown that can abort gloo


def test_two_processes_normalise_each_time_step_over_the_global_batch(tmp_path):
    net = _backbone()
    frames, weights = _batch()
    want = _state(net, _step(net, frames, weights))
    out = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(_free_port(), str(out)), nprocs=2)
    results = torch.load(out)
    assert results["cpu"]["kinds"] == ["SumSyncBatchNorm"]
    assert results["cuda"]["kinds"] == ["SyncBatchNorm"]
    for kind, got in results.items():
        close(got["out"], want["out"][:2], f"{kind}: rank 0's output")
        for name, grad in want["grads"].items():
            close(got["grads"][name], grad, f"{kind}: {name} gradient", rtol=1e-9)
        for name, buffer in want["buffers"].items():
            close(got["buffers"][name], buffer, f"{kind}: {name}", rtol=1e-9)
