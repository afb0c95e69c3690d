"""A tiny end-to-end run of every protocol: train, score, store, reuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from avbench.registry import load_registry
from avbench.results import ResultsStore
from avbench.runner import RunRequest, execute, plan_run
from avbench.scores import read_scores

EXPECTED_ROWS = {"overall": 1, "per_gen": 4, "cross_gen": 9, "clip_length": 16}


@pytest.mark.parametrize("protocol", sorted(EXPECTED_ROWS))
def test_protocol_end_to_end(protocol, tiny_synthetic, tmp_path):
    reg = load_registry()
    plan = plan_run(reg, RunRequest(method="f5c_featdiff", protocol=protocol, device="cpu",
                                    profile="smoke", data=f"synthetic:{tiny_synthetic}"))
    store = ResultsStore(tmp_path / "results.sqlite")
    outcomes = execute(plan, store=store, cache_dir=tmp_path / "cache")
    rows = [r for o in outcomes for r in o.rows]
    assert len(rows) == len(store) == EXPECTED_ROWS[protocol]
    for row in rows:
        assert 0.0 <= row.main_score <= 1.0
        assert row.metrics["mean_target_auc_ci_low"] <= row.main_score <= row.metrics["mean_target_auc_ci_high"]
        assert row.dataset == "synthetic" and row.dataset_fingerprint == plan.index.fingerprint
        assert row.config["method"]["condition"] == "featdiff"
        data = row.metrics["data"]  # what the numbers rest on, counted in the row
        assert data["index_skipped"] == plan.index.skip_counts() and data["videos_unusable"] == 0
        assert data["test_videos"] == len(plan.index.select("test", row.test_generators))
        assert row.metrics["skipped_steps"] == 0  # optimiser steps skipped for non-finite values
        assert not Path(row.score_file).is_absolute()  # inside the store's folder: portable
        scores = read_scores(store.resolve(row.score_file))  # every metric can be recomputed from it
        assert set(scores["a_generator"]) <= set(row.test_generators)
        assert set(scores["target"]) <= set(plan.index.select("test")["target"])
        fairness = row.metrics["per_source"]  # the AUC per source population of the targets
        assert set(fairness["groups"]) <= set(plan.index.select("test")["source"])
        assert sum(g["n_targets"] for g in fairness["groups"].values()) == row.metrics["n_targets"]
    if protocol == "clip_length":
        assert sorted({r.clip_length for r in rows}) == [16, 32, 64, 128]
    # The same request again reuses every stored cell instead of training.
    again = execute(plan, store=store, cache_dir=tmp_path / "cache")
    assert all(o.reused for o in again) and len(store) == EXPECTED_ROWS[protocol]


def test_force_recomputes_and_seed_is_reproducible(tiny_synthetic, tmp_path):
    reg = load_registry()
    plan = plan_run(reg, RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                    profile="smoke", data=f"synthetic:{tiny_synthetic}"))
    store = ResultsStore(tmp_path / "results.sqlite")
    first = execute(plan, store=store, cache_dir=tmp_path / "cache")[0].rows[0]
    second = execute(plan, store=store, force=True, cache_dir=tmp_path / "cache")[0].rows[0]
    assert len(store) == 2
    assert second.run_key == first.run_key
    assert second.metrics["mean_target_auc"] == first.metrics["mean_target_auc"]  # same seed, CPU


@pytest.mark.parametrize(("method", "extractor", "n_points"), [("nvfair_ldmk_tcnn", "dataset", 68),
                                                                ("stgcn", "dataset", 68),
                                                                ("stgcn", "mediapipe", 478)])
def test_landmark_methods_end_to_end(method, extractor, n_points, tiny_synthetic, tmp_path):
    pytest.importorskip("torch_geometric")
    if extractor == "mediapipe":
        pytest.importorskip("mediapipe")
    reg = load_registry()
    plan = plan_run(reg, RunRequest(method=method, protocol="per_gen", device="cpu", profile="smoke",
                                    data=f"synthetic:{tiny_synthetic}", extractor=extractor))
    assert plan.method_overrides == {"extractor": extractor, "n_points": n_points}
    store = ResultsStore(tmp_path / "results.sqlite")
    rows = [r for o in execute(plan, store=store, cache_dir=tmp_path / "cache") for r in o.rows]
    assert len(rows) == 4
    for row in rows:
        assert 0.0 <= row.main_score <= 1.0
        assert row.config["method"]["extractor"] == extractor and row.config["method"]["n_points"] == n_points
        ldmk = row.metrics["landmarks"]
        assert ldmk["extractor"] == extractor and ldmk["fill_policy"] == "interpolate"
        assert ldmk["frames"] > 0 and ldmk["skipped_videos"] == []
        assert 0.0 <= ldmk["failure_rate"] <= 0.1
        assert set(read_scores(store.resolve(row.score_file))["a_generator"]) <= set(row.test_generators)


def test_a_training_that_cannot_go_on_names_method_cell_and_seed(tiny_synthetic, tmp_path, monkeypatch):
    import avbench.training
    from avbench.errors import TrainingError

    def diverged(*args, **kwargs):
        raise TrainingError("20 optimiser steps in a row were skipped in epoch 1 (up to step 20)")

    monkeypatch.setattr(avbench.training, "train_cell", diverged)
    plan = plan_run(load_registry(), RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                                profile="smoke", data=f"synthetic:{tiny_synthetic}", seed=3))
    store = ResultsStore(tmp_path / "results.sqlite")
    with pytest.raises(TrainingError) as caught:
        execute(plan, store=store, cache_dir=tmp_path / "cache")
    assert str(caught.value) == ("method 'f5c_featdiff', protocol overall, cell all, seed 3: 20 optimiser "
                                 "steps in a row were skipped in epoch 1 (up to step 20)")
    assert len(store) == 0  # nothing of the cell was stored


def test_originals_are_kept_the_reference_way_end_to_end(tiny_synthetic, tmp_path):
    from avbench.evaluation import select_videos

    reg = load_registry()
    plan = plan_run(reg, RunRequest(method="f5c_featdiff", protocol="overall_originals", device="cpu",
                                    profile="smoke", data=f"synthetic:{tiny_synthetic}"))
    store = ResultsStore(tmp_path / "results.sqlite")
    rows = [r for o in execute(plan, store=store, cache_dir=tmp_path / "cache") for r in o.rows]
    assert [(r.protocol, r.cell, r.test_group) for r in rows] == [
        ("overall_originals", "all", "all"), ("overall_originals", "all", "all_distinct_driving")]
    index, gens = plan.index, plan.index.generators
    test = select_videos(index, "test", gens, originals=True)
    originals = int(test["is_original"].sum())
    # Each test target's originals are the utterances of its self-reenactments, one each.
    assert originals == 6 * test["target"].nunique() > 0
    for row in rows:
        data = row.metrics["data"]
        assert data["train_videos"] == len(select_videos(index, "train", gens, originals=True))
        assert data["train_videos"] > len(index.select("train", gens))  # trained with the real videos
        assert data["val_videos"] == len(select_videos(index, "val", gens, originals=True))
        assert data["test_videos"] == len(test) and data["test_originals"] == originals
    full, distinct = rows
    assert full.metrics["data"]["positives_dropped_shared_driving_video"] == 0
    assert distinct.metrics["data"]["positives_dropped_shared_driving_video"] == originals
    assert full.metrics["n_positive"] - distinct.metrics["n_positive"] == originals
    assert full.metrics["n_negative"] == distinct.metrics["n_negative"]
    scores = read_scores(store.resolve(full.score_file))
    real = scores[(scores["a_generator"] == "original") | (scores["b_generator"] == "original")]
    assert set(real["label"]) == {0, 1}  # originals are self videos: in positive and negative pairs


def test_a_run_saves_a_model_that_reproduces_its_stored_scores(tiny_synthetic, tmp_path):
    """The row's checkpoint (safetensors + JSON) rebuilds the trained model without the run:
    scoring the test videos with it through the one scoring path gives the stored scores."""
    import json

    import numpy as np

    from avbench.checkpoints import load_checkpoint
    from avbench.embed import score_videos
    from avbench.evaluation import evaluation_pairs, select_videos
    from avbench.runner import clip_source
    from avbench.training import make_fabric

    reg = load_registry()
    plan = plan_run(reg, RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                    profile="smoke", data=f"synthetic:{tiny_synthetic}"))
    store = ResultsStore(tmp_path / "results.sqlite")
    [row] = execute(plan, store=store, cache_dir=tmp_path / "cache")[0].rows
    path = store.resolve(row.checkpoint)
    assert path.name == "best.safetensors" and path.with_suffix(".json").is_file()
    model = load_checkpoint(path, reg)
    meta = model.meta
    assert meta["method"] == "f5c_featdiff"
    assert meta["config"] == json.loads(json.dumps(row.config["method"]))  # tuples are JSON lists
    assert meta["dataset_fingerprint"] == plan.index.fingerprint and meta["cell"] == "all"
    assert meta["run_keys"] == {"all": row.run_key} and meta["seed"] == 0 and meta["clip_length"] == 8
    assert meta["threshold"] is None or np.isfinite(meta["threshold"])
    [cell] = plan.cells
    test = select_videos(plan.index, "test", cell.evals[0].generators, cell.evals[0].originals)
    pairs, _ = evaluation_pairs(test, cell.evals[0])
    source, _ = clip_source(plan, test, tmp_path / "cache")
    scores = score_videos(model.method, source, test, pairs, 8, make_fabric("cpu", "32-true"), 4)
    stored = read_scores(store.resolve(row.score_file))
    np.testing.assert_allclose(scores["score"].to_numpy(), stored["score"].to_numpy(), atol=1e-6)
    assert scores["label"].tolist() == stored["label"].tolist()


def test_cells_with_the_same_training_share_one_model(tiny_synthetic, tmp_path, monkeypatch):
    """overall's and per_gen's cell "all" train the same model (same method, config, training
    generators, data and seed): per_gen evaluates the model overall trained instead of
    training again, and its "all" group gives overall's number."""
    _share_one_model(tiny_synthetic, tmp_path, monkeypatch, "f5c_featdiff", "cpu")


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["f5c_featdiff", "f5c_rawfeat"])
def test_a_reused_model_is_evaluated_on_the_gpu(tiny_synthetic, tmp_path, monkeypatch, method):
    """The reused model is loaded from its file on the CPU: it must be moved to the device
    where its test clips are (under BF16 autocast), as a trained one is."""
    import torch

    if not torch.cuda.is_available():
        pytest.fail("the gpu marker needs a CUDA device")
    _share_one_model(tiny_synthetic, tmp_path, monkeypatch, method, "cuda")


def _share_one_model(tiny_synthetic, tmp_path, monkeypatch, method: str, device: str) -> None:
    reg = load_registry()
    data = f"synthetic:{tiny_synthetic}"
    store = ResultsStore(tmp_path / "results.sqlite")
    overall = plan_run(reg, RunRequest(method=method, protocol="overall", device=device,
                                       profile="smoke", data=data))
    [first] = execute(overall, store=store, cache_dir=tmp_path / "cache")[0].rows
    assert first.metrics["model_reused"] is False

    def no_training(*args, **kwargs):
        raise AssertionError("per_gen trained a model that overall had already trained")

    import avbench.training as training

    monkeypatch.setattr(training, "train_cell", no_training)
    per_gen = plan_run(reg, RunRequest(method=method, protocol="per_gen", device=device,
                                       profile="smoke", data=data))
    rows = execute(per_gen, store=store, cache_dir=tmp_path / "cache")[0].rows
    assert [r.test_group for r in rows] == ["all", "facevid2vid", "tps", "lia"]
    assert all(r.metrics["model_reused"] and r.metrics["training_key"] == first.metrics["training_key"]
               for r in rows)
    # the same weights scored again (cuDNN may choose other kernels on a GPU: not bit-identical)
    assert rows[0].main_score == pytest.approx(first.main_score, abs=0 if device == "cpu" else 5e-3)
    assert rows[0].checkpoint == first.checkpoint
    assert rows[0].metrics["history"] == first.metrics["history"]
    assert len(list((tmp_path / "runs" / "models").rglob("best.safetensors"))) == 1
    # --force trains again (and saves over the shared model).
    monkeypatch.undo()
    [forced] = execute(overall, store=store, force=True, cache_dir=tmp_path / "cache")[0].rows
    assert forced.metrics["model_reused"] is False
