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
def list_(
    kind: Annotated[ListKind, typer.Argument(help="What to list.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table.")] = False,
) -> None:
    """List registered methods, protocols, datasets, landmark extractors or plugins."""
    import json

    reg = State.registry()
    if kind is ListKind.plugins:
        items = [{"plugin": p.name, "module": p.module, "distribution": p.distribution, "version": p.version,
                  "status": "loaded"} for p in reg.plugins.loaded]
        items += [{"plugin": f.plugin, "module": f.source, "distribution": "", "version": "",
                   "status": f"failed: {type(f.cause).__name__}"} for f in reg.failures]
    elif kind is ListKind.methods:
        items = [{"name": s.name, "summary": s.summary, "input": s.input.value, "plugin": s.plugin}
                 for s in reg.methods]
    elif kind is ListKind.protocols:
        items = [{"name": s.name, "summary": s.summary, "version": s.version, "main_score": s.main_score,
                  "plugin": s.plugin} for s in reg.protocols]
    elif kind is ListKind.datasets:
        items = [{"name": s.name, "summary": s.summary, "layout": s.layout, "plugin": s.plugin}
                 for s in reg.datasets]
    else:
        items = [{"name": s.name, "summary": s.summary, "n_points": s.n_points, "version": s.version,
                  "plugin": s.plugin} for s in reg.landmark_extractors]
    if as_json:
        out.print_json(json.dumps(items))
        return
    if kind is ListKind.plugins:
        table = full_table("plugin", "module", "distribution", "version", "status")
        for item in items:
            status = item["status"]
            table.add_row(item["plugin"], item["module"], item["distribution"], item["version"],
                          status if status == "loaded" else Text(status, style="red"))
        out.print(table)
        return
    table = full_table("name", "summary", "details", "plugin", title=kind.value)
    for item in items:
        if kind is ListKind.methods:
            details = f"input: {item['input']}"
        elif kind is ListKind.protocols:
            details = f"v{item['version']}, main score: {item['main_score']}"
        elif kind is ListKind.datasets:
            details = f"--data {item['name']}:PATH  ({item['layout']})"
        else:
            details = (f"{item['n_points']} points" if item["n_points"] else "points as shipped") + f", v{item['version']}"
        table.add_row(item["name"], item["summary"], details, item["plugin"])
    out.print(table if items else f"no {kind.value} registered")
