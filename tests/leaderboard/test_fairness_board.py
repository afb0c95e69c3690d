"""The board breaks a single-column section's AUC down by source population, with the gap."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
from conftest import TARGETS, add_result

from avbench.leaderboard.publish import publish
from avbench.metrics import group_breakdown, per_target_auc, seed_mean_target_aucs
from avbench.results import ResultsStore
from avbench.scores import read_scores

SOURCE_OF = pd.Series({t: "CREMA-D" if i < 4 else "RAVDESS" for i, t in enumerate(TARGETS)})


def _store_breakdown(store: ResultsStore, row) -> dict:
    """What the runner stores: the breakdown of the row's own scores."""
    breakdown = group_breakdown(per_target_auc(read_scores(store.resolve(row.score_file))), SOURCE_OF, seed=row.seed)
    con = sqlite3.connect(store.path)
    con.execute("update results set metrics = ? where id = ?",
                (json.dumps(dict(row.metrics, per_source=breakdown)), row.id))
    con.commit()
    con.close()
    return breakdown


def test_sources_and_the_largest_gap_are_columns_of_a_single_column_section(tmp_path):
    store = ResultsStore(tmp_path / "results" / "results.sqlite")
    one = add_result(store, "stgcn", "overall", "all", "all", 1.0)
    stored = _store_breakdown(store, one)
    seeds = [add_result(store, "f5c_featdiff", "overall", "all", "all", 1.5, seed=s) for s in (0, 1)]
    for row in seeds:
        _store_breakdown(store, row)
    add_result(store, "f5c_static", "overall", "all", "all", 0.2)  # stored before breakdowns: dashes
    out = tmp_path / "board"
    publish(store, out)
    text = (out / "synthetic" / "README.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| # |"))
    assert "| AUC on CREMA-D | AUC on RAVDESS | largest source gap |" in header
    stgcn = next(line for line in text.splitlines() if "stgcn" in line and line.startswith("|"))
    gap = stored["largest_gap"]
    assert f"{gap['gap']:.3f} [{gap['ci_low']:.3f}, {gap['ci_high']:.3f}]" in stgcn
    assert f"{stored['groups']['CREMA-D']['auc']:.3f}" in stgcn
    # Two seeds: recomputed from the score files on the seed-averaged per-target AUCs.
    both = group_breakdown(seed_mean_target_aucs([read_scores(store.resolve(r.score_file)) for r in seeds]),
                           SOURCE_OF, n=seeds[0].metrics["bootstrap_n"], seed=seeds[0].metrics["bootstrap_seed"])
    featdiff = next(line for line in text.splitlines() if "f5c_featdiff" in line and line.startswith("|"))
    g = both["largest_gap"]
    assert f"{g['gap']:.3f} [{g['ci_low']:.3f}, {g['ci_high']:.3f}]" in featdiff
    static = next(line for line in text.splitlines() if "f5c_static" in line and line.startswith("|"))
    assert "| – | – | – |" in static  # no breakdown stored: shown as missing, not invented
    assert "AUC on a source: the mean per-target AUC over the test targets of that source" in text
