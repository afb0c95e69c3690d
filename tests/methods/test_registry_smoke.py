"""Every registered method builds from its paper defaults, embeds, and trains one step."""

from __future__ import annotations

import pytest
import torch

from avbench.method import Method
from avbench.registry import load_registry
from avbench.specs import InputKind
from avbench.testing import check_method

FRAME_METHODS = sorted(s.name for s in load_registry().methods if s.input == InputKind.FRAMES)
LANDMARK_METHODS = sorted(s.name for s in load_registry().methods if s.input == InputKind.LANDMARKS)

# Parameters a method leaves without gradient on purpose, by method name (none so far).
UNUSED_BY_DESIGN: dict[str, set[str]] = {}


def test_the_builtin_families_are_registered():
    expected = {f"{family}_{cond}" for family in ("f5c", "resnet18")
                for cond in ("featdiff", "pixeldiff", "rawfeat", "static")}
    assert expected <= set(FRAME_METHODS)
    assert {"nvfair_ldmk_tcnn", "stgcn"} <= set(LANDMARK_METHODS)


@pytest.mark.parametrize("name", FRAME_METHODS + LANDMARK_METHODS)
def test_every_registered_method_keeps_the_contract(name):
    """The checks a plugin author runs on a new method (avbench.testing.check_method): builds,
    finite unit-norm embeddings of the configured size, deterministic in eval mode, a loss whose
    gradient reaches every parameter, a smoke training, the checkpoint round trip."""
    report = check_method(name, unused_parameters=UNUSED_BY_DESIGN.get(name, set()))
    assert report.passed == ["builds from its config", "embeds to finite unit vectors",
                             "deterministic in eval mode", "loss backpropagates to every parameter",
                             "trains (2 steps)", "survives the checkpoint format"]
    assert report.parameters > 0 and report.embedding_dim > 0


class _Broken(Method):
    """Embeds without normalising: the contract's most common slip."""

    input_kind = InputKind.FRAMES

    def __init__(self, config=None):
        super().__init__(config)
        self.lin = torch.nn.Linear(128 * 128, 8)

    def embed(self, clips):
        return self.lin(clips.mean(1).flatten(1))


def test_a_broken_method_fails_naming_the_check(monkeypatch):
    from avbench.specs import MethodSpec
    from avbench.testing import MethodCheckError

    spec = MethodSpec(name="broken", factory="tests.methods.test_registry_smoke:_Broken",
                      input=InputKind.FRAMES, summary="unnormalised", plugin="tests")
    monkeypatch.setattr(MethodSpec, "load", lambda self: _Broken)
    with pytest.raises(MethodCheckError, match=r"method 'broken' \(plugin 'tests'\) fails 'embeddings': "
                                               r"_Broken.embed must return L2-normalised rows"):
        check_method(spec)
