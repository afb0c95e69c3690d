"""Which runs a board publishes: never smoke runs, quick runs only when asked and labelled."""

from __future__ import annotations

import json

import pytest
from conftest import add_result, unlinked

from avbench.leaderboard.publish import WouldDropResults, publish
from avbench.results import ResultsStore

SMOKE_LINE = ("left out 2 result(s) of the smoke profile: smoke runs only check that avbench runs end "
              "to end and are never published")
QUICK_LINE = ("left out 1 result(s) of the quick profile (too short to converge); publish them with "
              "--include-quick, labelled \"not converged (quick profile)\"")


@pytest.fixture()
def store(tmp_path) -> ResultsStore:
    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.5)  # standard
    add_result(store, "f5c_static", "overall", "all", "all", 0.4, profile="quick")
    add_result(store, "stgcn", "overall", "all", "all", 3.0, profile="smoke", clip_length=8)
    add_result(store, "f5c_static", "overall", "all", "all", 3.0, profile="smoke", clip_length=8)
    return store


def measured_methods(board) -> list[tuple[str, str]]:
    payload = json.loads((board / "results.json").read_text())
    return sorted((e["method"], e["profile"]) for e in payload["measured"])


def test_smoke_and_quick_rows_are_left_out_by_default_and_counted(store, tmp_path):
    said = []
    publish(store, tmp_path / "out", progress=said.append)
    assert SMOKE_LINE in said and QUICK_LINE in said
    board = tmp_path / "out" / "synthetic"
    assert measured_methods(board) == [("f5c_featdiff", "standard")]
    readme = unlinked((board / "README.md").read_text())
    assert "> **Note.** Left out 2 result(s) of the smoke profile: smoke runs only check that avbench " \
           "runs end to end and are never published." in readme
    assert "> **Note.** Left out 1 result(s) of the quick profile (too short to converge); publish them " \
           "with --include-quick, labelled \"not converged (quick profile)\"." in readme
    html = (board / "index.html").read_text()
    assert "Left out 2 result(s) of the smoke profile" in html
    assert "stgcn" not in readme and "f5c_static" not in readme


def test_quick_rows_are_published_on_request_and_labelled_everywhere(store, tmp_path):
    add_result(store, "f5c_featdiff", "overall", "all", "all", 0.5, profile="quick")  # to compare with
    said = []
    publish(store, tmp_path / "out", progress=said.append, include_quick=True)
    assert SMOKE_LINE in said and not any("quick profile" in s for s in said)
    board = tmp_path / "out" / "synthetic"
    assert measured_methods(board) == [("f5c_featdiff", "quick"), ("f5c_featdiff", "standard"),
                                       ("f5c_static", "quick")]
    readme = unlinked((board / "README.md").read_text())
    assert "| f5c_static — not converged (quick profile) | measured |" in readme
    assert "| f5c_featdiff (standard, #" in readme  # a converged profile carries no label
    assert "| f5c_featdiff (quick, #" in readme and ") — not converged (quick profile) | measured |" in readme
    # The comparisons table names it the same way.
    assert "| f5c_static — not converged (quick profile) | " in readme.split("## Comparisons")[1]
    html = (board / "index.html").read_text()
    assert ">f5c_static — not converged (quick profile)<" in html
    assert "stgcn" not in readme  # smoke rows stay out even so


def test_a_board_with_quick_rows_is_not_silently_dropped_by_a_publish_without_them(store, tmp_path):
    publish(store, tmp_path / "out", include_quick=True)
    with pytest.raises(WouldDropResults) as caught:
        publish(store, tmp_path / "out")
    assert str(caught.value) == (
        f"{tmp_path / 'out' / 'synthetic'} shows 1 result(s) that this publish leaves out by their profile "
        "(quick); pass --include-quick to publish them (labelled \"not converged (quick profile)\"), or "
        "--replace to drop them from that board")


def test_publish_command_prints_what_it_left_out(run_cli, store):
    r = run_cli("leaderboard", "publish", "--db", str(store.path), "--out", "boards")
    assert r.returncode == 0, r.stderr
    assert SMOKE_LINE in r.stderr and QUICK_LINE in r.stderr
    r = run_cli("leaderboard", "publish", "--db", str(store.path), "--out", "boards2", "--include-quick")
    assert r.returncode == 0, r.stderr
    assert SMOKE_LINE in r.stderr and "--include-quick" not in r.stderr


def test_rows_are_ranked_only_within_their_profile_and_clip_length(tmp_path):
    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    # A landmark model at T = 64 of the paper's schedule, with a higher AUC ...
    add_result(store, "stgcn", "overall", "all", "all", 3.0, profile="paper", clip_length=64)
    # ... and two frame models at T = 16 of the standard schedule.
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.0)
    add_result(store, "f5c_static", "overall", "all", "all", 0.2)
    publish(store, tmp_path / "out")
    readme = unlinked((tmp_path / "out" / "synthetic" / "README.md").read_text())
    section = readme.split("## overall (protocol v1)")[1].split("\n## ")[0]
    paper, standard = section.split("### profile paper, T = 64 (ranked within this group only)")[1].split(
        "### profile standard, T = 16 (ranked within this group only)")
    ranked = [ln.split(" | ")[:2] for ln in paper.splitlines() if ln.startswith("| ") and "measured" in ln]
    assert ranked == [["| 1", "stgcn"]]
    ranked = [ln.split(" | ")[:2] for ln in standard.splitlines() if ln.startswith("| ") and "measured" in ln]
    assert ranked == [["| 1", "f5c_featdiff"], ["| 2", "f5c_static"]]
    assert ("Rows are ranked (#) only against rows of the same profile and clip length T, one table per "
            "group; the groups' order says nothing about which is better.") in section
    html = (tmp_path / "out" / "synthetic" / "index.html").read_text()
    assert html.count('<table class="sortable board"') == 2  # one table per group: no order across them
    assert "profile paper, T = 64 <span class=\"meta\">(ranked within this group only)</span>" in html


def test_publish_warns_when_a_dataset_has_rows_under_two_fingerprints(tmp_path):
    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.0)
    add_result(store, "f5c_static", "overall", "all", "all", 1.0)
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.0, fingerprint="fp-synth-2")
    said = []
    publish(store, tmp_path / "out", progress=said.append)
    assert ("warning: dataset synthetic has results under 2 dataset fingerprints: fp-synth-1 (2 rows), "
            "fp-synth-2 (1 rows); its board shows each fingerprint in its own sections, never ranked "
            "together. Re-run the older rows on the current data (or publish another database) to get "
            "one comparable board") in said
    said = []
    publish(store, tmp_path / "other", progress=said.append, datasets=["nvfair"])
    assert not any(line.startswith("warning: dataset") for line in said)
