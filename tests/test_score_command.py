"""``avbench score FILE``: metrics, CIs, ROC and DET of any score table, and its errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from avbench import metrics
from avbench.cli import app
from avbench.errors import AvbenchError
from avbench.scores import SCORE_COLUMNS, write_scores


def table(groups: dict[str, tuple[list[float], list[float]]]) -> pd.DataFrame:
    """A score table from {target: (positive scores, negative scores)}."""
    rows = [(t, 1, s) for t, (pos, neg) in groups.items() for s in pos]
    rows += [(t, 0, s) for t, (pos, neg) in groups.items() for s in neg]
    return pd.DataFrame(rows, columns=["target", "label", "score"])


PERFECT = table({"A": ([0.9, 0.8], [0.2, 0.1]), "B": ([0.7, 0.6], [0.3, 0.0])})
# Per-target AUCs by hand: A 3/4, B 1.5/4 (a tie counts 1/2), C 0 -> mean 0.375.
# Pooled: positives .9 .8 .5 .3 .1 against negatives .85 .1 .5 .4 .2 win 5 + 4 + 3.5 + 2 + 0.5
# of 25 comparisons -> 0.6.  ROC (FAR, FRR) from the top: .9 (0, .8), .85 (.2, .8), .8 (.2, .6),
# .5 (.4, .4) -> EER 0.4 exactly at threshold 0.5.
HAND = table({"A": ([0.9, 0.8], [0.85, 0.1]), "B": ([0.5, 0.3], [0.5, 0.4]), "C": ([0.1], [0.2])})

runner = CliRunner()


def score(*args: str):
    """Run ``avbench score`` in-process; avbench's errors are left in ``result.exception``."""
    return runner.invoke(app, ["score", *map(str, args)], env={"COLUMNS": "60"})


def error_of(result) -> str:
    assert isinstance(result.exception, AvbenchError), result.output
    return str(result.exception)


def report_of(*args: str) -> dict:
    result = score(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- metrics.py additions -----------------------------------------------------------------

def test_eer_threshold_of_a_hand_made_table():
    assert metrics.eer(HAND) == pytest.approx(0.4)
    assert metrics.eer_threshold(HAND) == 0.5


def test_eer_threshold_of_a_perfect_separator_is_the_lowest_positive_score():
    assert metrics.eer_threshold(PERFECT) == 0.6


def test_eer_threshold_takes_the_point_with_the_smallest_worst_error():
    # (FAR, FRR): .9 (0, .5), .8 (.25, .5), .6 (.25, 0): EER .25 between .8 and .6; .6 has max .25.
    scores = table({"A": ([0.9, 0.6], [0.8, 0.5, 0.4, 0.1])})
    assert metrics.eer(scores) == pytest.approx(0.25)
    assert metrics.eer_threshold(scores) == 0.6


def test_eer_threshold_ties_go_to_the_most_equal_rates_then_the_higher_threshold():
    # .9 (0, .5), .8 (.5, .5), .7 (.5, 0): all worst .5; .8 has FAR = FRR.
    assert metrics.eer_threshold(table({"A": ([0.9, 0.7], [0.8, 0.6])})) == 0.8
    # .9 (0, .5) and .5 (.5, 0) (a positive and a negative tie at .5): equal in both -> the higher.
    tied = table({"A": ([0.9, 0.5], [0.5, 0.1])})
    assert metrics.eer(tied) == pytest.approx(0.25)
    assert metrics.eer_threshold(tied) == 0.9


def test_roc_points_and_det_curve_keep_every_threshold():
    roc = metrics.roc_points(HAND)
    det = metrics.det_curve(HAND)
    assert list(roc.columns) == ["threshold", "fpr", "tpr"]
    assert list(det.columns) == ["threshold", "fpr", "fnr"]
    assert len(roc) == len(det) == HAND["score"].nunique() + 1 == 9
    assert roc["threshold"].iloc[0] == np.inf and roc["threshold"].iloc[1:].tolist() == \
        sorted(HAND["score"].unique(), reverse=True)
    assert (det["fnr"] == 1 - roc["tpr"]).all()
    at_half = det[det["threshold"] == 0.5].iloc[0]
    assert at_half["fpr"] == pytest.approx(0.4) and at_half["fnr"] == pytest.approx(0.4)


# --- known answers through the command -----------------------------------------------------

def test_perfect_separator_scores_auc_1_and_eer_0(tmp_path):
    PERFECT.to_parquet(tmp_path / "s.parquet")
    r = report_of(tmp_path / "s.parquet", "--n-boot", "200")
    assert r["mean_target_auc"] == r["pooled_auc"] == 1.0
    assert r["mean_target_auc_ci_low"] == r["mean_target_auc_ci_high"] == 1.0
    assert r["eer"] == 0.0 and r["eer_threshold"] == 0.6
    assert r["far_at_eer_threshold"] == r["frr_at_eer_threshold"] == 0.0
    assert r["tar_at_far1"] == r["tar_at_far0_1"] == 1.0


def test_hand_computed_table_through_json(tmp_path):
    HAND.to_csv(tmp_path / "s.csv", index=False)
    r = report_of(tmp_path / "s.csv", "--n-boot", "300", "--seed", "7")
    assert r["mean_target_auc"] == pytest.approx(0.375)
    assert r["pooled_auc"] == pytest.approx(0.6)
    assert r["eer"] == pytest.approx(0.4)
    assert r["eer_threshold"] == 0.5
    assert r["far_at_eer_threshold"] == pytest.approx(0.4) and r["frr_at_eer_threshold"] == pytest.approx(0.4)
    assert r["tar_at_far1"] == r["tar_at_far0_1"] == pytest.approx(0.2)
    assert (r["n_pairs"], r["n_positive"], r["n_negative"]) == (10, 5, 5)
    assert (r["n_targets"], r["n_targets_skipped"], r["n_targets_total"]) == (3, 0, 3)
    assert (r["bootstrap_n"], r["bootstrap_seed"], r["ci_level"]) == (300, 7, 0.95)
    low, high = metrics.bootstrap_ci(HAND, "mean_target_auc", n=300, seed=7)
    assert (r["mean_target_auc_ci_low"], r["mean_target_auc_ci_high"]) == (low, high)
    assert all(isinstance(v, (int, float)) for v in r.values())


def test_targets_lacking_a_class_are_counted_as_skipped(tmp_path):
    scores = pd.concat([HAND, pd.DataFrame({"target": ["D", "D"], "label": [1, 1], "score": [0.3, 0.2]})])
    scores.to_csv(tmp_path / "s.csv", index=False)
    r = report_of(tmp_path / "s.csv", "--n-boot", "50")
    assert (r["n_targets"], r["n_targets_skipped"], r["n_targets_total"], r["n_pairs"]) == (3, 1, 4, 12)
    assert r["mean_target_auc"] == pytest.approx(0.375)


def test_other_tools_column_names_and_string_labels_from_csv_and_tsv(tmp_path):
    renamed = HAND.rename(columns={"target": "probe_subject_id", "score": "similarity"})
    renamed["label"] = np.where(HAND["label"] == 1, "genuine", "impostor")
    renamed = renamed.rename(columns={"label": "kind"})
    renamed.to_csv(tmp_path / "bob.csv", index=False)
    renamed.to_csv(tmp_path / "bob.tsv", index=False, sep="\t")
    for name in ("bob.csv", "bob.tsv"):
        r = report_of(tmp_path / name, "--column-target", "probe_subject_id", "--column-label", "kind",
                      "--column-score", "similarity", "--positive-label", "genuine", "--n-boot", "50")
        assert r["mean_target_auc"] == pytest.approx(0.375) and r["pooled_auc"] == pytest.approx(0.6)
        assert (r["n_positive"], r["n_negative"]) == (5, 5)


def test_round_trip_of_a_file_written_by_write_scores(tmp_path):
    rng = np.random.default_rng(3)
    n = 120
    label = (np.arange(n) % 3 == 0).astype(np.int64)
    frame = pd.DataFrame({
        "a_path": [f"a{i}.mp4" for i in range(n)], "b_path": [f"b{i}.mp4" for i in range(n)],
        "target": [f"id{i % 5}" for i in range(n)], "a_driver": "x", "b_driver": "y",
        "a_generator": "tps", "b_generator": "lia", "label": label,
        "score": rng.normal(size=n) + label,
    })[list(SCORE_COLUMNS)]
    path = write_scores(tmp_path / "runs" / "scores-all.parquet", frame, metadata={"run": "k"})
    r = report_of(path, "--n-boot", "100")
    expected = metrics.summarize(frame, n_boot=100, seed=0)
    assert {k: r[k] for k in expected} == expected
    assert r["eer_threshold"] == metrics.eer_threshold(frame)
    assert r["tar_at_far0_1"] == metrics.tar_at_far(frame, 0.001)


# --- curves and plot -------------------------------------------------------------------------

def test_roc_and_det_csvs_and_plot_are_written(tmp_path):
    HAND.to_parquet(tmp_path / "s.parquet")
    roc, det, png = tmp_path / "out" / "roc.csv", tmp_path / "det.csv", tmp_path / "curves.png"
    result = score(tmp_path / "s.parquet", "--n-boot", "50", "--roc", roc, "--det", det, "--plot", png)
    assert result.exit_code == 0, result.output
    roc_df, det_df = pd.read_csv(roc), pd.read_csv(det)
    assert list(roc_df.columns) == ["threshold", "fpr", "tpr"]
    assert list(det_df.columns) == ["threshold", "fpr", "fnr", "fpr_probit", "fnr_probit"]
    assert len(roc_df) == len(det_df) == 9  # 8 distinct scores + the +inf start
    assert roc_df["threshold"].iloc[0] == np.inf and roc_df["threshold"].iloc[-1] == 0.1
    assert roc_df[["fpr", "tpr"]].iloc[-1].tolist() == [1.0, 1.0]
    assert det_df["fnr_probit"].iloc[0] == np.inf and det_df["fpr_probit"].iloc[0] == -np.inf
    row = det_df[det_df["threshold"] == 0.8].iloc[0]  # (FAR .2, FRR .6)
    assert row["fpr_probit"] == pytest.approx(-0.8416212) and row["fnr_probit"] == pytest.approx(0.2533471)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {roc}" in result.stderr and f"wrote {png}" in result.stderr


# --- printed output ---------------------------------------------------------------------------

def test_output_outside_a_terminal_is_never_cut_at_a_narrow_width(run_cli, tmp_path):
    folder = tmp_path / ("a-rather-long-folder-name-for-a-score-table-" * 2)
    folder.mkdir()
    HAND.to_parquet(folder / "scores-all.parquet")
    r = run_cli("score", str(folder / "scores-all.parquet"), "--n-boot", "100", env={"COLUMNS": "60"})
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0] == f"score table: {folder / 'scores-all.parquet'}"
    assert "mean per-target AUC: 0.3750  95% CI [" in r.stdout
    assert "pooled AUC: 0.6000  95% CI [" in r.stdout
    assert "EER: 0.4000" in lines
    assert "EER threshold (accept score >=): 0.5  (FAR 0.4000, FRR 0.4000)" in lines
    assert "TAR at FAR 1%: 0.2000" in lines and "TAR at FAR 0.1%: 0.2000" in lines
    assert "targets skipped (one class only): 0" in lines
    assert "95% CI: cluster bootstrap over targets, 100 resamples, seed 0" in lines
    assert "…" not in r.stdout


def test_output_in_a_terminal_is_a_table(tmp_path):
    from rich.console import Console

    from avbench import score_file

    console = Console(force_terminal=True, width=50, markup=False, record=True)
    report = score_file.score_report(HAND, n_boot=50)
    score_file.print_report(report, tmp_path / "s.csv", console)
    text = console.export_text()
    assert "┃ metric" in text and "0.3750" in text and "…" not in text


# --- errors -------------------------------------------------------------------------------------

def test_unsupported_suffix_is_refused_naming_the_accepted_ones(tmp_path):
    path = tmp_path / "scores.pkl"
    path.write_bytes(b"\x80\x04K\x01.")
    assert error_of(score(path)) == (f"{path}: cannot read a score table from a '.pkl' file; "
                                     "accepted: .parquet, .csv, .tsv (convert it to one of them)")


def test_missing_file_and_unreadable_file(tmp_path):
    gone = tmp_path / "gone.csv"
    assert error_of(score(gone)) == (f"{gone}: no such file; give the path of a score table "
                                     "(.parquet, .csv, .tsv)")
    bad = tmp_path / "bad.parquet"
    bad.write_text("target,label,score\n")
    assert error_of(score(bad)).startswith(f"{bad}: not a readable Parquet file (")


def test_missing_columns_name_the_file_the_columns_and_the_options(tmp_path):
    path = tmp_path / "s.csv"
    HAND.rename(columns={"target": "subject", "score": "sim"}).to_csv(path, index=False)
    assert error_of(score(path)) == (
        f"{path}: missing column(s) 'target' (target), 'score' (score); columns found: 'subject', "
        "'label', 'sim'. Name the file's columns with --column-target, --column-label and --column-score")


def test_non_finite_scores_are_an_error_counting_the_rows(tmp_path):
    path = tmp_path / "s.csv"
    HAND.assign(score=HAND["score"].astype(object)).pipe(
        lambda t: t.assign(score=[0.9, "nan", 0.5, 0.3, 0.1, "inf", "", 0.5, "high", 0.2])).to_csv(path, index=False)
    assert error_of(score(path)) == (
        f"{path}: 4 of 10 rows have a score that is NaN, infinite or not a number in column 'score' "
        "(rows 2, 6, 7, 9); every pair needs a finite score")


def test_labels_other_than_0_or_1_are_an_error(tmp_path):
    path = tmp_path / "s.csv"
    HAND.assign(label=[1, 1, 1, 2, 1, 0, 0, "yes", 0, 0]).to_csv(path, index=False)
    assert error_of(score(path)) == (
        f"{path}: 2 of 10 rows have a label other than 0 or 1 in column 'label' (rows 4, 8; values "
        "'2' (1), 'yes' (1)); 1 = same driver, 0 = different drivers. If the labels are strings, "
        "name the positive one with --positive-label VALUE")


def test_string_labels_need_exactly_one_negative_value(tmp_path):
    path = tmp_path / "s.csv"
    HAND.assign(label=["same"] * 5 + ["diff"] * 4 + ["Same"]).to_csv(path, index=False)
    assert error_of(score(path, "--positive-label", "same")) == (
        f"{path}: column 'label' holds 2 values besides the positive label 'same', expected one (the "
        "negative label): 'diff' (4), 'Same' (1); 1 of 10 rows hold neither 'same' nor the commonest "
        "other value 'diff' (row 10)")
    assert error_of(score(path, "--positive-label", "genuine")).startswith(
        f"{path}: no row has the label 'genuine' given as --positive-label in column 'label'; its values: ")


def test_a_table_with_one_class_is_an_error(tmp_path):
    path = tmp_path / "s.parquet"
    HAND[HAND["label"] == 0].to_parquet(path)
    assert error_of(score(path)) == (f"{path}: all 5 pairs are negative (label 0, different drivers); "
                                     "AUC, EER and TAR need both positive and negative pairs")


def test_missing_targets_and_labels_are_errors_not_dropped_rows(tmp_path):
    path = tmp_path / "s.csv"
    HAND.assign(target=["A", "", "A", "A", "B", "B", "", "B", "C", "C"]).to_csv(path, index=False)
    assert error_of(score(path)) == (f"{path}: 2 of 10 rows have no target in column 'target' "
                                     "(rows 2, 7); every pair needs its target")
    HAND.assign(label=[1, 1, None, 1, 1, 0, 0, 0, 0, 0]).to_csv(path, index=False)
    assert error_of(score(path)) == (f"{path}: 1 of 10 rows have no label in column 'label' (row 3); "
                                     "every pair needs 1 (same driver) or 0")


def test_no_target_with_both_classes_is_an_error(tmp_path):
    path = tmp_path / "s.csv"
    HAND.assign(target=[f"t{i}" for i in range(10)]).to_csv(path, index=False)
    assert error_of(score(path)) == (
        f"{path}: no target has both positive and negative pairs (10 targets, 10 pairs), so the mean "
        "per-target AUC is undefined; check that --column-target names the column that groups the pairs")


def test_errors_print_one_line_with_exit_code(run_cli, tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{}")
    r = run_cli("score", str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.strip() == (f"error: {path}: cannot read a score table from a '.json' file; "
                                "accepted: .parquet, .csv, .tsv (convert it to one of them)")
    HAND.assign(score=np.nan).to_parquet(tmp_path / "s.parquet")
    r = run_cli("score", str(tmp_path / "s.parquet"))
    assert r.returncode == 1 and "10 of 10 rows have a score that is NaN" in r.stderr, r.stderr[-2000:]


def test_bad_n_boot_is_a_usage_error(tmp_path):
    HAND.to_csv(tmp_path / "s.csv", index=False)
    assert error_of(score(tmp_path / "s.csv", "--n-boot", "0")) == (
        "--n-boot 0: need at least 1 bootstrap resample (1000 is usual)")


def test_help_lists_the_options():
    result = runner.invoke(app, ["score", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--column-target", "--column-label", "--column-score", "--positive-label",
                   "--n-boot", "--seed", "--json", "--roc", "--det", "--plot"):
        assert option in result.stdout
