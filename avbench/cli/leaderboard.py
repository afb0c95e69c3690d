"""`avbench leaderboard publish`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from avbench.cli.common import (
    err,
    leaderboard_app,
    out,
)


@leaderboard_app.command("publish")
def leaderboard_publish(
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder of the published boards, one sub-folder per dataset.")] = Path("leaderboards"),
    dataset: Annotated[Optional[list[str]], typer.Option(help="Only this dataset's board (repeatable).")] = None,
    against: Annotated[str, typer.Option(help="Method the comparison table measures every other method against.")] = "f5c_featdiff",
    replace: Annotated[bool, typer.Option(help="Overwrite boards in --out that show results this database lacks.")] = False,
    include_quick: Annotated[bool, typer.Option("--include-quick", help="Also publish rows of the quick profile (too short to converge), labelled \"not converged (quick profile)\". Smoke rows are never published.")] = False,
) -> None:
    """Render each dataset's board (HTML, Markdown, JSON, CSV, plots) from stored results only."""
    from avbench.errors import UsageError
    from avbench.leaderboard.publish import publish
    from avbench.results import ResultsStore, default_db_path

    path = db or default_db_path()
    if not Path(path).is_file():
        raise UsageError(f"--db {path}: no results database there; run `avbench run` first or "
                         "point --db at one")
    written = publish(ResultsStore(path), out_dir, dataset, against, replace,
                      progress=lambda msg: err.print(msg, highlight=False, markup=False, soft_wrap=True),
                      include_quick=include_quick)
    for folder in written:
        out.print(f"published {folder / 'index.html'}  ({folder / 'README.md'}, results.json, results.csv)")
