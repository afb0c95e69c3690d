"""``avbench leaderboard publish``: results store → one static board per dataset.

The only inputs are the results store and the score files it points to (plus the
shipped reported figures); a board is never edited by hand.  Publishing the same
store twice writes the same files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

import avbench
from avbench.errors import AvbenchError, UsageError
from avbench.leaderboard import figures as fig
from avbench.leaderboard.board import Figure, attach_reported, build_board, entry_labels, section_id_of
from avbench.leaderboard.compare import comparisons_against
from avbench.leaderboard.entries import (
    SECTION_KEY,
    ScoreReader,
    build_entries,
    latest_rows,
    secondary_cis,
)
from avbench.leaderboard.render import write_board, write_root
from avbench.leaderboard.reported import load_reported, reported_for
from avbench.results import ResultsStore

DEFAULT_AGAINST = "f5c_featdiff"  # the paper's method: the board's reference for comparisons


class MissingScoreFile(AvbenchError):
    """A stored row's score file is gone: curves and comparisons cannot be drawn."""


class WouldDropResults(AvbenchError):
    """The output folder holds a board with results this database does not have."""


def publish(store: ResultsStore, out_dir: Path, datasets: Iterable[str] | None = None,
            against: str = DEFAULT_AGAINST, replace: bool = False,
            progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write ``out_dir/<dataset>/`` for every dataset with results or reported figures.

    Returns the board folders written.  ``datasets`` limits which boards are
    written; naming one with neither results nor reported figures is an error.
    A board already in ``out_dir`` is only rewritten if this database still holds
    every result it shows (a board grows with its database); replacing one made
    from another database takes ``replace=True``.
    """
    say = progress or (lambda msg: None)
    rows = latest_rows(store)
    reader = ScoreReader(store)
    _check_score_files(rows, reader, store)
    reported_all = load_reported()
    available = sorted(set(rows["dataset"]) | set(reported_all["dataset"])) if len(rows) else \
        sorted(set(reported_all["dataset"]))
    chosen = list(datasets) if datasets else available
    unknown = [d for d in chosen if d not in available]
    if unknown:
        raise UsageError(f"no results or reported figures for dataset(s) {', '.join(unknown)} in "
                         f"{store.path}; boards can be published for: {', '.join(available)}")
    say(f"{len(rows)} stored results in {store.path}")
    out_dir = Path(out_dir)
    if not replace:  # every board checked before any is written: all or nothing
        for dataset in chosen:
            _check_nothing_dropped(out_dir / dataset, rows[rows["dataset"] == dataset] if len(rows) else rows,
                                   store)
    written = []
    for dataset in chosen:
        ds_rows = rows[rows["dataset"] == dataset] if len(rows) else rows
        reported = reported_for(dataset, reported_all)
        entries = attach_reported(build_entries(ds_rows, reader), reported)
        board_dir = out_dir / dataset
        shutil.rmtree(board_dir / "figures", ignore_errors=True)  # no stale plots of removed rows
        say(f"{dataset}: {len(entries)} measured entries, {len(reported)} reported figures")
        entries = with_secondary_cis(entries, reader, say)
        drawn = draw_figures(entries, reported, reader, board_dir, say)
        say(f"{dataset}: paired comparisons against {against}")
        comparisons = comparisons_against(entries, reader, against)
        board = build_board(dataset, ds_rows, entries, reported, comparisons, against,
                            avbench.__version__, drawn)
        write_board(board, board_dir, entries, reported)
        written.append(board_dir)
    write_root(out_dir)
    return written


def with_secondary_cis(entries: pd.DataFrame, reader: ScoreReader,
                       say: Callable[[str], None]) -> pd.DataFrame:
    """Add ``secondary_cis`` (pooled AUC, EER, TAR CIs) where the board shows those metrics:
    entries of sections with a single evaluation (None elsewhere)."""
    entries = entries.copy()
    entries["secondary_cis"] = None
    if entries.empty:
        return entries
    evals = entries.groupby(list(SECTION_KEY))[["cell", "test_group"]].transform(
        lambda col: col.nunique())
    single = (evals["cell"] == 1) & (evals["test_group"] == 1)
    if single.any():
        say(f"  bootstrap CIs of pooled AUC, EER and TAR for {int(single.sum())} entries")
    entries.loc[single, "secondary_cis"] = pd.Series(
        {i: secondary_cis(entries.loc[i], reader) for i in entries.index[single]}, dtype=object)
    return entries


def _check_nothing_dropped(board_dir: Path, rows: pd.DataFrame, store: ResultsStore) -> None:
    existing = board_dir / "results.json"
    if not existing.is_file():
        return
    try:
        shown = {k for e in json.loads(existing.read_text()).get("measured", []) for k in e.get("run_keys", [])}
    except (ValueError, AttributeError) as exc:
        raise WouldDropResults(f"{existing} is not a board's results.json ({exc}); publish to "
                               "another --out or pass --replace") from None
    missing = shown - set(rows["run_key"]) if len(rows) else shown
    if missing:
        raise WouldDropResults(
            f"{board_dir} shows {len(missing)} result(s) that {store.path} does not hold (it was "
            "published from another results database); publish to another --out, add those results "
            "to this database, or pass --replace to overwrite that board")


def _check_score_files(rows: pd.DataFrame, reader: ScoreReader, store: ResultsStore) -> None:
    if rows.empty:
        return
    missing = [(r.run_key, r.score_file) for r in rows.itertuples() if not reader.exists(r.score_file)]
    if missing:
        shown = "; ".join(f"{store.resolve(p)} (run key {k[:12]})" for k, p in missing[:5])
        raise MissingScoreFile(
            f"{len(missing)} of {len(rows)} stored results have no score file: {shown}. Boards are "
            f"drawn from score files: copy the store's runs/ folder together with {store.path.name}, "
            "or re-run those cells with --force")


def draw_figures(entries: pd.DataFrame, reported: pd.DataFrame, reader: ScoreReader,
                 board_dir: Path, say: Callable[[str], None]) -> dict[str, list[Figure]]:
    """Every figure of a board, keyed by section id (see :mod:`avbench.leaderboard.board`)."""
    drawn: dict[str, list[Figure]] = {}
    if entries.empty:
        return drawn
    labels = entry_labels(entries)
    for key, group in entries.groupby(list(SECTION_KEY), sort=False):
        protocol, version, fingerprint = key
        sid = section_id_of(protocol, str(version), fingerprint)
        out: list[Figure] = []
        say(f"  figures for {sid}")
        headline = group[(group["cell"] == "all") & (group["test_group"] == "all")]
        if len(headline):
            path = fig.roc_det([(labels[i], reader.pooled(e)) for i, e in headline.iterrows()],
                               board_dir / "figures" / f"{sid}-roc-det.png",
                               f"{protocol}: all test pairs (seeds pooled)")
            out.append(Figure(path.relative_to(board_dir).as_posix(),
                              "ROC and DET curves over all test pairs (pairs of every seed pooled)."))
            path = fig.auc_distribution([(labels[i], reader.target_aucs(e).to_numpy())
                                         for i, e in headline.iterrows()],
                                        board_dir / "figures" / f"{sid}-target-auc.png",
                                        f"{protocol}: per-identity AUC")
            out.append(Figure(path.relative_to(board_dir).as_posix(),
                              "Per-identity (per-target) AUC: one point per test target, "
                              "averaged over seeds."))
        if group["cell"].str.startswith("train_").all():
            matrices = []
            for _, g in group.groupby(["method", "variant"], sort=False):
                matrices.append((labels[g.index[0]], _matrix(g)))
            for method, g in reported[reported["protocol"] == protocol].groupby("method", sort=False):
                matrices.append((f"{method} (reported)", _matrix(g)))
            path = fig.heatmaps(matrices, board_dir / "figures" / f"{sid}-heatmaps.png",
                                f"{protocol}: train (rows) x test (columns) generator")
            out.append(Figure(path.relative_to(board_dir).as_posix(),
                              "Mean per-target AUC of each model trained on one generator (row) and "
                              "tested on each generator (column)."))
        overall = group[group["test_group"] == "all"]
        lengths = overall.groupby(["method", "variant"], sort=False)["clip_length"].nunique()
        if (lengths > 1).any():  # a variant run at several clip lengths (not methods that differ)
            series = []
            for (method, variant), g in overall.groupby(["method", "variant"], sort=False):
                if lengths[(method, variant)] < 2:
                    continue
                series.append((labels[g.index[0]], pd.DataFrame({
                    "clip_length": g["clip_length"].astype(int), "auc": g["mean_target_auc"],
                    "ci_low": g["ci_low"], "ci_high": g["ci_high"]})))
            rep = reported[(reported["protocol"] == protocol) & (reported["test_group"] == "all")]
            rep_series = [(m, pd.DataFrame({"clip_length": g["clip_length"].astype(int),
                                            "auc": g["mean_target_auc"]}))
                          for m, g in rep.groupby("method", sort=False)]
            path = fig.clip_length_curve(series, board_dir / "figures" / f"{sid}-clip-length.png",
                                         f"{protocol}: AUC against clip length", rep_series)
            out.append(Figure(path.relative_to(board_dir).as_posix(),
                              "Mean per-target AUC on all test pairs against clip length T, with "
                              "95 % CIs" + ("; reported values dashed." if rep_series else ".")))
        drawn[sid] = out
    return drawn


def _matrix(evals: pd.DataFrame) -> pd.DataFrame:
    """Train x test AUC matrix, test columns in the order of the training rows."""
    m = evals.pivot_table(index="cell", columns="test_group", values="mean_target_auc", sort=False)
    m.index = [c.removeprefix("train_") for c in m.index]
    return m[[c for c in m.index if c in m.columns] + [c for c in m.columns if c not in m.index]]
