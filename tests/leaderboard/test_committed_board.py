"""The repository's ``leaderboards/`` is what ``publish`` makes from ``leaderboards/results/``.

Guards the rule that boards are never edited by hand: re-publishing the committed results
database with the documented command (into the folder itself, which publish marked as its own)
must reproduce the committed text files exactly (plots are checked for presence only: their
bytes depend on the matplotlib build), and must leave the publisher's own files there alone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from avbench.leaderboard.publish import MARKER, publish
from avbench.results import ResultsStore

BOARDS = Path(__file__).resolve().parents[2] / "leaderboards"
TEXT_FILES = ("README.md", "results.json", "results.csv", "index.html", MARKER)


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.skipif(not (BOARDS / "results" / "results.sqlite").is_file(),
                    reason="no committed results database (not a repository checkout)")
def test_committed_boards_are_reproduced_by_publish(tmp_path):
    copy = tmp_path / "leaderboards"
    shutil.copytree(BOARDS, copy)
    publishers = {"REPRODUCE.md": (copy / "REPRODUCE.md").read_bytes(), **{
        f"results/{k}": v for k, v in _digests(copy / "results").items()}}
    # Stale text in the copy, so that only a rewrite can make it equal to the committed files.
    for dataset in ("synthetic", "nvfair"):
        for name in ("README.md", "results.csv", "index.html"):
            (copy / dataset / name).write_text("stale\n")
        (copy / dataset / "results.json").write_text('{"measured": []}\n')
    for name in ("README.md", "index.html"):
        (copy / name).write_text("stale\n")

    # `avbench leaderboard publish --db leaderboards/results/results.sqlite --out leaderboards`
    publish(ResultsStore(copy / "results" / "results.sqlite"), copy)

    for dataset in ("synthetic", "nvfair"):
        for name in TEXT_FILES:
            fresh = (copy / dataset / name).read_text()
            assert fresh == (BOARDS / dataset / name).read_text(), (
                f"leaderboards/{dataset}/{name} differs from a fresh publish: run "
                "`avbench leaderboard publish --db leaderboards/results/results.sqlite --out leaderboards`")
        committed = sorted(p.name for p in (BOARDS / dataset / "figures").glob("*.png"))
        assert committed == sorted(p.name for p in (copy / dataset / "figures").glob("*.png"))
        listed = json.loads((BOARDS / dataset / MARKER).read_text())["files"]
        assert sorted(listed) == sorted(p.relative_to(BOARDS / dataset).as_posix()
                                        for p in (BOARDS / dataset).rglob("*") if p.is_file()
                                        and p.name != MARKER)
    for name in ("README.md", "index.html", MARKER, "assets/board.css"):
        assert (copy / name).read_text() == (BOARDS / name).read_text(), name
    assert (copy / "REPRODUCE.md").read_bytes() == publishers.pop("REPRODUCE.md")
    assert {f"results/{k}": v for k, v in _digests(copy / "results").items()} == publishers
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in BOARDS.iterdir())
