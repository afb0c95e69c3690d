"""cross_dataset: a model trained on one dataset scored on another, never trained under it."""

from __future__ import annotations

import pytest

from avbench.errors import UsageError
from avbench.evaluate import EvaluationRequest, checkpoint_of_row, evaluate, plan_evaluation
from avbench.registry import load_registry
from avbench.results import ResultsStore
from avbench.runner import RunRequest, execute, plan_run


@pytest.fixture(scope="module")
def avaprintdb_layout(tmp_path_factory):
    """The synthetic renderers written in AVAPrintDB's layout (facevid2vid as LIVE, tps as HUNY,
    lia as GAGA: avbench.synth.dataset.AVAPRINT_GEN)."""
    pytest.importorskip("mediapipe")  # the layout ships landmark files, written with MediaPipe
    from avbench.synth.dataset import SynthConfig, synthesize

    path = tmp_path_factory.mktemp("ava") / "data"
    synthesize(SynthConfig(identities=8, layout="avaprintdb", self_per_generator=2, cross_per_generator=2,
                           min_frames=20, max_frames=24), path, workers=1)
    return path


@pytest.fixture(scope="module")
def trained(tiny_synthetic, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cross-dataset")
    plan = plan_run(load_registry(), RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                                profile="smoke", data=f"synthetic:{tiny_synthetic}"))
    store = ResultsStore(folder / "results.sqlite")
    [row] = execute(plan, store=store, cache_dir=folder / "cache")[0].rows
    return store, row, folder


def test_a_synthetic_model_scored_on_the_avaprintdb_layout_per_generator(trained, avaprintdb_layout):
    store, row, folder = trained
    reg = load_registry()
    request = EvaluationRequest(checkpoint=checkpoint_of_row(store, row.id), protocol="cross_dataset",
                                data=f"avaprintdb:{avaprintdb_layout}", device="cpu")
    plan, meta = plan_evaluation(reg, request)
    rows = evaluate(reg, plan, request.checkpoint, meta, store, request, cache_dir=folder / "cache")
    assert [r.test_group for r in rows] == ["all", "GAGA", "LIVE", "HUNY"]
    for r in rows:
        assert r.protocol == "cross_dataset" and r.dataset == "avaprintdb"
        assert r.trained_on["dataset"] == "synthetic" and r.trained_on["dataset_fingerprint"] == row.dataset_fingerprint
        assert r.dataset_fingerprint != row.dataset_fingerprint
        assert r.train_generators == row.train_generators  # what the model was trained on
        assert 0.0 <= r.main_score <= 1.0


def test_cross_dataset_is_refused_by_run_and_on_the_models_own_data(trained, tiny_synthetic, run_cli):
    store, row, _ = trained
    r = run_cli("run", "--method", "f5c_featdiff", "--protocol", "cross_dataset", "--device", "cpu")
    assert r.returncode == 2
    assert "then `avbench evaluate --run ID --protocol cross_dataset --data OTHER`" in r.stderr
    with pytest.raises(UsageError, match="scores the model on another dataset than it was trained on"):
        plan_evaluation(load_registry(), EvaluationRequest(
            checkpoint=checkpoint_of_row(store, row.id), protocol="cross_dataset",
            data=f"synthetic:{tiny_synthetic}", device="cpu"))
