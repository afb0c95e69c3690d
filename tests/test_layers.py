"""The package's layers: data flows one way, so lower layers never import higher ones."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "avbench"


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_data_layer_imports_no_landmark_extraction():
    """Datasets index and decode videos; extracting landmarks from them is a layer above."""
    offenders = {p.name: sorted(m for m in imported_modules(p) if m.startswith("avbench.landmarks"))
                 for p in (PACKAGE / "data").glob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_command_line_imports_the_command_line():
    users = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
             if p.parent.name != "cli" and p.name != "__main__.py"
             and any(m == "avbench.cli" or m.startswith("avbench.cli.") for m in imported_modules(p))]
    assert users == []


def test_command_modules_stay_thin():
    """Orchestration lives below the command line; a command parses options and prints."""
    sizes = {p.name: len(p.read_text().splitlines()) for p in (PACKAGE / "cli").glob("*.py")}
    assert max(sizes.values()) <= 300, sizes
