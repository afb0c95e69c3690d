"""A board with multi_clip rows: its groups are columns in order of k, and a k x method matrix."""

from __future__ import annotations

from conftest import add_result, unlinked

from avbench.results import ResultsStore

GROUPS = ["k1", "k2_embedding", "k2_score", "k4_embedding", "k4_score", "k8_embedding", "k8_score"]


def fill(store: ResultsStore) -> None:
    """Two methods, every group, stored in an order other than the columns' (k8 first)."""
    for method, base in (("f5c_featdiff", 1.0), ("f5c_static", 0.2)):
        for group in reversed(GROUPS):
            k = int(group[1:].partition("_")[0])
            add_result(store, method, "multi_clip", "all", group, base + 0.1 * k)
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.1)


def test_publish_shows_auc_as_a_function_of_k(run_cli, tmp_path):
    db = tmp_path / "results" / "results.sqlite"
    fill(ResultsStore(db))
    r = run_cli("leaderboard", "publish", "--db", str(db), "--out", "boards", "--dataset", "synthetic")
    assert r.returncode == 0, r.stderr
    board = unlinked((tmp_path / "boards" / "synthetic" / "README.md").read_text())
    overall, multi = board.index("## overall (protocol v1)"), board.index("## multi_clip (protocol v1)")
    assert overall < multi  # after the built-in sections, as listed
    section = board[multi:]
    header = next(line for line in section.splitlines() if line.startswith("| # |"))
    columns = [c.strip().replace("\\_", "_") for c in header.strip("|").split("|")]
    assert columns[columns.index("seeds") + 1:] == [*GROUPS, "provenance"]
    assert "mean per-target AUC by clips per video k" in section
    matrix = section[section.index("k \\\\ method"):].splitlines()
    assert "f5c_featdiff · embedding" in matrix[0] and "f5c_static · score" in matrix[0]
    assert [line.split("|")[1].strip() for line in matrix[2:6]] == ["k = 1", "k = 2", "k = 4", "k = 8"]
    html = (tmp_path / "boards" / "synthetic" / "index.html").read_text()
    assert "multi_clip (protocol v1)" in html and "k8_score" in html
