"""Evaluation-only rows (a saved model scored without training) are listed on the board in a
section of their own, and never ranked, averaged or compared with trained runs."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from conftest import add_result, score_table, unlinked

from avbench.leaderboard.entries import evaluated_rows, latest_rows
from avbench.leaderboard.publish import WouldDropResults, publish
from avbench.metrics import summarize
from avbench.results import ResultRow, ResultsStore
from avbench.scores import write_scores

SHA = "ab" * 32
EARLY = "2020-01-02T03:04:05+00:00"  # before every trained row: the board's "as of" stays theirs


def add_evaluated(store: ResultsStore, method: str, shift: float, trained_on: dict,
                  dataset: str = "synthetic", run_key: str = "", seed: int = 0) -> ResultRow:
    """An ``avbench evaluate`` row: overall/all/all of ``dataset``, scored by a saved model."""
    scores = score_table(shift, 1000 + seed)
    path = store.path.parent / "runs" / "evaluate" / f"{len(store)}" / "scores-all.parquet"
    write_scores(path, scores)
    metrics = summarize(scores, n_boot=200, seed=seed)
    return store.add(ResultRow(
        method=method, protocol="overall", protocol_version="1", cell="all", test_group="all",
        dataset=dataset, dataset_fingerprint="fp-synth-1", seed=seed, metrics=metrics,
        main_score=metrics["mean_target_auc"], clip_length=16, profile="standard",
        config={"method": {"name": method}}, git_commit="0123456789abcdef0123456789abcdef01234567",
        device="cpu", score_file=store.relative(path), run_key=run_key, created_at=EARLY,
        trained_on=trained_on))


def origin(**changes) -> dict:
    return {"run_key": "77" * 16, "dataset": "nvfair", "dataset_fingerprint": "fp-nvfair-1",
            "protocol": "overall_originals", "cell": "all", "checkpoint_sha256": SHA} | changes


def section(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin:text.index(end, begin)]


def test_evaluated_checkpoints_are_listed_apart_and_leave_the_ranked_tables_alone(tmp_path):
    store = ResultsStore(tmp_path / "results" / "results.sqlite")
    trained = add_result(store, "f5c_featdiff", "overall", "all", "all", 1.5)
    add_result(store, "f5c_static", "overall", "all", "all", 0.2)
    before = tmp_path / "before"
    publish(store, before)

    # A stored value may hold markup or Markdown: shown as text on both pages.
    evaluated = add_evaluated(store, "f5c_featdiff", 3.0, origin())
    odd = add_evaluated(store, "<b>evil</b>|x", 0.1, origin(dataset="a|b", protocol="<i>p</i>", cell="[c](x)",
                                                            run_key=""), seed=1)
    # Same run key as the trained run's row: must not stand in for it.
    clash = add_evaluated(store, "f5c_featdiff", -1.0, origin(), run_key=trained.run_key, seed=2)
    assert len(latest_rows(store)) == 2 and len(evaluated_rows(store)) == 3
    after = tmp_path / "after"
    publish(store, after)

    old, new = (json.loads((d / "synthetic" / "results.json").read_text()) for d in (before, after))
    assert new["measured"] == old["measured"] and new["comparisons"] == old["comparisons"]
    assert new["as_of"] == old["as_of"]
    assert [(e["method"], e["seed"], e["run_key"], e["trained_on"]) for e in new["evaluated"]] == [
        ("<b>evil</b>|x", 1, odd.run_key, odd.trained_on),
        ("f5c_featdiff", 0, evaluated.run_key, evaluated.trained_on),
        ("f5c_featdiff", 2, trained.run_key, clash.trained_on)]
    assert "evaluated" not in old  # a board without such rows keeps its results.json as it was

    md_old, md_new = ((d / "synthetic" / "README.md").read_text() for d in (before, after))
    auc = evaluated.metrics
    ci = f"[{auc['mean_target_auc_ci_low']:.3f}, {auc['mean_target_auc_ci_high']:.3f}]"
    odd_ci = f"[{odd.metrics['mean_target_auc_ci_low']:.3f}, {odd.metrics['mean_target_auc_ci_high']:.3f}]"
    clash_ci = f"[{clash.metrics['mean_target_auc_ci_low']:.3f}, {clash.metrics['mean_target_auc_ci_high']:.3f}]"
    block = (
        "## Evaluated checkpoints\n\n"
        "Saved models scored on synthetic by `avbench evaluate`, without training. A model trained on "
        "another dataset, protocol or cell measures how that one model transfers, not how its method "
        "learns from these data: these 3 rows are neither ranked in the tables above nor compared. "
        "Each shows mean per-target AUC with the 95 % CI stored with it; a perturbed group (`robustness`) also "
        "its change against the clean group on the same targets, with its paired 95 % CI.\n\n"
        "| method | protocol | cell | test group | seed | AUC [95 % CI] | trained on (dataset/protocol/cell) "
        "| checkpoint |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| &lt;b&gt;evil&lt;/b&gt;\\|x | overall v1 | all | all | 1 | {odd.main_score:.3f} {odd_ci} "
        "| a\\|b/&lt;i&gt;p&lt;/i&gt;/\\[c\\](x) | `abababababab` |\n"
        f"| f5c_featdiff | overall v1 | all | all | 0 | {evaluated.main_score:.3f} {ci} "
        "| nvfair/overall_originals/all | `abababababab` |\n"
        f"| f5c_featdiff | overall v1 | all | all | 2 | {clash.main_score:.3f} {clash_ci} "
        "| nvfair/overall_originals/all | `abababababab` |\n\n")
    # The page is the old one with the section added before the comparisons: nothing else moved.
    assert md_new == md_old.replace("## Comparisons against", block + "## Comparisons against")

    html_old, html_new = ((d / "synthetic" / "index.html").read_text() for d in (before, after))
    ranked = '<section id="overall-v1-fp-synth'
    assert section(html_new, ranked, "</section>") == section(html_old, ranked, "</section>")
    listed = section(html_new, '<section id="evaluated">', "</section>")
    assert len(re.findall(r'<tr class="evaluated">', listed)) == 3
    assert "<td>&lt;b&gt;evil&lt;/b&gt;|x</td>" in listed and "<b>evil" not in html_new
    assert "<td>a|b/&lt;i&gt;p&lt;/i&gt;/[c](x)</td>" in listed and "<i>p" not in html_new
    assert f"<td>nvfair/overall_originals/all</td><td><code title=\"sha256 {SHA}\">abababababab</code></td>" \
        in listed
    assert f'<span class="auc">{evaluated.main_score:.3f}</span><span class="ci">{ci}</span>' in listed
    assert "trained by run key unknown on a|b" in listed  # the odd row's training run is unknown
    assert '<a href="#evaluated">evaluated checkpoints</a>' in html_new
    assert "evaluated" not in html_old

    # Republishing into the same folder keeps every row; a database without them may not drop them.
    publish(store, after)
    bare = ResultsStore(tmp_path / "bare" / "results.sqlite")
    shutil.copytree(store.path.parent / "runs", bare.path.parent / "runs")
    for row in store.rows(trained_on=None):
        bare.add(row)
    with pytest.raises(WouldDropResults, match=r"after/synthetic shows 3 result\(s\) that .*bare/results.sqlite "
                       "does not hold"):
        publish(bare, after)


def test_a_dataset_with_only_evaluated_checkpoints_gets_a_board(tmp_path):
    store = ResultsStore(tmp_path / "results" / "results.sqlite")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.5)
    row = add_evaluated(store, "f5c_featdiff", 2.0, origin(dataset="synthetic"), dataset="elsewhere")
    publish(store, tmp_path / "out")
    board = tmp_path / "out" / "elsewhere"
    payload = json.loads((board / "results.json").read_text())
    assert payload["measured"] == [] and [e["run_key"] for e in payload["evaluated"]] == [row.run_key]
    readme = unlinked((board / "README.md").read_text())
    assert "## Evaluated checkpoints" in readme and "these 1 rows are neither ranked" in readme
    assert "| f5c_featdiff | overall v1 | all | all | 0 |" in readme
    assert "[elsewhere](elsewhere/README.md)" in (tmp_path / "out" / "README.md").read_text()


def test_an_evaluated_perturbed_group_shows_its_stored_paired_change_on_both_pages(tmp_path):
    store = ResultsStore(tmp_path / "results" / "results.sqlite")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.5)
    row = add_evaluated(store, "f5c_featdiff", 2.0, origin(dataset="synthetic", protocol="overall"))
    pair = {"group": "clean", "delta": -0.0421, "ci_low": -0.1024, "ci_high": 0.0078, "n_targets": 23}
    with store._connect() as con:  # the stored row of a robustness group carries vs_paired
        con.execute("UPDATE results SET metrics = ?, test_group = 'hflip' WHERE id = ?",
                    (json.dumps({**row.metrics, "vs_paired": pair}), row.id))
    publish(store, tmp_path / "board")
    md = (tmp_path / "board" / "synthetic" / "README.md").read_text()
    html = (tmp_path / "board" / "synthetic" / "index.html").read_text()
    listed = section(md, "## Evaluated checkpoints", "## Comparisons")
    assert "| hflip |" in listed and "Δ -0.042 \\[-0.102, +0.008\\] vs clean" in listed
    assert "Δ -0.042 [-0.102, +0.008] vs clean" in section(html, 'id="table-evaluated"', "</table>")
    record = json.loads((tmp_path / "board" / "synthetic" / "results.json").read_text())
    [entry] = [e for e in record["evaluated"] if e["test_group"] == "hflip"]
    assert entry["paired_with"] == "clean" and entry["paired_delta"] == pytest.approx(-0.0421)
