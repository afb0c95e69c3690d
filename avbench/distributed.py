"""Data-parallel training that gives the result of one process on the same global batch.

Lightning Fabric's DDP strategy runs one process per device and averages gradients.
Two things in avbench's training would otherwise change with the number of processes:

* The supervised contrastive loss contrasts every clip with every other clip of the
  batch.  :func:`gather_batch` gives each process the whole batch's embeddings (its own
  rows keep their gradient, the others' arrive as constants) so every process computes
  the one global loss; each process's backward then yields the gradient through its
  own rows, and the *sum* over processes is the single-process gradient.  DDP averages,
  so :func:`data_parallel_loss` scales the gradient (not the reported value) by the
  world size.
* BatchNorm statistics: :func:`sync_batchnorm` makes them global-batch statistics.
  On GPUs that is :class:`torch.nn.SyncBatchNorm`; torch has no CPU implementation,
  so CPU process groups (gloo: tests, CI) use :class:`SumSyncBatchNorm`: the same
  statistics through autograd-aware all-reduces of per-channel sums.

Dropout masks are drawn per process, so only a model without dropout reproduces a
single process to float precision; with dropout the runs are statistically alike.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _world() -> int:
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_batch(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Each tensor over the global batch, rows in rank order, then the world size.

    ``gather_batch(embeddings, labels)`` gives ``(all_embeddings, all_labels, world)``.
    This process's rows keep their gradient; the other processes' rows are constants.
    Outside distributed training this returns the inputs and 1.  Every process must hold
    the same number of rows (the loader splits batches evenly).
    """
    world = _world()
    if world == 1:
        return (*tensors, 1)
    dist = torch.distributed
    gathered = []
    for tensor in tensors:
        parts = [torch.empty_like(tensor) for _ in range(world)]
        dist.all_gather(parts, tensor.detach().contiguous())
        parts[dist.get_rank()] = tensor
        gathered.append(torch.cat(parts))
    return (*gathered, world)


def data_parallel_loss(loss: Tensor, world: int) -> Tensor:
    """``loss`` with its gradient scaled by ``world``, its value unchanged.

    For a loss every process computes over the gathered global batch: DDP's gradient
    average then equals the single-process gradient.
    """
    if world == 1:
        return loss
    return loss * world - loss.detach() * (world - 1)


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; the gradient of every input is the sum of the outputs' gradients."""

    @staticmethod
    def forward(ctx, tensor: Tensor) -> Tensor:
        total = tensor.clone()
        torch.distributed.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        total = grad.clone()
        torch.distributed.all_reduce(total)
        return total


class SumSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm over the global batch for any device: per-channel sums, squared sums and
    counts are all-reduced (with gradient) and the batch is normalised by them.  In
    eval mode, or outside a process group, it is plain BatchNorm."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or _world() == 1:
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        channels = x.shape[1]
        shape = (1, channels) + (1,) * (x.dim() - 2)
        xf = x if x.dtype == torch.float64 else x.float()
        count = torch.full((1,), x.numel() / channels, dtype=xf.dtype, device=x.device)
        totals = _AllReduceSum.apply(torch.cat([xf.sum(dims), count]))
        n = totals[-1]
        mean = totals[:channels] / n
        centred = xf - mean.view(shape)  # two passes: E[x^2] - E[x]^2 loses digits in float32
        var = _AllReduceSum.apply((centred * centred).sum(dims)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), m)
                self.running_var.lerp_((var.detach() * n / (n - 1)).to(self.running_var.dtype), m)
        y = centred * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def sync_batchnorm(module: nn.Module, device_type: str) -> nn.Module:
    """Every BatchNorm layer of ``module`` normalised over the global batch (in place
    where ``module`` is not itself a BatchNorm; the returned module is the one to use)."""
    if device_type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, SumSyncBatchNorm):
        synced = SumSyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                  module.track_running_stats, **_placement(module))
        synced.load_state_dict(module.state_dict())
        synced.train(module.training)
        return synced
    for name, child in module.named_children():
        setattr(module, name, sync_batchnorm(child, device_type))
    return module


def _placement(module: nn.Module) -> dict:
    tensor = next(module.parameters(), None)
    if tensor is None:
        tensor = next(module.buffers(), None)
    return {"device": tensor.device, "dtype": tensor.dtype} if tensor is not None else {}
