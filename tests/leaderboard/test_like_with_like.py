"""Measured results meet published ones only on the same statistic and the same protocol."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import add_result, unlinked

from avbench.errors import UsageError
from avbench.leaderboard.board import attach_reported
from avbench.leaderboard.compare import against_reported, compare_with_reported
from avbench.leaderboard.entries import ScoreReader, build_entries, latest_rows
from avbench.leaderboard.publish import publish
from avbench.leaderboard.reported import load_reported, reported_for
from avbench.results import ResultsStore

NVFAIR = {"dataset": "nvfair", "fingerprint": "fp-nvfair-1", "clip_length": 64, "profile": "paper"}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ResultsStore:
    store = ResultsStore(tmp_path_factory.mktemp("like") / "results" / "results.sqlite")
    # Table IV (pooled AUC 0.902) is filed under cross_gen train_lia -> lia.
    add_result(store, "f5c_featdiff", "cross_gen", "train_lia", "lia", 1.0, **NVFAIR)
    # Table III's Overall is filed under overall_originals: avbench's overall drops the real videos.
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.0, **NVFAIR)
    # The shortcut check has no published counterpart.
    add_result(store, "f5c_featdiff", "overall_originals", "all", "all_distinct_driving", 1.0, **NVFAIR)
    return store


@pytest.fixture(scope="module")
def entries(store) -> pd.DataFrame:
    return build_entries(latest_rows(store), ScoreReader(store))


def entry(entries, protocol):
    return entries[entries["protocol"] == protocol].iloc[0]


def test_a_pooled_figure_is_compared_with_the_measured_pooled_auc(entries):
    result = against_reported(entries, load_reported())
    assert len(result) == 1  # neither overall nor the shortcut check has a published counterpart
    row = result.iloc[0]
    cross = entry(entries, "cross_gen")
    assert (row["protocol"], row["cell"], row["test_group"], row["statistic"], row["table"]) == (
        "cross_gen", "train_lia", "lia", "pooled_auc", "IV")
    assert row["measured"] == cross["pooled_auc"] and row["reported"] == 0.902
    assert row["delta"] == pytest.approx(cross["pooled_auc"] - 0.902)
    assert cross["pooled_auc"] != cross["mean_target_auc"] and row["skipped"] == ""
    attached = attach_reported(entries, reported_for("nvfair"))
    cross_attached = attached[attached["protocol"] == "cross_gen"].iloc[0]
    assert cross_attached["delta_reported"] == pytest.approx(cross["pooled_auc"] - 0.902)
    assert cross_attached["reported_statistic"] == "pooled_auc"
    assert attached.loc[attached["protocol"] == "overall", "delta_reported"].isna().all()


def test_an_entry_without_the_figures_statistic_is_skipped_not_compared_on_another(entries):
    no_pooled = entries.assign(pooled_auc=float("nan"))
    row = against_reported(no_pooled, load_reported()).iloc[0]
    assert row["skipped"] == "no measured pooled AUC stored"
    assert pd.isna(row["delta"]) and pd.isna(row["measured"])
    attached = attach_reported(no_pooled, reported_for("nvfair"))
    assert attached["delta_reported"].isna().all() and (attached["reported_statistic"] == "").all()


def test_a_statistic_entries_do_not_hold_is_refused(entries):
    reported = load_reported().assign(statistic="eer")
    with pytest.raises(ValueError, match="^reported figures with statistic.s. eer: measured entries hold "
                                         "only mean_target_auc, pooled_auc, so they cannot be compared$"):
        against_reported(entries, reported)


def test_compare_with_reported_names_where_the_figures_are_filed(entries):
    result = compare_with_reported(entries, load_reported(), "f5c_featdiff")
    assert list(result["statistic"]) == ["pooled_auc"]
    with pytest.raises(UsageError) as caught:
        compare_with_reported(entries, load_reported(), "f5c_featdiff", protocol="overall")
    assert str(caught.value) == (
        "f5c_featdiff has no published figure on an evaluation it was measured on (measured: overall, "
        "under protocol 'overall'); its published figures are filed under clip_length_originals, "
        "cross_gen, overall_originals, per_gen_originals: run that protocol on the same dataset to "
        "compare like with like")


def test_the_board_shows_the_delta_on_the_reported_statistic(store, entries, tmp_path):
    publish(store, tmp_path)
    board = unlinked((tmp_path / "nvfair" / "README.md").read_text())
    cross = entry(entries, "cross_gen")
    line = next(ln for ln in board.splitlines() if ln.startswith("| 1 | f5c_featdiff | measured | mean per-target AUC |")
                and "pooled AUC" in ln)
    assert (f"pooled AUC {cross['pooled_auc']:.3f}: Δ {cross['pooled_auc'] - 0.902:+.3f} vs reported pooled AUC "
            "(Table IV)") in line
    assert "| f5c_featdiff | reported | pooled AUC |" in board
    overall = board.split("## overall (protocol v1)")[1].split("##")[0]
    assert "Δ" not in overall and "| measured |" in overall
    csv = pd.read_csv(tmp_path / "nvfair" / "results.csv")
    measured = csv[(csv["kind"] == "measured") & (csv["protocol"] == "cross_gen")].iloc[0]
    assert measured["reported_statistic"] == "pooled_auc"
    assert measured["reported_measured"] == pytest.approx(cross["pooled_auc"], abs=1e-6)


def test_compare_reported_from_the_command_line(run_cli, store):
    r = run_cli("compare", "f5c_featdiff", "reported", "--db", str(store.path))
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "cross_gen v1" in ln)
    cells = [c.strip() for c in line.split("│") if c.strip()]
    assert cells[:4] == ["nvfair", "cross_gen v1", "lia → lia", "pooled AUC"]
    assert float(cells[5]) == 0.902 and cells[7] == "f5c2026, Table IV"
    r = run_cli("compare", "f5c_featdiff", "reported", "--protocol", "overall", "--db", str(store.path))
    assert r.returncode == 2 and "its published figures are filed under clip_length_originals" in r.stderr
