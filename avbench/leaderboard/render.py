"""Write a board's files: ``index.html``, ``README.md``, ``results.json``, ``results.csv``.

HTML and Markdown come from Jinja2 templates (``templates/``) fed the same
:class:`~avbench.leaderboard.board.Board`, so both show the same numbers; the
page's stylesheet and its small sorting script (``assets/``) are copied next to
it, so a board is a self-contained static folder that works offline and from
any web server.
"""

from __future__ import annotations

import json
import math
from importlib.resources import files
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib import colormaps
from matplotlib.colors import to_hex

from avbench.leaderboard.board import Board

ASSETS = ("board.css", "board.js")
CSV_COLUMNS = [
    "kind", "dataset", "protocol", "protocol_version", "dataset_fingerprint", "method", "variant",
    "profile", "cell", "test_group", "clip_length", "seeds", "n_seeds", "mean_target_auc", "std",
    "ci_low", "ci_high", "pooled_auc", "eer", "tar_at_far1", "n_targets", "reported_auc",
    "reported_table", "delta_reported", "git_commits", "created_at", "run_keys", "source", "table", "note",
]


def heat_style(value) -> str:
    """Inline background for a heatmap cell: viridis over AUC 0.4-1.0, as in the PNG heatmaps."""
    if value is None:
        return ""
    x = min(max((value.auc - 0.4) / 0.6, 0.0), 1.0)
    colour = to_hex(colormaps["viridis"](x))
    return f"background:{colour};color:{'#fff' if value.auc < 0.75 else '#000'}"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("avbench.leaderboard", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.globals.update(zip=zip, heat_style=heat_style)
    return env


def _copy_asset(name: str, folder: Path) -> None:
    """The packaged ``assets/<name>`` into ``folder/assets/``: each board folder is self-contained."""
    (folder / "assets").mkdir(parents=True, exist_ok=True)
    (folder / "assets" / name).write_text(files("avbench.leaderboard").joinpath("assets", name).read_text())


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def _records(df: pd.DataFrame) -> list[dict]:
    return [_json_safe(r) for r in df.to_dict(orient="records")]


def write_board(board: Board, board_dir: Path, entries: pd.DataFrame, reported: pd.DataFrame) -> Path:
    """Write the board folder (created if missing; figures are already in ``figures/``)."""
    board_dir = Path(board_dir)
    for name in ASSETS:
        _copy_asset(name, board_dir)
    env = _environment()
    (board_dir / "index.html").write_text(env.get_template("board.html.j2").render(board=board))
    (board_dir / "README.md").write_text(env.get_template("board.md.j2").render(board=board))
    payload = {
        "dataset": board.dataset, "as_of": board.as_of, "published_with": f"avbench {board.avbench_version}",
        "fingerprints": board.fingerprints, "metric": "mean per-target AUC, 95 % cluster-bootstrap CI over targets",
        "measured": _records(entries), "reported": _records(reported),
        "comparisons": {"against": board.against, "rows": _records(board.comparisons)},
        "sources": board.citations,
    }
    (board_dir / "results.json").write_text(json.dumps(payload, indent=1, sort_keys=True, allow_nan=False) + "\n")
    _write_csv(board_dir / "results.csv", entries, reported)
    return board_dir


def _write_csv(path: Path, entries: pd.DataFrame, reported: pd.DataFrame) -> None:
    measured = entries.assign(
        kind="measured", seeds=entries["seeds"].map(lambda s: ";".join(map(str, s))),
        git_commits=entries["git_commits"].map(";".join), run_keys=entries["run_keys"].map(";".join),
        source="", table="", note=entries["ci_note"]) if len(entries) else pd.DataFrame(columns=CSV_COLUMNS)
    rep = reported.assign(kind="reported") if len(reported) else pd.DataFrame(columns=CSV_COLUMNS)
    table = pd.concat([measured.reindex(columns=CSV_COLUMNS), rep.reindex(columns=CSV_COLUMNS)],
                      ignore_index=True)
    table.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")


def write_root(out_dir: Path) -> None:
    """``out_dir/README.md`` and ``index.html`` listing every board folder found there."""
    out_dir = Path(out_dir)
    boards = []
    for child in sorted(out_dir.iterdir()):
        data = child / "results.json"
        if child.is_dir() and data.is_file():
            payload = json.loads(data.read_text())
            boards.append({"dataset": child.name, "as_of": payload.get("as_of", ""),
                           "measured": len(payload.get("measured", [])),
                           "reported": len(payload.get("reported", []))})
    # A publisher's own account of how the results were produced (runs, machine) is linked if present.
    reproduce = "REPRODUCE.md" if (out_dir / "REPRODUCE.md").is_file() else ""
    env = _environment()
    (out_dir / "README.md").write_text(env.get_template("root.md.j2").render(boards=boards, reproduce=reproduce))
    (out_dir / "index.html").write_text(env.get_template("root.html.j2").render(boards=boards, reproduce=reproduce))
    _copy_asset("board.css", out_dir)
