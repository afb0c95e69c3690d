"""A robustness section shows each perturbation's AUC and its paired change against clean."""

from __future__ import annotations

import json
import sqlite3

from conftest import add_result

from avbench.leaderboard.publish import publish
from avbench.metrics import paired_bootstrap, per_target_auc
from avbench.results import ResultsStore
from avbench.scores import read_scores


def test_the_change_against_clean_is_computed_from_the_score_files(tmp_path):
    store = ResultsStore(tmp_path / "results" / "results.sqlite")
    clean = add_result(store, "f5c_featdiff", "robustness", "all", "clean", 1.5)
    noisy = add_result(store, "f5c_featdiff", "robustness", "all", "noise_10", 0.8)
    # A row stored without its pairing (an older row, say) is shown without a change.
    add_result(store, "f5c_featdiff", "robustness", "all", "hflip", 1.4)
    # What the runner stores for a paired group (its stored values are not what is shown).
    metrics = dict(noisy.metrics, vs_paired={"group": "clean", "delta": 9.0, "ci_low": 9.0, "ci_high": 9.0})
    con = sqlite3.connect(store.path)
    con.execute("update results set metrics = ? where id = ?", (json.dumps(metrics), noisy.id))
    con.commit()
    con.close()
    expected = paired_bootstrap(per_target_auc(read_scores(store.resolve(noisy.score_file))),
                                per_target_auc(read_scores(store.resolve(clean.score_file))))
    out = tmp_path / "board"
    publish(store, out)
    text = (out / "synthetic" / "README.md").read_text()
    section = text[text.index("## robustness"):]
    row = next(line for line in section.splitlines() if "f5c_featdiff" in line)
    # Markdown escapes the brackets of the CI.
    assert (f"Δ {expected['delta']:+.3f} \\[{expected['ci_low']:+.3f}, {expected['ci_high']:+.3f}\\] vs clean"
            in row)
    assert row.count("vs clean") == 1  # clean itself and the unpaired hflip show none
    assert "9.000" not in row  # recomputed from the score files, not the stored value
