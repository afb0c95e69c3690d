"""`avbench results ...`: work with results databases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from avbench.cli.common import (
    out,
    results_app,
)


@results_app.command("merge")
def results_merge(
    sources: Annotated[list[Path], typer.Argument(help="Results databases to copy rows from (their runs folders beside them).")],
    db: Annotated[Optional[Path], typer.Option(help="Destination database (default ./avbench-results/results.sqlite); made if missing.")] = None,
) -> None:
    """Copy the rows the destination lacks (by run key), with their score files and models,
    from other results databases: one portable folder from a sweep measured in parts."""
    from avbench.merge import merge_results
    from avbench.results import default_db_path

    dest = db or default_db_path()
    report = merge_results(list(sources), dest)
    for source in sources:
        out.print(f"{source}: {report.added[str(source)]} rows added, "
                  f"{report.already_present[str(source)]} already present", soft_wrap=True)
    out.print(f"{report.models_copied} model folders copied into {Path(dest).parent}", soft_wrap=True)
    if report.models_missing:
        out.print(f"{len(report.models_missing)} models are not in their source folders (rows kept; "
                  "copy those model folders beside the database to evaluate them):", soft_wrap=True)
        for path in report.models_missing:
            out.print(f"  {path}", soft_wrap=True)


@results_app.command("halve-models")
def results_halve_models(
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
) -> None:
    """Store every model of a results folder with float16 weights (half the bytes), for
    shipping it; loading casts them back. The sidecars record it."""
    from avbench.checkpoints import store_in_half_precision
    from avbench.errors import UsageError
    from avbench.results import ResultsStore, default_db_path

    path = db or default_db_path()
    if not Path(path).is_file():
        raise UsageError(f"--db {path}: no results database there")
    store = ResultsStore(path)
    root = store.path.parent.resolve()
    before = after = count = 0
    for stored in sorted({r.checkpoint for r in store.rows() if r.checkpoint}):
        file = store.resolve(stored)
        if not file.is_file() or not file.resolve().is_relative_to(root):
            out.print(f"skipped {stored}: not a model file inside {root}", soft_wrap=True)
            continue
        old, new = store_in_half_precision(file)
        before, after, count = before + old, after + new, count + 1
        out.print(f"{stored}: {old / 1e6:.2f} MB -> {new / 1e6:.2f} MB", soft_wrap=True)
    out.print(f"{count} models: {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB", soft_wrap=True)
