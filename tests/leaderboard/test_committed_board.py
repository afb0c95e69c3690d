"""The repository's ``leaderboards/`` is what ``publish`` makes from ``leaderboards/results/``.

Guards the rule that boards are never edited by hand: re-publishing the committed results
database must reproduce the committed text files exactly (plots are checked for presence
only: their bytes depend on the matplotlib build).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from avbench.leaderboard.publish import publish
from avbench.results import ResultsStore

BOARDS = Path(__file__).resolve().parents[2] / "leaderboards"


@pytest.mark.skipif(not (BOARDS / "results" / "results.sqlite").is_file(),
                    reason="no committed results database (not a repository checkout)")
def test_committed_boards_are_reproduced_by_publish(tmp_path):
    publish(ResultsStore(BOARDS / "results" / "results.sqlite"), tmp_path)
    for dataset in ("synthetic", "nvfair"):
        for name in ("README.md", "results.json", "results.csv", "index.html"):
            fresh = (tmp_path / dataset / name).read_text()
            assert fresh == (BOARDS / dataset / name).read_text(), (
                f"leaderboards/{dataset}/{name} differs from a fresh publish: run "
                "`avbench leaderboard publish --db leaderboards/results/results.sqlite --out leaderboards`")
        committed = sorted(p.name for p in (BOARDS / dataset / "figures").glob("*.png"))
        assert committed == sorted(p.name for p in (tmp_path / dataset / "figures").glob("*.png"))
    assert (tmp_path / "README.md").read_text().replace(" How these results were produced: "
                                                        "[REPRODUCE.md](REPRODUCE.md).", "") == \
        (BOARDS / "README.md").read_text().replace(" How these results were produced: "
                                                    "[REPRODUCE.md](REPRODUCE.md).", "")
