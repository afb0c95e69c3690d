"""`avbench compare`: two methods, paired over targets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from avbench.cli.common import (
    app,
    out,
)
from avbench.cli.run import print_convergence_note
from avbench.progress import full_table


@app.command()
def compare(
    method_a: Annotated[str, typer.Argument(metavar="A", help="Method whose advantage is measured.")],
    method_b: Annotated[str, typer.Argument(metavar="B", help="Method it is compared with, or 'reported' (A's published figures).")],
    protocol: Annotated[Optional[str], typer.Option(help="Only this protocol's evaluations.")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="Only this dataset (default: every dataset with both).")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Only results of this profile (when a method has several).")] = None,
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison rows as a JSON list.")] = False,
) -> None:
    """A minus B in mean per-target AUC, with a paired bootstrap CI over target identities.

    B = ``reported``: A against its published figures, each on the figure's own statistic
    (mean per-target or pooled AUC)."""
    from avbench.errors import UsageError
    from avbench.leaderboard.board import eval_header
    from avbench.leaderboard.compare import REPORTED, compare_methods
    from avbench.leaderboard.entries import ScoreReader, build_entries, latest_rows
    from avbench.results import ResultsStore, default_db_path

    path = db or default_db_path()
    if not Path(path).is_file():
        raise UsageError(f"--db {path}: no results database there; run `avbench run` first or "
                         "point --db at one")
    store = ResultsStore(path)
    rows = latest_rows(store)
    if dataset is not None:
        rows = rows[rows["dataset"] == dataset]
        if rows.empty:
            raise UsageError(f"--dataset {dataset}: no stored results for it in {path}")
    reader = ScoreReader(store)
    entries = build_entries(rows, reader)
    if method_b == REPORTED:
        _print_against_reported(entries, method_a, protocol, profile, as_json)
        return
    result = compare_methods(entries, reader, method_a, method_b, protocol, profile)
    if as_json:
        _print_json(result)
        return
    table = full_table("dataset", "protocol", "evaluation", method_a, method_b, "Δ (A − B)", "95% CI",
                  "P(Δ ≤ 0)", "targets",
                  title=f"{method_a} − {method_b}: mean per-target AUC, paired bootstrap over targets")
    cells = result.groupby("protocol")["cell"].nunique().to_dict()
    for r in result.itertuples():
        table.add_row(r.dataset, f"{r.protocol} v{r.protocol_version}",
                      eval_header(r.cell, r.test_group, cells[r.protocol] == 1),
                      f"{r.a_auc:.3f}", f"{r.b_auc:.3f}", f"{r.delta:+.3f}",
                      f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]", f"{r.p_not_better:.3f}", str(r.n_targets))
    out.print(table)
    compared = entries[entries["method"].isin([method_a, method_b])]
    for name in sorted(set(compared["profile"]) if profile is None else {profile}):
        print_convergence_note(name)


def _print_json(frame) -> None:
    """The rows of a comparison as a JSON list (every column, NaN as null)."""
    import json

    out.print_json(json.dumps(json.loads(frame.to_json(orient="records"))))


def _print_against_reported(entries, method: str, protocol: str | None, profile: str | None,
                            as_json: bool = False) -> None:
    """``avbench compare A reported``: measured minus published, on the published statistic."""
    from avbench.leaderboard.board import eval_header
    from avbench.leaderboard.compare import compare_with_reported
    from avbench.leaderboard.reported import STATISTICS, load_reported, where

    result = compare_with_reported(entries, load_reported(), method, protocol, profile)
    if as_json:
        _print_json(result)
        return
    table = full_table("dataset", "protocol", "evaluation", "statistic", method, "reported", "Δ (measured − reported)",
                  "source", title=f"{method} − its published figures, each on the figure's statistic")
    cells = entries.groupby("protocol")["cell"].nunique().to_dict()
    for r in result.itertuples():
        table.add_row(r.dataset, f"{r.protocol} v{r.protocol_version}",
                      eval_header(r.cell, r.test_group, cells[r.protocol] == 1), STATISTICS[r.statistic],
                      f"{r.measured:.3f}", f"{r.reported:.3f}", f"{r.delta:+.3f}", f"{r.source}, {where(r.table)}")
    out.print(table)
