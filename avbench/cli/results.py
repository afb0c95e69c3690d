"""`avbench results ...`: work with results databases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from avbench.cli.common import (
    out,
    results_app,
    row_summary,
)
from avbench.progress import full_table


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


def _store(db: Optional[Path]):
    from avbench.errors import UsageError
    from avbench.results import ResultsStore, default_db_path

    path = db or default_db_path()
    if not Path(path).is_file():
        raise UsageError(f"--db {path}: no results database there; run `avbench run` first or point "
                         "--db at one")
    return ResultsStore(path)


def _plain(row) -> dict:
    """Every field of a row as JSON-ready values (the stored record, JSON fields parsed)."""
    import dataclasses

    rec = dataclasses.asdict(row)
    for name in ("train_generators", "test_generators"):
        rec[name] = list(rec[name])
    return rec


@results_app.command("list")
def results_list(
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
    method: Annotated[Optional[str], typer.Option(help="Only this method's rows.")] = None,
    protocol: Annotated[Optional[str], typer.Option(help="Only this protocol's rows.")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="Only this dataset's rows.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of the rows' summaries.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the summaries as CSV.")] = False,
) -> None:
    """One line per stored row: id, method, protocol, cell, test group, seed, profile, T, mean
    per-target AUC with its 95 % CI, trained or evaluation-only. Reads; never publishes."""
    import json

    import pandas as pd

    filters = {k: v for k, v in (("method", method), ("protocol", protocol), ("dataset", dataset)) if v}
    rows = [row_summary(r) for r in _store(db).rows(**filters)]
    if as_json:
        out.print_json(json.dumps(rows))  # print_json: no wrapping, valid JSON in a pipe
        return
    if as_csv:
        typer.echo(pd.DataFrame(rows).to_csv(index=False) if rows else "", nl=False)
        return
    table = full_table("id", "method", "protocol", "cell", "test group", "seed", "profile", "T",
                       "AUC [95 % CI]", "kind", "created (UTC)")
    for r in rows:
        ci = ("" if r["ci_low"] is None else f" [{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
        table.add_row(str(r["id"]), r["method"], r["protocol"], r["cell"], r["test_group"], str(r["seed"]),
                      r["profile"], "" if r["clip_length"] is None else str(r["clip_length"]),
                      f"{r['main_score']:.3f}{ci}", r["kind"], r["created_at"][:19])
    out.print(table if rows else "no rows" + (f" matching {filters}" if filters else ""))


@results_app.command("show")
def results_show(
    row_id: Annotated[int, typer.Argument(metavar="ID", help="The row's id (avbench results list).")],
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
) -> None:
    """Every stored field of one row as JSON: metrics, config, environment, paths, provenance."""
    import json

    from avbench.errors import UsageError

    store = _store(db)
    rows = store.rows(id=row_id)
    if not rows:
        raise UsageError(f"{store.path} has no row with id {row_id}; `avbench results list` shows the ids")
    out.print_json(json.dumps(_plain(rows[0])))


@results_app.command("export")
def results_export(
    out_file: Annotated[Path, typer.Option("--out", metavar="FILE", help="Where to write: .csv, .json or .parquet (by its suffix).")],
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
) -> None:
    """Every row with every field to one file, for analysis elsewhere (JSON fields as JSON text
    in CSV and Parquet)."""
    import json

    import pandas as pd

    from avbench.errors import UsageError

    rows = [_plain(r) for r in _store(db).rows()]
    suffix = out_file.suffix.lower()
    if suffix not in (".csv", ".json", ".parquet"):
        raise UsageError(f"--out {out_file}: give a file ending in .csv, .json or .parquet")
    out_file.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        out_file.write_text(json.dumps(rows, indent=1) + "\n")
    else:
        frame = pd.DataFrame(rows)
        for column in frame.columns:
            if frame[column].map(lambda v: isinstance(v, (dict, list))).any():
                frame[column] = frame[column].map(lambda v: json.dumps(v, sort_keys=True))
        if suffix == ".csv":
            frame.to_csv(out_file, index=False)
        else:
            frame.to_parquet(out_file, index=False)
    out.print(f"{len(rows)} rows written to {out_file}", soft_wrap=True)
