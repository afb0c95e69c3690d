"""The tables ``avbench run`` prints: per seed, and mean ± std over ``--seeds``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from avbench.report import seed_table


def _row(cell, test, seed, auc):
    return SimpleNamespace(cell=cell, test_group=test, seed=seed, main_score=auc)


def test_seed_table_gives_mean_and_sample_std_per_cell():
    rows = [_row("train_tps", "lia", s, auc) for s, auc in [(0, 0.6), (1, 0.7), (2, 0.8)]]
    rows += [_row("train_tps", "tps", 0, 0.5)]
    table = seed_table(rows)
    assert table.loc["train_tps", "lia"] == "0.700 ± 0.100 (n=3)"  # sample std (ddof 1)
    assert table.loc["train_tps", "tps"] == "0.500 (n=1)"
    assert list(table.columns) == ["lia", "tps"]


def test_cli_seeds_runs_each_seed_and_summarises(run_cli, tiny_synthetic, tmp_path):
    r = run_cli("run", "--method", "f5c_featdiff", "--protocol", "overall", "--profile", "smoke",
                "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}", "--seeds", "0,1",
                "--db", str(tmp_path / "results.sqlite"))
    assert r.returncode == 0, r.stderr[-2000:]
    text = " ".join(r.stdout.split())
    assert "seed 0" in text and "seed 1" in text
    assert "mean ± std over seeds 0, 1" in text and "(n=2)" in text


@pytest.mark.parametrize("bad", ["0,x", "1,1", ","])
def test_cli_bad_seeds_exit_2(run_cli, bad):
    r = run_cli("run", "--method", "f5c_featdiff", "--protocol", "overall", "--seeds", bad)
    assert r.returncode == 2 and f"--seeds {bad!r}" in r.stderr


def test_a_paired_group_shows_its_change_under_its_auc():
    from avbench.report import cell_text

    metrics = {"mean_target_auc": 0.7812, "mean_target_auc_ci_low": 0.74, "mean_target_auc_ci_high": 0.82}
    assert cell_text(metrics) == "0.781 [0.740, 0.820]"
    paired = {**metrics, "vs_paired": {"group": "clean", "delta": -0.0314, "ci_low": -0.052, "ci_high": -0.0119}}
    assert cell_text(paired) == "0.781 [0.740, 0.820]\nΔ -0.031 [-0.052, -0.012] vs clean"
