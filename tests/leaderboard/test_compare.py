"""Paired comparisons of two methods, from their score files."""

from __future__ import annotations

import pytest
from conftest import add_result

from avbench.errors import UsageError
from avbench.leaderboard.compare import compare_methods, comparisons_against
from avbench.leaderboard.entries import ScoreReader, build_entries, latest_rows
from avbench.metrics import per_target_auc
from avbench.results import ResultsStore


@pytest.fixture(scope="module")
def entries_and_reader(board_store):
    reader = ScoreReader(board_store)
    return build_entries(latest_rows(board_store), reader), reader


def test_delta_is_the_mean_of_paired_target_differences(entries_and_reader):
    entries, reader = entries_and_reader
    res = compare_methods(entries, reader, "f5c_featdiff", "f5c_static", protocol="overall")
    assert len(res) == 1  # synthetic; the nvfair featdiff row has no static partner
    row = res.iloc[0]
    a = entries[(entries["method"] == "f5c_featdiff") & (entries["protocol"] == "overall")
                & (entries["dataset"] == "synthetic")].iloc[0]
    b = entries[(entries["method"] == "f5c_static") & (entries["protocol"] == "overall")].iloc[0]
    a_aucs = sum(per_target_auc(reader.table(p)) for p in a["score_files"]) / 3  # 3 seeds
    b_aucs = per_target_auc(reader.table(b["score_files"][0]))
    assert row["delta"] == pytest.approx((a_aucs - b_aucs).mean())
    assert row["a_auc"] == pytest.approx(a["mean_target_auc"])
    assert row["ci_low"] <= row["delta"] <= row["ci_high"] and row["n_targets"] == 8
    assert compare_methods(entries, reader, "f5c_featdiff", "f5c_static").shape[0] == 1 + 4 + 9


def test_unknown_and_unpaired_methods_are_clear_errors(entries_and_reader):
    entries, reader = entries_and_reader
    with pytest.raises(UsageError, match="'f5c_featdif' has no stored results. Did you mean 'f5c_featdiff'"):
        compare_methods(entries, reader, "f5c_featdif", "f5c_static")
    with pytest.raises(UsageError, match="share no evaluated cell under protocol 'clip_length'"):
        compare_methods(entries, reader, "f5c_featdiff", "stgcn", protocol="clip_length")


def test_ambiguous_variants_ask_for_a_profile(tmp_path):
    store = ResultsStore(tmp_path / "r" / "results.sqlite")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.0)
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.0, profile="paper")
    add_result(store, "f5c_static", "overall", "all", "all", 0.1)
    reader = ScoreReader(store)
    entries = build_entries(latest_rows(store), reader)
    with pytest.raises(UsageError, match=r"has 2 variants on overall all/all \(profiles: standard, paper\); choose one with --profile"):
        compare_methods(entries, reader, "f5c_featdiff", "f5c_static")
    assert len(compare_methods(entries, reader, "f5c_featdiff", "f5c_static", profile="standard")) == 1


def test_board_comparisons_pair_each_method_with_the_reference(entries_and_reader):
    entries, reader = entries_and_reader
    table = comparisons_against(entries, reader, "f5c_featdiff")
    # static on overall, per_gen (4) and cross_gen (9); stgcn on overall.
    assert sorted(table.groupby("a").size().items()) == [("f5c_static", 14), ("stgcn", 1)]
    assert (table["b"] == "f5c_featdiff").all()
    assert comparisons_against(entries, reader, "not_run").empty


def test_board_comparisons_pair_only_the_same_profile_and_clip_length(tmp_path):
    store = ResultsStore(tmp_path / "r" / "results.sqlite")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.0)                 # standard, T = 16
    add_result(store, "f5c_static", "overall", "all", "all", 0.2)                   # standard, T = 16
    add_result(store, "stgcn", "overall", "all", "all", 3.0, clip_length=64)        # standard, T = 64
    add_result(store, "f5c_rawfeat", "overall", "all", "all", 3.0, profile="paper")  # paper, T = 16
    reader = ScoreReader(store)
    table = comparisons_against(build_entries(latest_rows(store), reader), reader, "f5c_featdiff")
    assert list(table["a"]) == ["f5c_static"]
