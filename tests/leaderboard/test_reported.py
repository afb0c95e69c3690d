"""The shipped published figures: complete, in avbench's names, one shown value per cell."""

from __future__ import annotations

import pytest

from avbench.data.nvfair import GENERATORS
from avbench.leaderboard.reported import TABLE_PRIORITY, load_reported, reported_for
from avbench.registry import load_registry


def test_every_table_iii_to_viii_is_shipped():
    df = load_reported()
    assert sorted(set(df["table"])) == sorted(TABLE_PRIORITY)
    counts = df.groupby("table").size().to_dict()
    # III: 3 methods x (overall + 4 per_gen columns); IV, V: 3x3; VI: 4 x 5; VII: 4 T x 4; VIII: 5 x 5.
    assert counts == {"III": 15, "IV": 9, "V": 9, "VI": 20, "VII": 16, "VIII": 25}


def value(df, **where):
    rows = df
    for k, v in where.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, where
    return rows.iloc[0]["mean_target_auc"]


def test_known_values():
    df = load_reported()
    assert value(df, table="IV", cell="train_lia", test_group="lia") == 0.902
    assert value(df, table="V", cell="train_facevid2vid", test_group="lia") == 0.816
    assert value(df, table="VII", cell="T128", test_group="all") == 0.891
    assert value(df, table="VIII", method="resnet18_pixeldiff", protocol="overall") == 0.759
    assert value(df, table="III", method="nvfair_ldmk_tcnn", protocol="per_gen", test_group="facevid2vid") == 0.870
    assert value(df, table="VI", method="f5c_static", protocol="per_gen", test_group="tps") == 0.631


def test_shown_value_follows_table_priority_and_keeps_disagreements():
    shown = reported_for("nvfair")
    assert not shown.duplicated(["method", "protocol", "cell", "test_group"]).any()
    lia = shown[(shown["method"] == "f5c_featdiff") & (shown["protocol"] == "per_gen")
                & (shown["test_group"] == "lia")].iloc[0]
    assert lia["table"] == "III" and lia["mean_target_auc"] == 0.882
    assert lia["also"] == "Table VI: 0.880"  # printed the other way round there
    overall = shown[(shown["method"] == "f5c_featdiff") & (shown["protocol"] == "overall")].iloc[0]
    assert overall["table"] == "III" and overall["also"] == ""  # VI and VIII agree
    assert reported_for("synthetic").empty


def test_names_match_the_registry_and_protocol_cells():
    """Reported rows must land on cells avbench actually produces for NVFAIR."""
    reg = load_registry()
    methods = {s.name for s in reg.methods}
    df = load_reported()
    assert set(df["method"]) <= methods
    for protocol, group in df.groupby("protocol"):
        cells = reg.protocols.get(protocol).load()(GENERATORS)
        produced = {(c.name, e.name) for c in cells for e in c.evals}
        assert set(zip(group["cell"], group["test_group"])) <= produced, protocol


def test_bad_reported_file_is_refused(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("dataset,source,table,method,protocol,cell,test_group,clip_length,mean_target_auc,note\n"
                   "nvfair,somepaper,III,x,overall,all,all,,0.5,\n")
    with pytest.raises(ValueError, match="unknown source"):
        load_reported(bad)
