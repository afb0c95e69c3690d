"""Published figures, shipped as data: the "reported" rows of a leaderboard.

``reported.csv`` beside this module holds every number of the F5C paper's Tables
III-VIII (and NVFAIR's own figures as that paper quotes them), one row per number
and protocol cell, in avbench's names (method, protocol, cell, test group).  A board
shows them as *reported*, never mixed with measured rows, and a measured row with a
reported counterpart shows the difference.

Like with like.  Every row names its ``statistic`` (:data:`STATISTICS`): the F5C
paper's cross-generator Tables IV-V (and NVFAIR's cross-generator figure) give the
AUC pooled over all pairs of a test generator, its other tables the mean per-target
AUC.  Measured rows hold both (:func:`avbench.metrics.summarize`), and a comparison
is made only on the reported row's statistic
(:func:`avbench.leaderboard.compare.against_reported`).  Every row is also filed
under the protocol that evaluates the way its source did: the jointly trained models
of Tables III, VI, VII and VIII kept the real videos as self videos, so their rows
belong to the ``*_originals`` protocols, not to ``overall``/``per_gen``/``clip_length``.

Several tables print the same number (Table III's overall column reappears in
Tables VI, VII and VIII).  One value per cell and statistic is shown: the first
table in :data:`TABLE_PRIORITY` (main results before ablations); where another
table prints a different value for the same cell, that value is kept in ``also``,
so a transcription or printing inconsistency is visible instead of silently resolved.
"""

from __future__ import annotations

import io
from importlib.resources import files
from pathlib import Path

import pandas as pd

from avbench import citations

COLUMNS = ("dataset", "source", "table", "method", "protocol", "cell", "test_group",
           "clip_length", "statistic", "auc", "note")

# What a reported AUC is, as the column of measured entries holding the same statistic.
STATISTICS = {"mean_target_auc": "mean per-target AUC", "pooled_auc": "pooled AUC"}

# Main results first, then the ablations that repeat some of them, then figures.
TABLE_PRIORITY = ("III", "IV", "V", "VII", "VIII", "VI", "Fig. 2")

KEY = ("dataset", "method", "protocol", "cell", "test_group", "statistic")


def where(table: str) -> str:
    """How a source location reads on a board: ``Table III``, or a figure as it is named."""
    return table if table.startswith("Fig") else f"Table {table}"


def load_reported(path=None) -> pd.DataFrame:
    """Every shipped reported number (all tables), checked: one row per CSV line."""
    source = Path(path) if path is not None else files("avbench.leaderboard").joinpath("reported.csv")
    df = pd.read_csv(io.StringIO(source.read_text()), comment="#", dtype={"table": str, "note": str},
                     keep_default_na=False)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: reported figures lack column(s) {', '.join(missing)}; "
                         f"expected {', '.join(COLUMNS)}")
    unknown = sorted(set(df["source"]) - set(citations.CITATIONS))
    if unknown:
        raise ValueError(f"{source}: unknown source(s) {', '.join(unknown)}: a source is a key of "
                         f"avbench.citations ({', '.join(citations.CITATIONS)}); register the paper there")
    bad_tables = sorted(set(df["table"]) - set(TABLE_PRIORITY))
    if bad_tables:
        raise ValueError(f"{source}: table(s) {', '.join(bad_tables)} not in TABLE_PRIORITY")
    bad_stats = df[~df["statistic"].isin(list(STATISTICS))]
    if len(bad_stats):
        first = bad_stats.iloc[0]
        raise ValueError(f"{source}: {len(bad_stats)} row(s) with an unknown statistic, e.g. "
                         f"{first['statistic']!r} for {first['method']} {first['protocol']} "
                         f"{first['cell']}/{first['test_group']}; choose one of {', '.join(STATISTICS)}")
    df["auc"] = df["auc"].astype(float)
    df["clip_length"] = pd.to_numeric(df["clip_length"], errors="coerce").astype("Int64")
    return df[list(COLUMNS)]


def reported_for(dataset: str, reported: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reported value shown for each (method, protocol, cell, test group, statistic) of ``dataset``.

    Columns: :data:`COLUMNS`, plus ``citation`` (the source's text from
    :mod:`avbench.citations`), ``also`` (other tables' different values for the same
    cell, e.g. ``"Table VI: 0.880"``; empty when they agree), and ``mean_target_auc``
    and ``pooled_auc``: the value again under the name of its statistic (NaN under the
    other), so a table of measured and reported rows has each number in its own column.
    """
    df = reported if reported is not None else load_reported()
    df = df[df["dataset"] == dataset].copy()
    if df.empty:
        return df.assign(citation=[], also=[], **{s: [] for s in STATISTICS})
    df["_rank"] = df["table"].map(TABLE_PRIORITY.index)
    df = df.sort_values("_rank", kind="stable")
    shown = []
    for _, group in df.groupby(list(KEY), sort=False):
        first = group.iloc[0].copy()
        others = group.iloc[1:]
        differ = others[(others["auc"] - first["auc"]).abs() > 1e-9]
        first["also"] = "; ".join(f"{where(t)}: {v:.3f}" for t, v in zip(differ["table"], differ["auc"]))
        shown.append(first)
    out = pd.DataFrame(shown).drop(columns="_rank").reset_index(drop=True)
    out["citation"] = out["source"].map(citations.cite)
    for statistic in STATISTICS:
        out[statistic] = out["auc"].where(out["statistic"] == statistic)
    return out
