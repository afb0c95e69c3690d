"""``avbench score FILE``: the verification metrics of any score table, from avbench or not.

Score files are the interface between a model and evaluation (bob.bio): a table
with one row per verification pair, its group (``target``), whether both sides
share the driver (``label``) and the model's ``score``, is enough for every number
avbench reports.  This module reads such a table written by avbench
(:func:`avbench.scores.write_scores`) or by another tool, maps its column names
and label values onto avbench's, checks it, and computes the metrics with
:mod:`avbench.metrics` (nothing is re-implemented here).

The file is untrusted input: only Parquet, CSV and TSV are read (never pickle),
and a table that cannot be scored as it is fails with an error naming the file,
what is wrong and how many rows; no row is ever dropped or repaired silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avbench import metrics
from avbench.errors import AvbenchError, UsageError
from avbench.progress import full_table

SUFFIXES = (".parquet", ".csv", ".tsv")
ROLES = ("target", "label", "score")


class ScoreFileError(AvbenchError):
    """A score table that cannot be scored as it is; the message names the file and the rows."""


def _rows(mask: np.ndarray) -> str:
    """The first few offending rows, counted from 1 over data rows (a CSV's header not counted)."""
    where = np.flatnonzero(mask)[:5] + 1
    more = ", ..." if mask.sum() > len(where) else ""
    return f"rows {', '.join(map(str, where))}{more}" if len(where) > 1 or more else f"row {where[0]}"


def _examples(values: pd.Series) -> str:
    counts = values.astype(str).value_counts(dropna=False).head(5)
    return ", ".join(f"{v!r} ({n})" for v, n in counts.items())


def read_table(path: Path) -> pd.DataFrame:
    """All columns of a Parquet, CSV or TSV file, each suffix read with its own reader (no pickle).

    CSV/TSV cells are read as written (no NA guessing beyond empty cells), so a
    target named ``NA`` or ``null`` stays a target.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{path}: cannot read a score table from a '{path.suffix or '(no suffix)'}' "
                         f"file; accepted: {', '.join(SUFFIXES)} (convert it to one of them)")
    if not path.is_file():
        raise UsageError(f"{path}: no such file; give the path of a score table "
                         f"({', '.join(SUFFIXES)})")
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", keep_default_na=False,
                           na_values=[""], low_memory=False)
    except Exception as exc:  # any parser's error: the file is not a table of that kind
        kind = "Parquet" if suffix == ".parquet" else suffix[1:].upper()
        raise ScoreFileError(f"{path}: not a readable {kind} file ({type(exc).__name__}: {exc})") from exc


def load_score_table(path: str | Path, column_target: str = "target", column_label: str = "label",
                     column_score: str = "score", positive_label: str | None = None) -> pd.DataFrame:
    """Read ``path`` and return a checked score table with columns ``target``, ``label``, ``score``.

    Args:
        path: a ``.parquet``, ``.csv`` or ``.tsv`` file.
        column_target, column_label, column_score: the file's names of the three columns.
        positive_label: when labels are strings (e.g. ``genuine``/``impostor``), the
            value meaning "same driver"; every row must then hold it or the one other
            value present, which becomes 0.  Without it labels must be 0 or 1.

    Raises:
        UsageError: an unsupported suffix, a missing file, two roles given one column.
        ScoreFileError: missing columns, missing targets, bad labels, non-finite
            scores, an empty table or one with a single class; each names the file
            and counts the offending rows.
    """
    path = Path(path)
    names = {"target": column_target, "label": column_label, "score": column_score}
    shared = {n for n in names.values() if list(names.values()).count(n) > 1}
    if shared:
        roles = [f"--column-{r}" for r, n in names.items() if n in shared]
        raise UsageError(f"{' and '.join(roles)} all name column {sorted(shared)[0]!r}; "
                         "each role needs its own column")
    raw = read_table(path)
    missing = [f"{n!r} ({role})" for role, n in names.items() if n not in raw.columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in raw.columns) or "none"
        raise ScoreFileError(f"{path}: missing column(s) {', '.join(missing)}; columns found: {found}. "
                             "Name the file's columns with --column-target, --column-label and "
                             "--column-score")
    if raw.empty:
        raise ScoreFileError(f"{path}: the table has no rows; there is nothing to score")
    n = len(raw)
    target = raw[column_target]
    no_target = target.isna().to_numpy()
    if no_target.any():
        raise ScoreFileError(f"{path}: {int(no_target.sum())} of {n} rows have no target in column "
                             f"{column_target!r} ({_rows(no_target)}); every pair needs its target")
    label = _labels(path, raw[column_label], column_label, positive_label)
    score = pd.to_numeric(raw[column_score], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(score)
    if bad.any():
        raise ScoreFileError(f"{path}: {int(bad.sum())} of {n} rows have a score that is NaN, infinite "
                             f"or not a number in column {column_score!r} ({_rows(bad)}); "
                             "every pair needs a finite score")
    n_pos = int(label.sum())
    if n_pos in (0, n):
        which = "positive (label 1, same driver)" if n_pos else "negative (label 0, different drivers)"
        raise ScoreFileError(f"{path}: all {n} pairs are {which}; AUC, EER and TAR need both positive "
                             "and negative pairs" + ("" if positive_label is None else
                                                     f" (--positive-label {positive_label!r})"))
    return pd.DataFrame({"target": target.astype(str).to_numpy(), "label": label, "score": score})


def _labels(path: Path, values: pd.Series, column: str, positive_label: str | None) -> np.ndarray:
    """0/1 labels as int64; see :func:`load_score_table` for the rules."""
    n = len(values)
    missing = values.isna().to_numpy()
    if missing.any():
        raise ScoreFileError(f"{path}: {int(missing.sum())} of {n} rows have no label in column "
                             f"{column!r} ({_rows(missing)}); every pair needs 1 (same driver) or 0")
    if positive_label is not None:
        text = values.astype(str)
        positive = (text == positive_label).to_numpy()
        others = text[~positive]
        if not positive.any():
            raise ScoreFileError(f"{path}: no row has the label {positive_label!r} given as "
                                 f"--positive-label in column {column!r}; its values: {_examples(text)}")
        if others.nunique() > 1:
            negative = others.value_counts().index[0]
            bad = (~positive) & (text != negative).to_numpy()
            raise ScoreFileError(f"{path}: column {column!r} holds {others.nunique()} values besides the "
                                 f"positive label {positive_label!r}, expected one (the negative label): "
                                 f"{_examples(others)}; {int(bad.sum())} of {n} rows hold neither "
                                 f"{positive_label!r} nor the commonest other value {negative!r} "
                                 f"({_rows(bad)})")
        return positive.astype(np.int64)
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        raise ScoreFileError(f"{path}: {int(bad.sum())} of {n} rows have a label other than 0 or 1 in "
                             f"column {column!r} ({_rows(bad)}; values {_examples(values[bad])}); "
                             "1 = same driver, 0 = different drivers. If the labels are strings, "
                             "name the positive one with --positive-label VALUE")
    return numeric.astype(np.int64)


def score_report(table: pd.DataFrame, n_boot: int = 1000, seed: int = 0,
                 source: str | Path = "score table") -> dict[str, Any]:
    """Every metric of a checked score table, as plain numbers (the ``--json`` output).

    The keys of :func:`avbench.metrics.summarize` (mean per-target and pooled AUC
    with their cluster-bootstrap CIs, ``eer``, ``tar_at_far1``, counts), plus
    ``tar_at_far0_1`` (TAR at FAR <= 0.1 %), ``eer_threshold`` (accept
    ``score >= eer_threshold``) with the ``far_at_eer_threshold`` and
    ``frr_at_eer_threshold`` that threshold gives, and ``n_targets_total``.
    ``source`` (the file) prefixes error messages.
    """
    if n_boot < 1:
        raise UsageError(f"--n-boot {n_boot}: need at least 1 bootstrap resample (1000 is usual)")
    if metrics.per_target_auc(table).empty:
        raise ScoreFileError(f"{source}: no target has both positive and negative pairs "
                             f"({table['target'].nunique()} targets, {len(table)} pairs), so the mean "
                             "per-target AUC is undefined; check that --column-target names the column "
                             "that groups the pairs")
    try:
        report = metrics.summarize(table, n_boot=n_boot, seed=seed)
    except ValueError as exc:  # e.g. no resample drew both classes: a CI is undefined
        raise ScoreFileError(f"{source}: {exc} (with --n-boot {n_boot}, --seed {seed}); "
                             "try more resamples") from exc
    report["tar_at_far0_1"] = metrics.tar_at_far(table, 0.001)
    threshold = metrics.eer_threshold(table)
    accepted = table["score"].to_numpy() >= threshold
    positive = table["label"].to_numpy() == 1
    report["eer_threshold"] = threshold
    report["far_at_eer_threshold"] = float(accepted[~positive].mean())
    report["frr_at_eer_threshold"] = float(1.0 - accepted[positive].mean())
    report["n_targets_total"] = int(table["target"].nunique())
    return report


def write_roc(table: pd.DataFrame, path: str | Path) -> Path:
    """The ROC curve as CSV: ``threshold``, ``fpr``, ``tpr`` (:func:`avbench.metrics.roc_points`)."""
    return _write_csv(metrics.roc_points(table), path)


def write_det(table: pd.DataFrame, path: str | Path) -> Path:
    """The DET curve as CSV: ``threshold``, ``fpr``, ``fnr`` and their normal deviates
    ``fpr_probit``, ``fnr_probit`` (``norm.ppf``; rates 0 and 1 give ``-inf``/``inf``)."""
    from scipy.stats import norm

    det = metrics.det_curve(table)
    det["fpr_probit"] = norm.ppf(det["fpr"])
    det["fnr_probit"] = norm.ppf(det["fnr"])
    return _write_csv(det, path)


def _write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)  # shortest round-trip repr of each float
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the curve there ({exc.strerror or exc}); "
                         "choose a writable path") from exc
    return path


def plot(table: pd.DataFrame, path: str | Path, title: str) -> Path:
    """ROC and DET (normal-deviate axes) side by side as a PNG, drawn as the leaderboard draws them."""
    from avbench.leaderboard.figures import roc_det

    title = title.replace("$", r"\$")  # a file name is text, never matplotlib mathtext
    try:
        return roc_det([(title, table)], Path(path), title)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the plot there ({exc.strerror or exc}); "
                         "choose a writable .png path") from exc


def to_json(report: dict[str, Any]) -> str:
    """The report as JSON; every value is a finite number (NaN would not be valid JSON)."""
    return json.dumps(report, indent=2, allow_nan=False)


def _rows_of(report: dict[str, Any]) -> tuple[list[tuple[str, str, str]], str]:
    """(metric, value, CI) rows of the printed report, and the CI level as a percentage."""
    level = f"{report['ci_level']:.0%}"

    def ci(key: str) -> str:
        return f"[{report[key + '_ci_low']:.4f}, {report[key + '_ci_high']:.4f}]"

    return [
        ("mean per-target AUC", f"{report['mean_target_auc']:.4f}", ci("mean_target_auc")),
        ("pooled AUC", f"{report['pooled_auc']:.4f}", ci("pooled_auc")),
        ("EER", f"{report['eer']:.4f}", ""),
        ("EER threshold (accept score >=)", repr(report["eer_threshold"]),
         f"FAR {report['far_at_eer_threshold']:.4f}, FRR {report['frr_at_eer_threshold']:.4f}"),
        ("TAR at FAR 1%", f"{report['tar_at_far1']:.4f}", ""),
        ("TAR at FAR 0.1%", f"{report['tar_at_far0_1']:.4f}", ""),
        ("pairs", str(report["n_pairs"]), ""),
        ("positive pairs (same driver)", str(report["n_positive"]), ""),
        ("negative pairs", str(report["n_negative"]), ""),
        ("targets with an AUC", str(report["n_targets"]), ""),
        ("targets skipped (one class only)", str(report["n_targets_skipped"]), ""),
    ], level


def print_report(report: dict[str, Any], path: str | Path, console) -> None:
    """The report on ``console``: a Rich table in a terminal, else one plain line per metric.

    Outside a terminal (a pipe, a file, CI logs) nothing is wrapped or cut at any
    width, so every value and the file's path are there for ``grep`` and scripts;
    ``--json`` is the machine-readable form.
    """
    rows, level = _rows_of(report)
    note = (f"{level} CI: cluster bootstrap over targets, {report['bootstrap_n']} resamples, "
            f"seed {report['bootstrap_seed']}")
    console.print(f"score table: {path}", soft_wrap=True, highlight=False)
    if console.is_terminal:

        table = full_table("metric", "value", f"{level} CI")
        for metric, value, interval in rows:
            table.add_row(metric, value, interval)
        for column in table.columns:
            column.overflow = "fold"  # a narrow terminal wraps a value, never cuts it to "…"
        console.print(table)
    else:
        for metric, value, interval in rows:
            console.print(f"{metric}: {value}" + (f"  {level} CI {interval}" if interval.startswith("[")
                                                  else f"  ({interval})" if interval else ""),
                          soft_wrap=True, highlight=False)
    console.print(note, soft_wrap=True, highlight=False)
