"""avbench evaluate: a saved model scored without training, as evaluation-only rows."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from avbench.errors import CheckpointError, UsageError
from avbench.evaluate import EvaluationRequest, checkpoint_of_row, evaluate, plan_evaluation
from avbench.registry import load_registry
from avbench.results import ResultsStore
from avbench.runner import RunRequest, execute, plan_run
from avbench.scores import read_scores


@pytest.fixture(scope="module")
def trained(tiny_synthetic, tmp_path_factory):
    """One smoke-trained overall model and its stored row."""
    folder = tmp_path_factory.mktemp("trained")
    reg = load_registry()
    plan = plan_run(reg, RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                    profile="smoke", data=f"synthetic:{tiny_synthetic}"))
    store = ResultsStore(folder / "results.sqlite")
    [row] = execute(plan, store=store, cache_dir=folder / "cache")[0].rows
    return reg, store, row, folder


def test_the_same_model_on_the_same_data_gives_the_training_runs_scores(trained, tiny_synthetic):
    reg, store, row, folder = trained
    request = EvaluationRequest(checkpoint=checkpoint_of_row(store, row.id),
                                data=f"synthetic:{tiny_synthetic}", device="cpu")
    plan, meta = plan_evaluation(reg, request)
    assert [c.name for c in plan.cells] == ["all"] and plan.protocol.name == "overall"
    assert plan.training.clip_length == meta["clip_length"] == 8
    [evaluated] = evaluate(reg, plan, request.checkpoint, meta, store, request, cache_dir=folder / "cache")
    assert evaluated.main_score == row.main_score  # one scoring path: the same numbers
    ours = read_scores(store.score_file(evaluated.score_file, evaluated.run_key, evaluated.score_sha256))
    theirs = read_scores(store.score_file(row.score_file, row.run_key, row.score_sha256))
    assert ours["score"].tolist() == theirs["score"].tolist()
    assert evaluated.trained_on == {"run_key": row.run_key, "dataset": row.dataset,
                                    "dataset_fingerprint": row.dataset_fingerprint,
                                    "protocol": "overall", "cell": "all",
                                    "checkpoint_sha256": meta["weights_sha256"],
                                    "training_key": row.metrics["training_key"]}
    assert row.trained_on is None and evaluated.run_key != row.run_key
    assert "evaluate --checkpoint" in evaluated.environment["command"]
    # Evaluating the same model on the same data again reuses the stored row.
    n = len(store)
    [again] = evaluate(reg, plan, request.checkpoint, meta, store, request, cache_dir=folder / "cache")
    assert again.id == evaluated.id and len(store) == n


def test_another_protocol_scores_each_of_its_test_groups(trained, tiny_synthetic):
    reg, store, row, folder = trained
    request = EvaluationRequest(checkpoint=checkpoint_of_row(store, row.id), protocol="per_gen",
                                data=f"synthetic:{tiny_synthetic}", device="cpu")
    plan, meta = plan_evaluation(reg, request)
    rows = evaluate(reg, plan, request.checkpoint, meta, store, request, cache_dir=folder / "cache")
    assert [r.test_group for r in rows] == ["all", "facevid2vid", "tps", "lia"]
    assert all(r.protocol == "per_gen" and r.trained_on["protocol"] == "overall" for r in rows)
    assert rows[0].main_score == row.main_score  # per_gen's "all" group is overall's test set


def test_a_protocol_with_several_cells_needs_one_chosen(trained, tiny_synthetic):
    reg, store, row, _ = trained
    request = EvaluationRequest(checkpoint=checkpoint_of_row(store, row.id), protocol="cross_gen",
                                data=f"synthetic:{tiny_synthetic}", device="cpu")
    with pytest.raises(UsageError, match="protocol 'cross_gen' has the cells train_facevid2vid, "
                                         "train_tps, train_lia on synthetic; choose the one to "
                                         "evaluate with --cell"):
        plan_evaluation(reg, request)


def test_rows_without_a_safe_checkpoint_are_refused_with_the_fix(trained):
    _, store, row, folder = trained
    with pytest.raises(UsageError, match="has no row with this id"):
        checkpoint_of_row(store, 9999)
    import dataclasses

    old = store.add(dataclasses.replace(row, id=None, checkpoint="runs/x/best.ckpt"))
    with pytest.raises(CheckpointError, match="format of earlier avbench versions.*--force"):
        checkpoint_of_row(store, old.id)
    outside = store.add(dataclasses.replace(row, id=None, checkpoint=str(folder.parent / "elsewhere.safetensors")))
    with pytest.raises(CheckpointError, match="lies outside the database's folder"):
        checkpoint_of_row(store, outside.id)


def test_evaluate_from_the_command_line(trained, tiny_synthetic, run_cli):
    _, store, row, folder = trained
    r = run_cli("evaluate", "--run", str(row.id), "--db", str(store.path), "--device", "cpu",
                "--data", f"synthetic:{tiny_synthetic}", "--protocol", "per_gen",
                env={"AVBENCH_CACHE_DIR": str(folder / "cache")})
    assert r.returncode == 0, r.stderr
    assert "evaluation only (no training)" in r.stdout and "trained on synthetic / overall / all" in r.stdout
    assert f"results: {store.path}" in r.stdout
    both = run_cli("evaluate", "--run", "1", "--checkpoint", "x.safetensors")
    assert both.returncode == 2 and "give exactly one of --run ID" in both.stderr
    missing = run_cli("evaluate", "--checkpoint", str(folder / "nothing.safetensors"), "--device", "cpu")
    assert missing.returncode != 0 and "nothing" in missing.stderr


def test_the_checkpoint_records_what_evaluate_needs(trained):
    _, store, row, _ = trained
    sidecar = json.loads(checkpoint_of_row(store, row.id).with_suffix(".json").read_text())
    assert {"method", "config", "protocol", "cell", "clip_length", "seed", "dataset_fingerprint",
            "threshold", "run_keys", "training", "weights_sha256"} <= set(sidecar)


def test_a_row_whose_model_was_not_shipped_says_how_to_train_it_again(trained, tmp_path):
    _, store, row, _ = trained
    shipped = ResultsStore(tmp_path / "results.sqlite")  # a shared folder with the rows, not the models
    copy = shipped.add(dataclasses.replace(row, id=None))
    with pytest.raises(CheckpointError) as err:
        checkpoint_of_row(shipped, copy.id)
    message = str(err.value)
    assert f"--run {copy.id} in {shipped.path}: its model {row.checkpoint} is not in this results folder" in message
    assert f"`{row.environment['command']} --cell all --force`" in message


def test_a_trained_row_records_how_long_its_evaluation_took(trained):
    from avbench.runner import cell_timing_line

    _, _, row, _ = trained
    env = row.environment
    assert env["evaluation_s"] >= 0 and env["test_videos"] == row.metrics["data"]["test_videos"] > 0
    line = cell_timing_line("all", 90.0, [{"evaluation_s": 10.0, "test_videos": 552},
                                          {"evaluation_s": 0.0, "test_videos": 100}])
    assert line == ("cell all: trained in 90.0 s; 2 test groups (652 videos) embedded and scored in "
                    "10.0 s (10.0% of the cell)")
    assert cell_timing_line("all", None, [env]).startswith("cell all: model reused; 1 test group (")


def _notice_plan(fingerprint: str, dataset: str = "synthetic", other_dataset: bool = False):
    from types import SimpleNamespace

    return SimpleNamespace(protocol=SimpleNamespace(other_dataset=other_dataset),
                           index=SimpleNamespace(dataset=dataset, fingerprint=fingerprint,
                                                 root=Path("/data/synthetic/nvfair-v3")))


def test_other_build_notice_names_both_fingerprints_and_the_fix():
    from avbench.evaluate import other_build_notice

    meta = {"dataset": "synthetic", "dataset_fingerprint": "b78ca9d2453f10ed1d4d"}
    assert other_build_notice(_notice_plan("b78ca9d2453f10ed1d4d"), meta) == ""
    said = other_build_notice(_notice_plan("4708c7c5aa77a34c67d8"), meta)
    assert "b78ca9d2453f10ed1d4d" in said and "4708c7c5aa77a34c67d8" in said
    assert "PyAV" in said and "/data/synthetic/nvfair-v3" in said
    # A real dataset is never told to delete its files; another dataset is cross-dataset on purpose.
    real = other_build_notice(_notice_plan("0000", dataset="nvfair"), {**meta, "dataset": "nvfair"})
    assert "differ from those the model was trained on" in real and "delete" not in real
    assert other_build_notice(_notice_plan("0000", other_dataset=True), meta) == ""
