"""`avbench list`: what the plugin registry holds."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.text import Text

from avbench.cli.common import (
    State,
    app,
    out,
)
from avbench.progress import full_table


class ListKind(StrEnum):
    methods = "methods"
    protocols = "protocols"
    datasets = "datasets"
    extractors = "extractors"
    plugins = "plugins"


@app.command("list")
def list_(kind: Annotated[ListKind, typer.Argument(help="What to list.")]) -> None:
    """List registered methods, protocols, datasets, landmark extractors or plugins."""
    reg = State.registry()
    if kind is ListKind.plugins:
        table = full_table("plugin", "module", "distribution", "version", "status")
        for p in reg.plugins.loaded:
            table.add_row(p.name, p.module, p.distribution, p.version, "loaded")
        for f in reg.failures:
            table.add_row(f.plugin, f.source, "", "",
                          Text(f"failed: {type(f.cause).__name__}", style="red"))
        out.print(table)
        return
    table = full_table("name", "summary", "details", "plugin", title=kind.value)
    if kind is ListKind.methods:
        rows = [(s.name, s.summary, f"input: {s.input.value}", s.plugin) for s in reg.methods]
    elif kind is ListKind.protocols:
        rows = [(s.name, s.summary, f"v{s.version}, main score: {s.main_score}", s.plugin)
                for s in reg.protocols]
    elif kind is ListKind.datasets:
        rows = [(s.name, s.summary, f"--data {s.name}:PATH  ({s.layout})", s.plugin)
                for s in reg.datasets]
    else:
        rows = [(s.name, s.summary, (f"{s.n_points} points" if s.n_points else "points as shipped") + f", v{s.version}", s.plugin)
                for s in reg.landmark_extractors]
    for row in rows:
        table.add_row(*row)
    out.print(table if rows else f"no {kind.value} registered")
