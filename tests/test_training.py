"""The training step runs under the run's precision (Fabric does not do it for ``loss``)."""

from __future__ import annotations

import torch
from lightning_fabric import Fabric

from avbench.bench.model import random_input
from avbench.bench.suite import build_for_bench
from avbench.registry import load_registry
from avbench.training import lr_factor, train_step


def test_mixed_precision_reaches_the_marked_loss_method():
    method = build_for_bench(load_registry(), "f5c_featdiff", 478)
    seen = []
    method.backbone.register_forward_hook(lambda mod, args, out: seen.append(out.dtype))
    fabric = Fabric(accelerator="cpu", devices=1, precision="bf16-mixed")
    model, optimizer = fabric.setup(method, torch.optim.AdamW(method.parameters()))
    model.mark_forward_method("loss")
    clips, drivers, targets = random_input(method, 16, 4, "cpu")
    before = [p.detach().clone() for p in method.parameters()]
    loss = train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip=1.0)
    assert seen == [torch.bfloat16] and torch.isfinite(loss)
    assert any(not torch.equal(b, p) for b, p in zip(before, method.parameters()))  # a real step


def test_lr_schedule_warms_up_then_decays():
    assert lr_factor(0, 10, 100) == 0.1 and lr_factor(9, 10, 100) == 1.0
    assert lr_factor(10, 10, 100) == 1.0 and abs(lr_factor(55, 10, 100) - 0.5) < 1e-12
    assert lr_factor(100, 10, 100) == 0.0
