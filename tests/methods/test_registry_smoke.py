"""Every registered method builds from its paper defaults, embeds, and trains one step."""

from __future__ import annotations

import pytest
import torch

from avbench.method import Method, check_embeddings
from avbench.registry import load_registry
from avbench.runner import build_method
from avbench.specs import InputKind

FRAME_METHODS = sorted(s.name for s in load_registry().methods if s.input == InputKind.FRAMES)
LANDMARK_METHODS = sorted(s.name for s in load_registry().methods if s.input == InputKind.LANDMARKS)

# Parameters a method leaves without gradient on purpose, by method name (none so far).
UNUSED_BY_DESIGN: dict[str, set[str]] = {}


def test_the_builtin_families_are_registered():
    expected = {f"{family}_{cond}" for family in ("f5c", "resnet18")
                for cond in ("featdiff", "pixeldiff", "rawfeat", "static")}
    assert expected <= set(FRAME_METHODS)
    assert {"nvfair_ldmk_tcnn", "stgcn"} <= set(LANDMARK_METHODS)


def _inputs(kind: InputKind, n_points: int = 478) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    if kind == InputKind.FRAMES:
        return torch.rand(4, 4, 1, 128, 128, generator=g)
    return 64 + 20 * torch.rand(4, 12, n_points, 3, generator=g)  # pixel coordinates


@pytest.mark.parametrize("name", FRAME_METHODS + LANDMARK_METHODS)
def test_method_builds_embeds_and_backpropagates(name):
    spec = load_registry().methods.get(name)
    cls = spec.load()
    assert issubclass(cls, Method) and cls.input_kind == spec.input
    torch.manual_seed(0)
    method = build_method(spec)  # paper defaults and the spec's variant (e.g. its condition)
    clips = _inputs(spec.input)

    method.eval()
    with torch.no_grad():
        emb = method.embed(clips[:2])
    check_embeddings(method, emb, 2)
    assert emb.shape == (2, getattr(method.config, "embedding_dim", emb.shape[1]))

    method.train()
    loss = method.loss(clips, torch.tensor([0, 0, 1, 1]), torch.zeros(4))
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    params = dict(method.named_parameters())
    assert params, f"{name} has no parameters"
    unused = UNUSED_BY_DESIGN.get(name, set())
    no_grad = sorted(n for n, p in params.items()
                     if n not in unused and (p.grad is None or not bool(p.grad.abs().sum() > 0)))
    assert not no_grad, f"{name}: no gradient reaches {no_grad}"
    assert all(torch.isfinite(p.grad).all() for p in params.values() if p.grad is not None)
