"""avbench fuse: two or more stored rows' models fused into one score per pair, stored as an
evaluation-only row of a pseudo-method."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from avbench.errors import UsageError
from avbench.fusion import (
    FusionAlignmentError,
    FusionRequest,
    align_pairs,
    check_comparable,
    fuse,
    fused_scores,
    plan_fusion,
    zsum_fusion,
)
from avbench.metrics import per_target_auc
from avbench.registry import load_registry
from avbench.results import ResultsStore
from avbench.runner import RunRequest, execute, plan_run
from avbench.scores import read_scores


@pytest.fixture(scope="module")
def trained(tiny_synthetic, tmp_path_factory):
    """Two smoke-trained overall models (frame differencing of features and of pixels) in one
    results database."""
    folder = tmp_path_factory.mktemp("fusion")
    reg = load_registry()
    store = ResultsStore(folder / "results.sqlite")
    rows = {}
    for method in ("f5c_featdiff", "f5c_pixeldiff"):
        plan = plan_run(reg, RunRequest(method=method, protocol="overall", device="cpu", profile="smoke",
                                        data=f"synthetic:{tiny_synthetic}"))
        [rows[method]] = execute(plan, store=store, cache_dir=folder / "cache")[0].rows
    return reg, store, rows, folder


def fused(trained, tiny_synthetic, ids, rule="zsum", force=False):
    reg, store, _, folder = trained
    plan = plan_fusion(reg, store, FusionRequest(rows=tuple(ids), rule=rule, data=f"synthetic:{tiny_synthetic}",
                                                 device="cpu"))
    return fuse(reg, plan, store, cache_dir=folder / "cache", force=force)


def scores_of(store, row) -> pd.DataFrame:
    return read_scores(store.score_file(row.score_file, row.run_key, row.score_sha256))


def test_fusing_a_run_with_itself_under_zsum_gives_its_mean_per_target_auc(trained, tiny_synthetic):
    _, store, rows, _ = trained
    row = rows["f5c_featdiff"]
    self_fused = fused(trained, tiny_synthetic, [row.id, row.id])
    # 2 (s - m) / sd is a positive affine map of the component's scores: every per-target AUC stays.
    assert self_fused.main_score == row.main_score
    ours, theirs = scores_of(store, self_fused), scores_of(store, row)
    assert ours["a_path"].tolist() == theirs["a_path"].tolist()
    assert per_target_auc(ours).tolist() == per_target_auc(theirs).tolist()
    [c1, c2] = self_fused.metrics["fusion"]["components"]
    assert c1["val_mean"] == c2["val_mean"] and c1["val_std"] == c2["val_std"] > 0
    np.testing.assert_allclose(ours["score"], 2 * (theirs["score"] - c1["val_mean"]) / c1["val_std"], rtol=1e-12)
    assert self_fused.metrics["vs_best_component"]["delta"] == 0.0
    assert self_fused.method == "fusion(zsum):f5c_featdiff+f5c_featdiff"
    assert self_fused.metrics["data"]["test_pairs_dropped"] == 0


def test_the_zsum_rule_is_the_sum_of_validation_z_scores():
    val = np.array([[1.0, 10.0], [3.0, 30.0]])  # means 2, 20; population stds 1, 10
    test = np.array([[2.0, 40.0], [0.0, 0.0], [5.0, 15.0]])
    expected = np.array([0.0 + 2.0, -2.0 - 2.0, 3.0 - 0.5])
    assert zsum_fusion(test, np.array([2.0, 20.0]), np.array([1.0, 10.0])).tolist() == expected.tolist()
    scores, used = fused_scores("zsum", val, np.array([1, 0]), test, ["a", "b"])
    assert scores.tolist() == expected.tolist()
    assert used == {"means": [2.0, 20.0], "stds": [1.0, 10.0]}


def test_a_constant_component_cannot_be_normalised():
    from avbench.errors import DatasetError

    with pytest.raises(DatasetError, match="component b: every validation pair has the same score"):
        fused_scores("zsum", np.array([[1.0, 5.0], [2.0, 5.0]]), np.array([1, 0]), np.zeros((1, 2)), ["a", "b"])


def test_a_logistic_fusion_records_its_fit_and_applies_it(trained, tiny_synthetic):
    _, store, rows, _ = trained
    row = fused(trained, tiny_synthetic, [rows["f5c_pixeldiff"].id, rows["f5c_featdiff"].id], rule="logistic")
    assert row.method == "fusion(logistic):f5c_featdiff+f5c_pixeldiff"  # canonical order, not the ids'
    assert 0.0 <= row.main_score <= 1.0
    fit = row.metrics["fusion"]["logistic"]
    assert len(fit["coef"]) == 2 and all(np.isfinite(fit["coef"])) and fit["C"] == 1.0
    assert fit["n_val_pairs"] == row.metrics["data"]["val_pairs"] > fit["n_val_positive"] > 0
    # The stored score is the decision function: coefficients . z-scores + intercept.
    table = scores_of(store, row)
    comps = row.metrics["fusion"]["components"]
    z = np.column_stack([(table[f"score_c{c['component']}"] - c["val_mean"]) / c["val_std"] for c in comps])
    np.testing.assert_allclose(table["score"], z @ np.array(fit["coef"]) + fit["intercept"], rtol=1e-9, atol=1e-12)
    best = row.metrics["vs_best_component"]
    assert best["method"] in ("f5c_featdiff", "f5c_pixeldiff") and best["ci_low"] <= best["delta"] <= best["ci_high"]
    assert row.trained_on["kind"] == "fusion" and row.trained_on["rule"] == "logistic"
    assert [c["row_id"] for c in row.trained_on["components"]] == [rows["f5c_featdiff"].id, rows["f5c_pixeldiff"].id]
    assert row.checkpoint == "" and row.config["fusion"]["logistic"] == {"C": 1.0}


def test_rows_of_different_cells_protocols_or_data_are_refused_by_name(trained):
    _, store, rows, _ = trained
    row = rows["f5c_featdiff"]
    other = dataclasses.replace(row, id=41, cell="train_tps")
    with pytest.raises(UsageError, match=rf"rows {row.id}, 41 cannot be fused: their cell differ \(row {row.id} "
                       r"\(f5c_featdiff\): cell all; row 41 \(f5c_featdiff\): cell train_tps\)"):
        check_comparable([row, other])
    moved = dataclasses.replace(row, id=42, protocol="per_gen", dataset_fingerprint="elsewhere")
    with pytest.raises(UsageError, match=r"their dataset_fingerprint, protocol differ .*row 42 \(f5c_featdiff\): "
                       r"dataset_fingerprint elsewhere, protocol per_gen"):
        check_comparable([row, moved])
    # Through the planner, from stored rows, before any model is loaded.
    stored = store.add(dataclasses.replace(row, id=None, run_key="", test_group="tps"))
    with pytest.raises(UsageError, match=rf"rows {row.id}, {stored.id} cannot be fused: their test_group differ"):
        plan_fusion(load_registry(), store, FusionRequest(rows=(row.id, stored.id)))
    with pytest.raises(UsageError, match="at least two row ids"):
        plan_fusion(load_registry(), store, FusionRequest(rows=(row.id,)))
    with pytest.raises(UsageError, match="--rule 'mean': choose one of zsum, logistic"):
        plan_fusion(load_registry(), store, FusionRequest(rows=(row.id, row.id), rule="mean"))


def pair_table(pairs, labels=None) -> pd.DataFrame:
    labels = labels or [1 if a[0] == b[0] else 0 for a, b in pairs]
    return pd.DataFrame({"a_path": [a for a, _ in pairs], "b_path": [b for _, b in pairs], "target": "t",
                         "label": labels, "score": np.arange(len(pairs), dtype=float)})


def test_components_are_aligned_on_the_pairs_all_of_them_scored():
    full = pair_table([("x1", "x2"), ("x1", "y1"), ("x2", "y1"), ("x2", "y2")])
    no_face = pair_table([("x1", "y1"), ("x2", "y1")])  # y2 and a pair of x1's left out
    [a, b], dropped = align_pairs([full, no_face], ["c1", "c2"], "test pairs")
    assert dropped == [2, 0]
    assert a["a_path"].tolist() == b["a_path"].tolist() == ["x1", "x2"]
    assert a["score"].tolist() == [1.0, 2.0] and b["score"].tolist() == [0.0, 1.0]
    relabelled = pair_table([("x1", "y1"), ("x2", "y1")], labels=[1, 0])
    with pytest.raises(FusionAlignmentError, match="components c1 and c2 disagree on the label of pair x1 | y1"):
        align_pairs([full, relabelled], ["c1", "c2"], "test pairs")
    with pytest.raises(FusionAlignmentError, match="share no scored pair"):
        align_pairs([full, pair_table([("z1", "z2")])], ["c1", "c2"], "test pairs")


def test_fuse_from_the_command_line_stores_a_row_and_reuses_it(trained, tiny_synthetic, run_cli):
    _, store, rows, folder = trained
    ids = [str(rows["f5c_featdiff"].id), str(rows["f5c_pixeldiff"].id)]
    args = ["--db", str(store.path), "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}"]
    env = {"AVBENCH_CACHE_DIR": str(folder / "cache")}
    first = run_cli("fuse", *ids, *args, env=env)
    assert first.returncode == 0, first.stderr
    assert "fusion fusion(zsum):f5c_featdiff+f5c_pixeldiff" in first.stdout
    assert "fusion − best component (c" in first.stdout and f"results: {store.path}" in first.stdout
    [row] = store.rows(method="fusion(zsum):f5c_featdiff+f5c_pixeldiff")
    assert row.trained_on["kind"] == "fusion" and row.profile == "smoke"
    assert row.environment["command"].startswith(f"avbench fuse {' '.join(ids)} --rule zsum")
    assert scores_of(store, row)["score_c2"].notna().all()  # the file is final-named and hash-checked
    n = len(store)
    again = run_cli("fuse", *reversed(ids), *args, "--json", env=env)  # the same models: the stored row
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["id"] == row.id and json.loads(again.stdout)["kind"] == "fusion"
    assert len(store) == n
    listed = run_cli("results", "list", "--db", str(store.path))
    assert listed.returncode == 0 and "fusion(zsum):f5c_featdiff+f5c_pixeldiff" in listed.stdout
    fusion_of_fusion = run_cli("fuse", str(row.id), ids[0], *args)
    assert fusion_of_fusion.returncode == 2 and f"row {row.id} (fusion(zsum)" in fusion_of_fusion.stderr
    evaluated = run_cli("evaluate", "--run", str(row.id), *args)  # a fusion has no model of its own
    assert evaluated.returncode == 2 and "is a fusion (fusion(zsum):f5c_featdiff+f5c_pixeldiff)" in evaluated.stderr


def test_the_api_fuses_like_the_command(trained, tiny_synthetic):
    from avbench import api

    _, store, rows, folder = trained
    ids = [rows["f5c_featdiff"].id, rows["f5c_pixeldiff"].id]
    frame = api.fuse(ids, db=store.path, data=f"synthetic:{tiny_synthetic}", device="cpu",
                     cache_dir=folder / "cache")
    [row] = store.rows(id=int(frame["id"].iloc[0]))
    assert row.method == "fusion(zsum):f5c_featdiff+f5c_pixeldiff" and frame["trained_on"].iloc[0]["kind"] == "fusion"
    forced = api.fuse(ids, db=store.path, data=f"synthetic:{tiny_synthetic}", device="cpu",
                      cache_dir=folder / "cache", force=True)
    assert int(forced["id"].iloc[0]) != row.id and forced["main_score"].iloc[0] == row.main_score
