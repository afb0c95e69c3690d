"""Run profiles carry the paper's Table I."""

import pytest

from avbench.config import PROFILES, convergence_note, get_profile, resolve_profile
from avbench.errors import UsageError


def test_paper_profile_is_table_one():
    p = get_profile("paper")
    assert (p.clip_length, p.identities_per_batch, p.videos_per_identity, p.batch_size) == (64, 16, 8, 128)
    assert (p.epochs, p.steps_per_epoch, p.warmup_epochs) == (150, 200, 5)
    assert (p.lr, p.weight_decay, p.betas, p.grad_clip) == (1e-3, 1e-4, (0.9, 0.999), 1.0)
    assert p.precision == "16-mixed"


def test_quick_profile_keeps_positives_in_every_batch():
    q = PROFILES["quick"]
    assert q.videos_per_identity >= 2 and q.batch_size < get_profile("paper").batch_size


def test_unknown_profile():
    with pytest.raises(UsageError, match="unknown profile 'fast'; choose one of: auto, paper, standard, quick, smoke"):
        get_profile("fast")


def test_training_overrides_are_checked_against_the_schedule():
    q = PROFILES["quick"]
    new = q.with_overrides({"epochs": 3, "lr": 1, "betas": [0.8, 0.9]})
    assert (new.epochs, new.lr, new.betas) == (3, 1.0, (0.8, 0.9)) and isinstance(new.lr, float)
    assert new.steps_per_epoch == q.steps_per_epoch  # the rest stays the profile's
    with pytest.raises(UsageError, match=r"--train epoch: the training schedule has no such option; "
                                         r"its options: clip_length, .*epochs"):
        q.with_overrides({"epoch": 3})
    with pytest.raises(UsageError, match=r"--train epochs='ten': expected int like 10"):
        q.with_overrides({"epochs": "ten"})
    with pytest.raises(UsageError, match=r"--train epochs=2.5: expected int"):
        q.with_overrides({"epochs": 2.5})
    with pytest.raises(UsageError, match=r"--train steps_per_epoch=0: must be at least 1"):
        q.with_overrides({"steps_per_epoch": 0})


def test_standard_profile_is_the_paper_batch_with_a_short_validated_schedule():
    s, p = get_profile("standard"), get_profile("paper")
    assert (s.clip_length, s.identities_per_batch, s.videos_per_identity) == (64, 16, 8)
    assert (s.lr, s.weight_decay, s.betas, s.grad_clip) == (p.lr, p.weight_decay, p.betas, p.grad_clip)
    assert s.val_every == 1  # the best checkpoint is chosen every epoch
    assert s.epochs * s.steps_per_epoch * s.batch_size < p.epochs * p.steps_per_epoch * p.batch_size / 20


def test_auto_is_standard_on_a_gpu_and_quick_on_a_cpu():
    assert resolve_profile("auto", "cuda") == "standard"
    assert resolve_profile("auto", "cpu") == "quick"
    assert resolve_profile("paper", "cpu") == "paper"
    with pytest.raises(UsageError, match="unknown profile 'huge'"):
        resolve_profile("huge", "cuda")


def test_only_short_schedules_carry_the_convergence_note():
    for name in ("quick", "smoke"):
        note = convergence_note(name)
        assert f"the {name!r} profile is too short to converge" in note
        assert "--device cuda --profile standard" in note
    assert convergence_note("standard") is None and convergence_note("paper") is None
