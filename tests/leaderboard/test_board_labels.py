"""What a board tells a reader beside each number: chance level, enough negatives, model size."""

from __future__ import annotations

import json

import pytest
from conftest import add_result, unlinked

from avbench.leaderboard.board import Value
from avbench.leaderboard.publish import publish
from avbench.results import ResultsStore

CHANCE_NOTE = "† 95 % CI includes chance (0.5): the number is not distinguishable from guessing."
CHANCE_HTML = '<span class="chance" title="95 % CI includes chance (0.5)">†</span>'


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    root = tmp_path_factory.mktemp("labels")
    store = ResultsStore(root / "db" / "results.sqlite")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 3.0)
    add_result(store, "f5c_static", "overall", "all", "all", 0.0)  # guessing
    publish(store, root / "out")
    return store, root / "out" / "synthetic"


def line_of(readme: str, method: str) -> str:
    return next(ln for ln in readme.splitlines() if f"| {method} | measured |" in ln)


def test_a_value_marks_a_ci_that_includes_chance():
    assert Value(auc=0.55, ci_low=0.49, ci_high=0.61).chance_mark == "†"
    assert Value(auc=0.55, ci_low=0.5, ci_high=0.61).chance_mark == "†"  # the bound itself counts
    assert Value(auc=0.62, ci_low=0.51, ci_high=0.7).chance_mark == ""
    assert Value(auc=0.55).chance_mark == ""  # no CI: nothing to say
    assert Value(auc=0.5, ci_low=0.4, ci_high=0.6, chance_level=False).chance_mark == ""  # a TAR


def test_the_board_marks_numbers_whose_ci_includes_chance_and_explains_the_mark(board):
    store, folder = board
    rows = {r.method: r for r in store.all().itertuples()}
    readme = unlinked((folder / "README.md").read_text())
    static = rows["f5c_static"].metrics
    assert static["mean_target_auc_ci_low"] <= 0.5 <= static["mean_target_auc_ci_high"]
    assert (f"| {static['mean_target_auc']:.3f}† [{static['mean_target_auc_ci_low']:.3f}, "
            f"{static['mean_target_auc_ci_high']:.3f}] |") in line_of(readme, "f5c_static")
    featdiff = rows["f5c_featdiff"].metrics
    assert f"| {featdiff['mean_target_auc']:.3f} [" in line_of(readme, "f5c_featdiff")
    assert "†" not in line_of(readme, "f5c_featdiff").split(" | ")[11]
    assert readme.count(CHANCE_NOTE) == 1
    html = (folder / "index.html").read_text()
    assert f'<span class="auc">{static["mean_target_auc"]:.3f}</span>{CHANCE_HTML}' in html
    assert f'<span class="auc">{featdiff["mean_target_auc"]:.3f}</span><span class="ci">' in html
    assert html.count(CHANCE_NOTE) == 1


TAR_NOTE = ("TAR@FAR=1% is shown only where the test set has at least 1,000 negative pairs, so that 1 % is "
            "10 or more false accepts; elsewhere it shows — and the number of negative pairs.")


def test_tar_is_withheld_with_fewer_than_1000_negative_pairs(board):
    store, folder = board
    readme = unlinked((folder / "README.md").read_text())
    assert store.all()["metrics"].map(lambda m: m["n_negative"]).tolist() == [64, 64]
    cells = line_of(readme, "f5c_featdiff").split(" | ")
    assert cells[14] == "— (64 negatives)"
    assert readme.count(TAR_NOTE) == 1
    html = (folder / "index.html").read_text()
    assert '<td class="withheld">—<span class="ci">64 negatives</span></td>' in html
    assert html.count(TAR_NOTE) == 1


def test_tar_is_shown_with_1000_negative_pairs(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    def many_negatives(shift, seed):  # 8 targets x (4 positive + 125 negative pairs): 1,000 negatives
        rng = np.random.default_rng(seed)
        rows = [{"a_path": f"{t}/a{k}.mp4", "b_path": f"{t}/b{k}.mp4", "target": t, "a_driver": t,
                 "b_driver": t if k < 4 else f"d{k}", "a_generator": "tps", "b_generator": "tps",
                 "label": int(k < 4), "score": float(rng.normal() + shift * (k < 4))}
                for t in helpers["TARGETS"] for k in range(129)]
        return pd.DataFrame(rows)

    # The leaderboard conftest's own namespace: a bare `import conftest` at run time may give
    # another folder's conftest module (they share the module name).
    helpers = add_result.__globals__
    monkeypatch.setitem(helpers, "score_table", many_negatives)
    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    row = add_result(store, "f5c_featdiff", "overall", "all", "all", 2.0)
    assert row.metrics["n_negative"] == 1000
    publish(store, tmp_path / "out")
    readme = unlinked((tmp_path / "out" / "synthetic" / "README.md").read_text())
    cells = line_of(readme, "f5c_featdiff").split(" | ")
    assert cells[14].startswith(f"{row.metrics['tar_at_far1']:.3f} [")


SCHEDULE = {"clip_length": 16, "epochs": 10, "steps_per_epoch": 16, "identities_per_batch": 6,
            "videos_per_identity": 3}


def test_methods_are_listed_with_size_input_and_training_budget(tmp_path):
    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 2.0,
               config={"method": {"embedding_dim": 64}, "training": SCHEDULE, "profile": "standard"})
    # A method whose plugin is not installed here: nothing to build it from.
    add_result(store, "elsewhere_net", "overall", "all", "all", 1.0,
               config={"method": {}, "training": SCHEDULE, "profile": "standard"})
    # A stored config that no longer builds, and a schedule without its budget.
    add_result(store, "stgcn", "overall", "all", "all", 0.5)
    publish(store, tmp_path / "out")
    readme = unlinked((tmp_path / "out" / "synthetic" / "README.md").read_text())
    assert "| # | method | kind | statistic | profile | T | input | parameters | embedding | " \
           "budget (steps × clips) | seeds |" in readme
    from avbench.registry import load_registry
    from avbench.runner import build_method

    model = build_method(load_registry().methods.get("f5c_featdiff"), {"embedding_dim": 64})
    n = sum(p.numel() for p in model.parameters())
    assert f"| standard | 16 | frames | {n / 1000:.0f}k | 64 | 160 × 18 | 0 |" in line_of(readme, "f5c_featdiff")
    assert "| standard | 16 | — | — | — | 160 × 18 | 0 |" in line_of(readme, "elsewhere_net")
    assert "| standard | 16 | landmarks | — | — | — | 0 |" in line_of(readme, "stgcn")
    payload = json.loads((tmp_path / "out" / "synthetic" / "results.json").read_text())
    featdiff = next(e for e in payload["measured"] if e["method"] == "f5c_featdiff")
    assert (featdiff["parameters"], featdiff["embedding_dim"], featdiff["input_kind"],
            featdiff["training_budget"]) == (n, 64, "frames", "160 × 18")
    html = (tmp_path / "out" / "synthetic" / "index.html").read_text()
    assert f'<td data-sort="{n}" title="{n}">{n / 1000:.0f}k</td><td>64</td><td data-sort="2880">160 × 18</td>' in html


def test_method_names_link_to_their_paper_and_code(tmp_path):
    from avbench.leaderboard.methods import code_path, paper_url

    assert paper_url("f5c2026") == "https://arxiv.org/abs/2604.23247"
    assert paper_url("stgcn2018") == "https://arxiv.org/abs/1801.07455"  # proceedings with a preprint
    assert paper_url("fan2017") == ""  # registered without a preprint id: no link
    assert paper_url("Someone et al., 2025") == ""  # a third-party plugin's free text
    assert code_path("avbench_methods.f5c:F5CMethod") == "methods/f5c.py"
    assert code_path("somebody_else.model:Net") == "" and code_path(object()) == ""
    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 2.0)
    add_result(store, "stgcn", "overall", "all", "all", 1.0)
    add_result(store, "elsewhere_net", "overall", "all", "all", 0.5)
    publish(store, tmp_path / "out")
    readme = (tmp_path / "out" / "synthetic" / "README.md").read_text()
    assert ("| 1 | [f5c_featdiff](https://arxiv.org/abs/2604.23247) ([code](../../methods/f5c.py)) | "
            "measured |") in readme
    assert "| 2 | [stgcn](https://arxiv.org/abs/1801.07455) ([code](../../methods/stgcn.py)) | measured |" in readme
    assert "| 3 | elsewhere_net | measured |" in readme
    html = (tmp_path / "out" / "synthetic" / "index.html").read_text()
    assert ('<a href="https://arxiv.org/abs/2604.23247" title="paper">f5c_featdiff</a> '
            '<a class="code" href="../../methods/f5c.py" title="methods/f5c.py">code</a>') in html
    assert '<td data-sort="elsewhere_net">elsewhere_net</td>' in html
