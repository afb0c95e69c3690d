"""The checks avbench runs on its own methods, for plugin authors to run on theirs.

A method plugin is held to a small contract (:class:`avbench.method.Method`): built from its
paper-default config, ``embed(clips)`` returns one finite, L2-normalised row per clip; its loss is
a finite scalar whose gradient reaches every parameter; in eval mode the same input gives the
same embedding; and its ``state_dict`` survives avbench's checkpoint format.  ``check_method``
runs all of that on random inputs of the method's input kind in a few seconds on a CPU, as
timm's model tests do for timm models::

    # tests/test_my_method.py of a plugin
    from avbench.testing import check_method

    def test_my_method_keeps_the_contract():
        check_method("motion_energy")            # a registered name, or its MethodSpec

Each failed check raises :class:`MethodCheckError` naming the method and the check.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from avbench.method import Method, check_embeddings
from avbench.specs import InputKind, MethodSpec

#: Input sizes of the checks, small enough for seconds on a CPU: 4 clips of 4 frames (1 x 128 x
#: 128 grey) or of 12 landmark frames (the config's ``n_points`` or MediaPipe's 478 points, as
#: pixel coordinates with a depth column).
BATCH, FRAMES, LANDMARK_FRAMES, FRAME_SIZE, LANDMARK_POINTS = 4, 4, 12, 128, 478


class MethodCheckError(AssertionError):
    """A method broke the contract; the message names the method and the check."""


@dataclass
class MethodReport:
    """What :func:`check_method` verified, in order."""

    name: str
    parameters: int = 0
    embedding_dim: int = 0
    passed: list[str] = field(default_factory=list)


def example_inputs(spec: MethodSpec, method: Method | None = None, batch: int = BATCH,
                   frames: int | None = None, seed: int = 0) -> torch.Tensor:
    """Random clips of the method's input kind: ``(B, T, 1, 128, 128)`` frames in [0, 1], or
    ``(B, T, P, 3)`` landmarks around the image centre (P from the config's ``n_points``)."""
    g = torch.Generator().manual_seed(seed)
    if spec.input == InputKind.FRAMES:
        return torch.rand(batch, frames or FRAMES, 1, FRAME_SIZE, FRAME_SIZE, generator=g)
    points = getattr(getattr(method, "config", None), "n_points", None) or LANDMARK_POINTS
    return 64 + 20 * torch.rand(batch, frames or LANDMARK_FRAMES, points, 3, generator=g)


def check_method(spec: MethodSpec | str, registry=None, *, unused_parameters: set[str] = frozenset(),
                 overrides: dict | None = None, steps: int = 2) -> MethodReport:
    """Run every contract check on ``spec`` (a registered name or a MethodSpec); returns what
    passed, raises :class:`MethodCheckError` at the first failure.

    ``unused_parameters``: names of parameters that get no gradient by design (a frozen part).
    ``overrides``: config overrides to check a smaller or other variant.  ``steps``: optimiser
    steps of the smoke training.
    """
    from avbench.checkpoints import load_checkpoint, save_checkpoint
    from avbench.registry import load_registry
    from avbench.runner import build_method

    registry = registry or load_registry()
    if isinstance(spec, str):
        spec = registry.methods.get(spec)
    report = MethodReport(spec.name)

    def fail(check: str, detail: str) -> MethodCheckError:
        return MethodCheckError(f"method {spec.name!r} (plugin {spec.plugin!r}) fails '{check}': {detail}")

    # 1. builds from its paper defaults, as a run builds it
    cls = spec.load()
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise fail("builds", f"its factory {spec.factory!r} is not an avbench.method.Method subclass")
    if cls.input_kind != spec.input:
        raise fail("builds", f"the spec says input {spec.input.value!r}, the class {cls.input_kind.value!r}")
    torch.manual_seed(0)
    try:
        method = build_method(spec, overrides)
    except Exception as exc:  # noqa: BLE001 - any failure of plugin code is the finding
        raise fail("builds", f"{type(exc).__name__}: {exc}") from exc
    report.parameters = sum(p.numel() for p in method.parameters())
    if not report.parameters:
        raise fail("builds", "it has no parameters to train")
    report.passed.append("builds from its config")

    # 2. embeddings: (B, D), finite, unit-norm; D as configured
    clips = example_inputs(spec, method)
    method.eval()
    with torch.no_grad():
        emb = method.embed(clips[:2])
    try:
        check_embeddings(method, emb, 2)
    except ValueError as exc:
        raise fail("embeddings", str(exc)) from None
    want = getattr(method.config, "embedding_dim", None)
    if want is not None and emb.shape[1] != want:
        raise fail("embeddings", f"{emb.shape[1]} dimensions, its config says embedding_dim={want}")
    report.embedding_dim = int(emb.shape[1])
    report.passed.append("embeds to finite unit vectors")

    # 3. deterministic in eval mode, and a clip's embedding does not depend on its batch
    with torch.no_grad():
        again = method.embed(clips[:2])
        alone = method.embed(clips[:1])
    if not torch.allclose(emb, again, atol=1e-6):
        raise fail("determinism", "two eval-mode embeddings of the same clips differ")
    if not torch.allclose(emb[:1], alone, atol=1e-4):
        raise fail("determinism", "a clip's eval-mode embedding changes with the other clips of its batch "
                                  "(batch statistics used in eval mode?)")
    report.passed.append("deterministic in eval mode")

    # 4. loss and gradients
    method.train()
    drivers = torch.tensor([0, 0, 1, 1])[:clips.shape[0]]
    loss = method.loss(clips, drivers, torch.zeros(clips.shape[0]))
    if not (isinstance(loss, torch.Tensor) and loss.ndim == 0 and torch.isfinite(loss)):
        raise fail("loss", f"expected a finite scalar tensor, got {loss!r:.80}")
    loss.backward()
    params = dict(method.named_parameters())
    no_grad = sorted(n for n, p in params.items() if n not in unused_parameters
                     and (p.grad is None or not bool(p.grad.abs().sum() > 0)))
    if no_grad:
        raise fail("gradients", f"no gradient reaches {', '.join(no_grad[:5])}"
                                + (" ..." if len(no_grad) > 5 else "")
                                + " (pass unused_parameters= for parts frozen by design)")
    if not all(torch.isfinite(p.grad).all() for p in params.values() if p.grad is not None):
        raise fail("gradients", "non-finite gradients")
    report.passed.append("loss backpropagates to every parameter")

    # 5. a smoke training: a few AdamW steps change the weights and keep everything finite
    before = copy.deepcopy(method.state_dict())
    optimizer = torch.optim.AdamW(method.parameters(), lr=1e-3)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = method.loss(clips, drivers, torch.zeros(clips.shape[0]))
        loss.backward()
        optimizer.step()
    if not torch.isfinite(loss):
        raise fail("training", f"the loss became {float(loss)} after {steps} steps")
    changed = any(not torch.equal(before[k], v) for k, v in method.state_dict().items())
    if not changed:
        raise fail("training", f"{steps} optimiser steps changed no weight")
    report.passed.append(f"trains ({steps} steps)")

    # 6. the checkpoint format: saved and rebuilt through the registry, the same embeddings
    method.eval()
    with torch.no_grad():
        trained = method.embed(clips[:2])
    with tempfile.TemporaryDirectory() as folder:
        path = save_checkpoint(Path(folder) / "best.safetensors", method, {}, method_name=spec.name)
        try:
            loaded = load_checkpoint(path, registry)
        except Exception as exc:  # noqa: BLE001
            raise fail("checkpoint", f"{type(exc).__name__}: {exc}") from exc
        with torch.no_grad():
            reloaded = loaded.method.embed(clips[:2])
    if not torch.allclose(trained, reloaded, atol=1e-6):
        raise fail("checkpoint", "the reloaded model embeds differently")
    report.passed.append("survives the checkpoint format")
    return report


__all__ = ["MethodCheckError", "MethodReport", "check_method", "example_inputs"]
