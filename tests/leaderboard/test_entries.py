"""Stored rows → board entries: seeds averaged, variants kept apart, re-runs replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import add_result, fill_store

from avbench.leaderboard.entries import (
    ScoreReader,
    build_entries,
    latest_rows,
    secondary_cis,
    variant_of,
)
from avbench.metrics import bootstrap_ci, bootstrap_mean_ci, eer, per_target_auc
from avbench.results import ResultsStore


def entry(entries, **where):
    rows = entries
    for k, v in where.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, where
    return rows.iloc[0]


def test_seeds_are_averaged_with_std_and_a_recomputed_ci(board_store):
    rows = latest_rows(board_store)
    reader = ScoreReader(board_store)
    entries = build_entries(rows, reader)
    e = entry(entries, method="f5c_featdiff", protocol="overall", dataset="synthetic")
    seeds = rows[(rows["method"] == "f5c_featdiff") & (rows["protocol"] == "overall")
                 & (rows["dataset"] == "synthetic")].sort_values("seed")
    assert e["seeds"] == (0, 1, 2) and e["n_seeds"] == 3
    assert e["mean_target_auc"] == pytest.approx(seeds["main_score"].mean())
    assert e["std"] == pytest.approx(np.std(seeds["main_score"], ddof=1))
    per_seed = [per_target_auc(reader.table(p)) for p in seeds["score_file"]]
    averaged = sum(per_seed) / 3
    assert (e["ci_low"], e["ci_high"]) == pytest.approx(bootstrap_mean_ci(averaged, n=200, seed=0))
    assert "3 seeds" in e["ci_note"]
    single = entry(entries, method="f5c_static", protocol="overall")
    stored = rows[(rows["method"] == "f5c_static") & (rows["protocol"] == "overall")].iloc[0]["metrics"]
    assert (single["ci_low"], single["ci_high"]) == (stored["mean_target_auc_ci_low"],
                                                     stored["mean_target_auc_ci_high"])
    assert np.isnan(single["std"]) and single["seeds"] == (0,)
    # Every evaluated cell of the fixture is one entry (40 rows, 3 of them extra seeds).
    assert len(entries) == len(rows) - 2


def test_clip_length_cells_share_one_variant_and_other_profiles_do_not():
    cfg = {"method": {"a": 1}, "training": {"clip_length": 16, "steps": 3}, "profile": "quick"}
    other_t = {**cfg, "training": {"clip_length": 128, "steps": 3}}
    assert variant_of(cfg) == variant_of(other_t)
    assert variant_of(cfg) != variant_of({**cfg, "profile": "paper"})


def test_forced_rerun_replaces_and_profiles_stay_apart(tmp_path):
    store = ResultsStore(tmp_path / "r" / "results.sqlite")
    first = add_result(store, "f5c_featdiff", "overall", "all", "all", 0.1)
    rerun = add_result(store, "f5c_featdiff", "overall", "all", "all", 3.0)  # same run key, newer
    assert rerun.run_key == first.run_key
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.0, profile="paper")
    entries = build_entries(latest_rows(store), ScoreReader(store))
    assert len(entries) == 2
    quick = entry(entries, profile="standard")
    assert quick["mean_target_auc"] == rerun.main_score and quick["run_keys"] == (rerun.run_key,)


def test_empty_store_gives_no_entries(tmp_path):
    store = ResultsStore(tmp_path / "none.sqlite")
    assert build_entries(latest_rows(store), ScoreReader(store)).empty


def test_results_folder_can_be_moved(tmp_path):
    """Score files are found relative to the store after copying the folder elsewhere."""
    import shutil

    store = ResultsStore(tmp_path / "a" / "results.sqlite")
    fill_store(store)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "a")
    moved = ResultsStore(tmp_path / "b" / "results.sqlite")
    entries = build_entries(latest_rows(moved), ScoreReader(moved))
    assert entries["ci_note"].str.startswith("CI of the mean").sum() == 1
    assert len(ScoreReader(moved).pooled(entries.iloc[0])) == 96  # 8 targets x 12 pairs


def test_secondary_cis_match_the_metrics_bootstrap(board_store):
    reader = ScoreReader(board_store)
    entries = build_entries(latest_rows(board_store), reader)
    single = entry(entries, method="f5c_static", protocol="overall")
    table = reader.table(single["score_files"][0])
    cis = secondary_cis(single, reader, n=200)
    assert cis["eer"] == pytest.approx(bootstrap_ci(table, "eer", n=200, seed=0))
    assert cis["pooled_auc"] == pytest.approx(bootstrap_ci(table, "pooled_auc", n=200, seed=0))
    lo, hi = cis["tar_at_far1"]
    assert 0.0 <= lo <= hi <= 1.0
    multi = entry(entries, method="f5c_featdiff", protocol="overall", dataset="synthetic")
    lo, hi = secondary_cis(multi, reader, n=200)["eer"]
    assert lo <= multi["eer"] <= hi  # the seed-averaged EER lies inside its interval
    # Several seeds: each resample averages the seeds' EERs over the same target draws.
    tables = [reader.table(p).assign(seed=s) for p, s in zip(multi["score_files"], multi["seeds"])]
    both = pd.concat(tables, ignore_index=True)

    def seed_mean_eer(t):
        return float(np.mean([eer(g) for _, g in t.groupby("seed")]))

    assert (lo, hi) == pytest.approx(bootstrap_ci(both, seed_mean_eer, n=200, seed=0))
