"""Run profiles carry the paper's Table I."""

import pytest

from avbench.config import PROFILES, get_profile
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
    with pytest.raises(UsageError, match="unknown profile 'fast'; choose one of: paper, quick, smoke"):
        get_profile("fast")
