"""Fusion rows (``avbench fuse``) are published in a section of their own: their pseudo-method
names are not registered methods, so they are neither ranked nor given method facts."""

from __future__ import annotations

import json

from conftest import add_result, score_table

from avbench.leaderboard.publish import publish
from avbench.metrics import paired_bootstrap, per_target_auc, summarize
from avbench.results import ResultRow, ResultsStore
from avbench.scores import write_scores

NAME = "fusion(zsum):f5c_featdiff+<b>x</b>"  # a stored name is shown as text, never as markup


def add_fusion(store: ResultsStore, components: list[ResultRow]) -> ResultRow:
    """A fusion row as ``avbench fuse`` stores it: evaluation-only, its components named."""
    scores = score_table(2.0, 4242)
    path = store.path.parent / "runs" / "fusion" / "overall" / "all-x" / "scores-all.parquet"
    write_scores(path, scores)
    metrics = summarize(scores, n_boot=200)
    best = per_target_auc(scores) * 0 + 0.75  # a best component at 0.75 on every target
    metrics["vs_best_component"] = {"component": 1, "method": components[0].method,
                                    "row_id": components[0].id, "run_key": components[0].run_key,
                                    **paired_bootstrap(per_target_auc(scores), best, n=200)}
    shas = ["ab" * 32, "cd" * 32]
    trained_on = {"kind": "fusion", "rule": "zsum", "run_key": "+".join(c.run_key for c in components),
                  "dataset": "synthetic", "dataset_fingerprint": "fp-synth-1", "protocol": "overall", "cell": "all",
                  "checkpoint_sha256": "ef" * 32,
                  "components": [{"row_id": c.id, "run_key": c.run_key, "method": c.method, "checkpoint_sha256": s,
                                  "checkpoint": "", "seed": 0} for c, s in zip(components, shas)]}
    return store.add(ResultRow(
        method=NAME, protocol="overall", protocol_version="1", cell="all", test_group="all",
        dataset="synthetic", dataset_fingerprint="fp-synth-1", seed=0, metrics=metrics,
        main_score=metrics["mean_target_auc"], clip_length=16, profile="standard",
        config={"fusion": {"rule": "zsum", "components": []}}, git_commit="0" * 40, device="cpu",
        score_file=store.relative(path), created_at="2020-01-02T03:04:05+00:00", trained_on=trained_on))


def test_a_board_lists_fusion_rows_apart_with_their_gain_over_the_best_component(tmp_path):
    store = ResultsStore(tmp_path / "results" / "results.sqlite")
    a = add_result(store, "f5c_featdiff", "overall", "all", "all", 1.5)
    b = add_result(store, "f5c_static", "overall", "all", "all", 0.2)
    before = tmp_path / "before"
    publish(store, before)
    row = add_fusion(store, [a, b])
    after = tmp_path / "after"
    publish(store, after)

    old, new = (json.loads((d / "synthetic" / "results.json").read_text()) for d in (before, after))
    assert new["measured"] == old["measured"] and new["comparisons"] == old["comparisons"]
    assert "evaluated" not in new  # a fusion is not an evaluated checkpoint
    [listed] = new["fusions"]
    vs = row.metrics["vs_best_component"]
    assert listed["method"] == NAME and listed["rule"] == "zsum" and listed["run_key"] == row.run_key
    assert listed["delta_vs_best"] == vs["delta"] and listed["best_component"] == "f5c_featdiff"
    assert [c["method"] for c in listed["components"]] == ["f5c_featdiff", "f5c_static"]

    md = (after / "synthetic" / "README.md").read_text()
    section = md[md.index("## Score fusions"):md.index("## Comparisons against")]
    assert ("| fusion(zsum):f5c_featdiff+&lt;b&gt;x&lt;/b&gt; | overall v1 | all | all | 0 | "
            f"{row.main_score:.3f}") in section
    assert f"{vs['delta']:+.3f} \\[{vs['ci_low']:+.3f}, {vs['ci_high']:+.3f}\\] vs f5c_featdiff" in section
    assert "f5c_featdiff (abababababab) + f5c_static (cdcdcdcdcdcd)" in section
    assert md.replace(md[md.index("## Score fusions"):md.index("## Comparisons against")], "") == \
        (before / "synthetic" / "README.md").read_text()  # nothing else on the page moved

    html = (after / "synthetic" / "index.html").read_text()
    assert '<a href="#fusions">score fusions</a>' in html and html.count('<tr class="fusion">') == 1
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    publish(store, after)  # republishing keeps the fusion row (it is among the database's rows)
