"""Write a board's files: ``index.html``, ``README.md``, ``results.json``, ``results.csv``.

HTML and Markdown come from Jinja2 templates (``templates/``) fed the same
:class:`~avbench.leaderboard.board.Board`, so both show the same numbers; the
page's stylesheet and its small sorting script (``assets/``) are copied next to
it, so a board is a self-contained static folder that works offline and from
any web server.

Every string on a board comes from a results database, which is shared between
people, so none is trusted: the HTML templates are autoescaped (a value shows as
text, in element content and in attributes alike), and the Markdown templates pass
each value through :func:`md_text` or :func:`md_code`, so a value can neither add
HTML or a link nor end a table cell or a line.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
from importlib.resources import files
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader
from matplotlib import colormaps
from matplotlib.colors import to_hex

from avbench.leaderboard.board import CHANCE_NOTE, Board

ASSETS = ("board.css", "board.js")
CSV_COLUMNS = [
    "kind", "dataset", "protocol", "protocol_version", "dataset_fingerprint", "method", "variant",
    "profile", "cell", "test_group", "clip_length", "seeds", "n_seeds", "mean_target_auc", "std",
    "ci_low", "ci_high", "pooled_auc", "eer", "tar_at_far1", "n_targets", "n_negative", "input_kind", "parameters", "embedding_dim",
    "training_budget", "reported_auc",
    "reported_table", "reported_statistic", "reported_measured", "delta_reported", "git_commits",
    "created_at", "run_keys", "statistic", "source", "table", "note",
]  # reported rows: their value under mean_target_auc or pooled_auc, as named by statistic


def heat_style(value) -> str:
    """Inline background for a heatmap cell: viridis over AUC 0.4-1.0, as in the PNG heatmaps.

    Built only from the value's number (a colour from the colour map, never a stored
    string), so it cannot carry anything but a colour into the ``style`` attribute.
    """
    if value is None:
        return ""
    auc = float(value.auc)
    if not math.isfinite(auc):
        return ""
    x = min(max((auc - 0.4) / 0.6, 0.0), 1.0)
    colour = to_hex(colormaps["viridis"](x))
    return f"background:{colour};color:{'#fff' if auc < 0.75 else '#000'}"


# Markdown: characters a stored value could use to add HTML (``<``, ``>``, entities), a link
# (``[``, ``]``), a code span or to end a table cell (``|``); a backslash first, so that the
# escapes added here cannot be undone by one in the value.
_MD_ESCAPES = str.maketrans({"\\": "\\\\", "&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|",
                             "[": "\\[", "]": "\\]", "`": "\\`"})


def _one_line(value) -> str:
    return " ".join(str(value).splitlines()) if value is not None else ""


def md_text(value) -> str:
    """``value`` as literal Markdown text on one line, safe in a table cell, a heading or a quote."""
    return _one_line(value).translate(_MD_ESCAPES)


def md_code(value) -> str:
    """``value`` as a Markdown code span on one line, safe in a table cell.

    Inside a code span backslash escapes do not work, so the span is fenced with one
    more backtick than the longest run in the value; a ``|`` is escaped all the same,
    as GitHub's tables split cells before they read code spans.
    """
    text = _one_line(value).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("avbench.leaderboard", "templates"),
                      autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals.update(zip=zip, heat_style=heat_style, chance_note=CHANCE_NOTE)
    env.filters.update(md=md_text, md_code=md_code)
    return env


def _asset(name: str) -> str:
    return files("avbench.leaderboard").joinpath("assets", name).read_text()


def _copy_asset(name: str, folder: Path) -> None:
    """The packaged ``assets/<name>`` into ``folder/assets/``: each board folder is self-contained."""
    (folder / "assets").mkdir(parents=True, exist_ok=True)
    (folder / "assets" / name).write_text(_asset(name))


# What publish has not finished (``new``) or is about to delete (``old``) is named
# ``.avbench-<new|old>-<8 hex digits>-<name>`` inside the folder of boards, and only names of
# that shape are cleared by a later publish, so no file of the publisher's is ever taken for one.
TEMP_NAME = re.compile(r"\.avbench-(new|old)-[0-9a-f]{8}-(.+)")


def temp_name(kind: str, name: str) -> str:
    """A fresh temporary name (see :data:`TEMP_NAME`) for ``name``; ``kind`` is new or old."""
    return f".avbench-{kind}-{secrets.token_hex(4)}-{name}"


def write_atomic(path: Path, text: str, temp_dir: Path) -> None:
    """Write ``path`` under a temporary name in ``temp_dir`` (same file system), then rename it
    over ``path``: a publish killed at any moment leaves the old file or the new one, whole."""
    temp = Path(temp_dir) / temp_name("new", Path(path).name)
    temp.write_text(text)
    os.replace(temp, path)


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
    """Write the board folder (created if missing; figures are already in ``figures/``).

    :func:`avbench.leaderboard.publish.publish` writes into a new, temporary folder and
    swaps it in whole, so the files here need no care for a half-written state.
    """
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
    if board.evaluated:  # evaluation-only rows: listed, never among the measured entries
        payload["evaluated"] = [_json_safe(e.record()) for e in board.evaluated]
    if board.fusions:  # fusion rows (avbench fuse): listed apart too
        payload["fusions"] = [_json_safe(f.record()) for f in board.fusions]
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
    for column in table.select_dtypes(include="object").columns:
        formula = table[column].map(_starts_a_formula).astype(bool)
        if formula.any():  # only those cells: the column keeps its type and number format
            table.loc[formula, column] = "'" + table.loc[formula, column]
    table.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _starts_a_formula(value) -> bool:
    """Whether a spreadsheet would run this cell as a formula (``=HYPERLINK(...)``): such a
    stored string gets a leading apostrophe in results.csv, the usual guard, as the file is
    opened in spreadsheets and its strings come from databases anyone may have written.
    Numbers are never changed."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def write_root(out_dir: Path, boards: list[str]) -> None:
    """``out_dir/README.md``, ``index.html`` and ``assets/board.css``: the list of ``boards``.

    ``boards`` are the names of the board folders in ``out_dir`` (checked by the caller to
    be boards avbench wrote); each file is replaced whole (:func:`write_atomic`).
    """
    out_dir = Path(out_dir)
    listed = []
    for name in sorted(boards):
        try:
            payload = json.loads((out_dir / name / "results.json").read_text())
        except (OSError, ValueError):
            payload = {}  # still listed: the board's own page tells what is wrong with it
        if not isinstance(payload, dict):
            payload = {}
        measured, reported = payload.get("measured", []), payload.get("reported", [])
        listed.append({"dataset": name, "as_of": str(payload.get("as_of") or ""),
                       "measured": len(measured) if isinstance(measured, list) else 0,
                       "reported": len(reported) if isinstance(reported, list) else 0})
    # A publisher's own account of how the results were produced (runs, machine) is linked if present.
    reproduce = "REPRODUCE.md" if (out_dir / "REPRODUCE.md").is_file() else ""
    env = _environment()
    for name, template in (("README.md", "root.md.j2"), ("index.html", "root.html.j2")):
        write_atomic(out_dir / name, env.get_template(template).render(boards=listed, reproduce=reproduce),
                     out_dir)
    (out_dir / "assets").mkdir(exist_ok=True)
    write_atomic(out_dir / "assets" / "board.css", _asset("board.css"), out_dir)
