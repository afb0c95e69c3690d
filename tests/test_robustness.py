"""The robustness protocol end to end: the overall model on perturbed test videos."""

from __future__ import annotations

import dataclasses

import pytest

from avbench.perturb import PERTURBATIONS
from avbench.registry import load_registry
from avbench.results import ResultsStore
from avbench.runner import RunRequest, execute, plan_run
from avbench.scores import read_scores
from avbench.specs import EvalGroup

PIXEL_KINDS = {p.name for p in PERTURBATIONS if not p.temporal}


@pytest.fixture(scope="module")
def frames_run(tiny_synthetic, tmp_path_factory):
    """f5c_featdiff, smoke: overall, then robustness on the same (reused) model."""
    folder = tmp_path_factory.mktemp("robustness")
    reg, store = load_registry(), ResultsStore(folder / "results.sqlite")

    def run(protocol):
        plan = plan_run(reg, RunRequest(method="f5c_featdiff", protocol=protocol, device="cpu",
                                        profile="smoke", data=f"synthetic:{tiny_synthetic}"))
        return plan, execute(plan, store=store, cache_dir=folder / "cache")

    _, [overall] = run("overall")
    plan, [robust] = run("robustness")
    return plan, store, overall, robust, folder


def test_one_row_per_perturbation_on_overalls_model_with_clean_as_overall(frames_run):
    plan, store, overall, robust, _ = frames_run
    assert robust.reused is False and len(robust.rows) == len(PERTURBATIONS) == 12
    rows = {r.test_group: r for r in robust.rows}
    assert list(rows) == [p.name for p in PERTURBATIONS]
    # The same training key: robustness trained nothing and scored overall's model.
    assert rows["clean"].metrics["training_key"] == overall.rows[0].metrics["training_key"]
    assert rows["clean"].metrics["model_reused"] is True
    clean = read_scores(store.resolve(rows["clean"].score_file))
    plain = read_scores(store.resolve(overall.rows[0].score_file))
    assert clean["score"].tolist() == plain["score"].tolist()
    assert "vs_paired" not in rows["clean"].metrics
    for name, row in rows.items():
        assert row.metrics["perturbation"]["name"] == name
        if name == "clean":
            continue
        paired = row.metrics["vs_paired"]
        assert paired["group"] == "clean" and paired["n_targets"] == row.metrics["n_targets"]
        assert paired["ci_low"] <= paired["delta"] <= paired["ci_high"]
        assert paired["delta"] == pytest.approx(row.main_score - rows["clean"].main_score, abs=1e-12)
        assert row.metrics["data"]["videos_lost_to_perturbation"] == 0
    # A frame method's perturbations happen in memory: nothing is cached under their names.
    assert not list((frames_run[4] / "cache").glob("landmarks/**/perturbed"))


def test_a_perturbation_that_changes_nothing_changes_the_auc_by_exactly_zero(frames_run, tiny_synthetic):
    plan, store, *_ = frames_run
    cell = plan.cells[0]
    same = EvalGroup("clean_again", cell.evals[0].generators, perturbation="clean", paired_with="clean")
    plan = dataclasses.replace(plan, cells=[dataclasses.replace(cell, evals=(cell.evals[0], same))])
    fresh = ResultsStore(store.path.parent / "again" / "results.sqlite")
    [outcome] = execute(plan, store=fresh, cache_dir=store.path.parent / "cache")
    paired = outcome.rows[1].metrics["vs_paired"]
    assert (paired["delta"], paired["ci_low"], paired["ci_high"]) == (0.0, 0.0, 0.0)


@pytest.mark.slow
def test_evaluate_scores_a_saved_overall_model_under_robustness(frames_run, run_cli, tiny_synthetic):
    plan, store, overall, robust, folder = frames_run
    db = folder / "evaluated" / "results.sqlite"
    db.parent.mkdir()
    checkpoint = store.resolve(overall.rows[0].checkpoint)
    r = run_cli("evaluate", "--checkpoint", str(checkpoint), "--protocol", "robustness", "--device", "cpu",
                "--data", f"synthetic:{tiny_synthetic}", "--db", str(db))
    assert r.returncode == 0, r.stderr[-3000:]
    rows = ResultsStore(db).rows()
    assert [x.test_group for x in rows] == [p.name for p in PERTURBATIONS]
    assert all(x.trained_on for x in rows)  # evaluation-only rows, naming the model's training
    mine = {x.test_group: x.main_score for x in rows}
    assert mine == pytest.approx({row.test_group: row.main_score for row in robust.rows}, abs=1e-12)


def test_a_landmark_method_reextracts_landmarks_from_perturbed_frames(tiny_synthetic, tmp_path):
    pytest.importorskip("mediapipe")
    reg, store = load_registry(), ResultsStore(tmp_path / "results.sqlite")
    plan = plan_run(reg, RunRequest(method="nvfair_ldmk_tcnn", protocol="robustness", device="cpu",
                                    profile="smoke", data=f"synthetic:{tiny_synthetic}",
                                    extractor="mediapipe"))
    # Three of the groups (clean, a pixel and a temporal perturbation): MediaPipe takes seconds
    # per perturbed test set even on this tiny dataset.
    cell = plan.cells[0]
    kept = tuple(g for g in cell.evals if g.name in ("clean", "noise_10", "crop_half"))
    plan = dataclasses.replace(plan, cells=[dataclasses.replace(cell, evals=kept)])
    [outcome] = execute(plan, store=store, cache_dir=tmp_path / "cache")
    rows = {r.test_group: r for r in outcome.rows}
    assert list(rows) == ["clean", "noise_10", "crop_half"]
    for name, row in rows.items():
        landmarks = row.metrics["perturbation"].get("landmarks")
        if name in PIXEL_KINDS:  # the extractor ran on the perturbed frames
            assert landmarks["extractor"] == "mediapipe" and landmarks["videos"] == row.metrics["data"]["test_videos"]
        else:  # temporal: the landmark tracks are cut as they are
            assert landmarks is None
    cached = sorted(p.name for p in (tmp_path / "cache").glob("landmarks/mediapipe-v*/perturbed/*"))
    assert cached == ["noise_10"]
    assert rows["noise_10"].metrics["vs_paired"]["group"] == "clean"
