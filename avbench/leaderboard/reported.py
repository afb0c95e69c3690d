"""Published figures, shipped as data: the "reported" rows of a leaderboard.

``reported.csv`` beside this module holds every number of the F5C paper's Tables
III-VIII (and NVFAIR's own baseline figures as that paper quotes them), one row
per number and protocol cell, in avbench's names (method, protocol, cell, test
group).  A board shows them as *reported*, never mixed with measured rows, and a
measured row with a reported counterpart shows the difference.

Several tables print the same number (Table III's overall column reappears in
Tables VI, VII and VIII).  One value per cell is shown: the first table in
:data:`TABLE_PRIORITY` (main results before ablations); where another table
prints a different value for the same cell, that value is kept in ``also``, so a
transcription or printing inconsistency is visible instead of silently resolved.
"""

from __future__ import annotations

import io
from importlib.resources import files
from pathlib import Path

import pandas as pd

COLUMNS = ("dataset", "source", "table", "method", "protocol", "cell", "test_group",
           "clip_length", "mean_target_auc", "note")

SOURCES = {
    "f5c2026": "Chapariniya, Odobez, Dellwo, Vukovic. Micro-expression-aware avatar fingerprinting "
               "via inter-frame feature differencing. arXiv 2604.23247, 2026.",
    "nvfair2024": "Prashnani, Nagano, De Mello, Luebke, Gallo. Avatar fingerprinting for authorized "
                  "use of synthetic talking-head videos. ECCV 2024 (as quoted in F5C Table III).",
}

# Main results first, then the ablations that repeat some of them.
TABLE_PRIORITY = ("III", "IV", "V", "VII", "VIII", "VI")

KEY = ("dataset", "method", "protocol", "cell", "test_group")


def load_reported(path=None) -> pd.DataFrame:
    """Every shipped reported number (all tables), checked: one row per CSV line."""
    source = Path(path) if path is not None else files("avbench.leaderboard").joinpath("reported.csv")
    df = pd.read_csv(io.StringIO(source.read_text()), comment="#", dtype={"table": str, "note": str},
                     keep_default_na=False)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: reported figures lack column(s) {', '.join(missing)}")
    unknown = sorted(set(df["source"]) - set(SOURCES))
    if unknown:
        raise ValueError(f"{source}: unknown source(s) {', '.join(unknown)}; known: {', '.join(SOURCES)}")
    bad_tables = sorted(set(df["table"]) - set(TABLE_PRIORITY))
    if bad_tables:
        raise ValueError(f"{source}: table(s) {', '.join(bad_tables)} not in TABLE_PRIORITY")
    df["mean_target_auc"] = df["mean_target_auc"].astype(float)
    df["clip_length"] = pd.to_numeric(df["clip_length"], errors="coerce").astype("Int64")
    return df[list(COLUMNS)]


def reported_for(dataset: str, reported: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reported value shown for each (method, protocol, cell, test group) of ``dataset``.

    Columns: :data:`COLUMNS`, plus ``citation`` and ``also`` (other tables'
    different values for the same cell, e.g. ``"VI: 0.880"``; empty when they agree).
    """
    df = reported if reported is not None else load_reported()
    df = df[df["dataset"] == dataset].copy()
    if df.empty:
        return df.assign(citation=[], also=[])
    df["_rank"] = df["table"].map(TABLE_PRIORITY.index)
    df = df.sort_values("_rank", kind="stable")
    shown = []
    for _, group in df.groupby(list(KEY), sort=False):
        first = group.iloc[0].copy()
        others = group.iloc[1:]
        differ = others[(others["mean_target_auc"] - first["mean_target_auc"]).abs() > 1e-9]
        first["also"] = "; ".join(f"Table {t}: {v:.3f}" for t, v in
                                  zip(differ["table"], differ["mean_target_auc"]))
        shown.append(first)
    out = pd.DataFrame(shown).drop(columns="_rank").reset_index(drop=True)
    out["citation"] = out["source"].map(SOURCES)
    return out
