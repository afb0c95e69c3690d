"""What a cell's saved training state means to ``execute``: resumed after an interruption,
discarded by ``force``, and never left to fool a later run."""

from __future__ import annotations

import pytest
import torch

from avbench.registry import load_registry
from avbench.results import ResultsStore
from avbench.runner import RunRequest, execute, plan_run

EPOCHS = 3


def _plan(tiny_synthetic):
    return plan_run(load_registry(), RunRequest(
        method="nvfair_ldmk_tcnn", extractor="dataset", protocol="overall", device="cpu",
        profile="smoke", data=f"synthetic:{tiny_synthetic}", training_overrides={"epochs": EPOCHS}))


def test_force_retrains_a_cell_whose_finished_run_left_its_saved_state(tiny_synthetic, tmp_path,
                                                                      monkeypatch):
    """A kill after the cell's rows were committed but before its last.ckpt was deleted leaves
    the finished training's state; --force must train from epoch 1, not "resume" after the end."""
    plan, db = _plan(tiny_synthetic), tmp_path / "results.sqlite"
    store = ResultsStore(db)
    commit = store.add_all

    def commit_then_killed(rows):
        commit(rows)
        raise KeyboardInterrupt  # the moment between the commit and the clean-up

    monkeypatch.setattr(store, "add_all", commit_then_killed)
    with pytest.raises(KeyboardInterrupt):
        execute(plan, store=store, cache_dir=tmp_path / "cache")
    [left] = tmp_path.rglob("last.ckpt")
    assert torch.load(left, weights_only=True)["epoch"] == EPOCHS  # the finished run's state
    first = ResultsStore(db).rows()
    assert len(first) == 1

    # Without --force the stored row is reused as it is: the leftover state is not even read.
    import avbench.training

    def must_not_train(*args, **kwargs):
        raise AssertionError("a stored cell was trained again")

    with monkeypatch.context() as patched:
        patched.setattr(avbench.training, "train_cell", must_not_train)
        [reused] = execute(plan, store=ResultsStore(db), cache_dir=tmp_path / "cache")
    assert reused.reused and reused.rows == first

    messages: list[str] = []
    [outcome] = execute(plan, store=ResultsStore(db), force=True, cache_dir=tmp_path / "cache",
                        progress=lambda stage, done, total, line=None: messages.append(stage))
    [row] = outcome.rows
    assert not outcome.reused and len(ResultsStore(db)) == 2
    assert not any("resumed" in m for m in messages), messages
    assert "train all: saved training state discarded; training from epoch 1" in messages
    assert any(m.startswith("train all: epoch 1 loss") for m in messages)
    assert row.metrics["resumed_after_epoch"] == 0
    assert [h["epoch"] for h in row.metrics["history"]] == [1, 2, 3]
    assert "resumes" not in row.environment  # trained in one go
    assert row.metrics["mean_target_auc"] == first[0].metrics["mean_target_auc"]  # same seed, CPU
    assert not left.exists()  # stored: nothing left to resume

