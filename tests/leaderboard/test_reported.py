"""The shipped published figures: complete, in avbench's names, each with its statistic and the
protocol that evaluates the way its source did, one shown value per cell and statistic."""

from __future__ import annotations

import pytest

from avbench import citations
from avbench.data.nvfair import GENERATORS
from avbench.leaderboard.reported import COLUMNS, TABLE_PRIORITY, load_reported, reported_for
from avbench.registry import load_registry

HEADER = ",".join(COLUMNS) + "\n"


def test_every_table_is_shipped_with_its_statistic():
    df = load_reported()
    assert sorted(set(df["table"])) == sorted(TABLE_PRIORITY)
    counts = df.groupby(["table", "statistic"]).size().to_dict()
    # III: 2 F5C methods x (overall + 4 per_gen columns) and NVFAIR's 3 single-generator models;
    # IV, V: 3x3 pooled; VI: 4 x 5; VII: 4 T x 4; VIII: 5 x 5; NVFAIR's 3x3 figure as F5C Fig. 2 plots it.
    assert counts == {("III", "mean_target_auc"): 10, ("III", "pooled_auc"): 3, ("IV", "pooled_auc"): 9,
                      ("V", "pooled_auc"): 9, ("VI", "mean_target_auc"): 20, ("VII", "mean_target_auc"): 16,
                      ("VIII", "mean_target_auc"): 25, ("Fig. 2", "pooled_auc"): 9}


def test_each_source_table_is_filed_under_the_protocol_that_evaluates_as_it_did():
    df = load_reported()
    filed = {k: sorted(set(g["protocol"])) for k, g in df.groupby(["source", "table"])}
    joint = ["overall_originals", "per_gen_originals"]
    assert filed == {("f5c2026", "III"): joint, ("f5c2026", "IV"): ["cross_gen"],
                     ("f5c2026", "V"): ["cross_gen"], ("f5c2026", "VI"): joint,
                     ("f5c2026", "VII"): ["clip_length_originals"], ("f5c2026", "VIII"): joint,
                     ("nvfair2024", "III"): ["cross_gen"], ("nvfair2024", "Fig. 2"): ["cross_gen"]}
    # Nothing is compared with avbench's default protocols, which leave the real videos out.
    assert not set(df["protocol"]) & {"overall", "per_gen", "clip_length"}


def test_nvfair_figures_are_single_generator_models_not_one_overall_model():
    df = load_reported()
    nv = df[df["method"] == "nvfair_ldmk_tcnn"]
    rows = sorted(zip(nv["table"], nv["cell"], nv["test_group"], nv["statistic"], nv["auc"]))
    diagonal = [("III", f"train_{g}", g, "pooled_auc", v) for g, v in
                (("facevid2vid", 0.870), ("tps", 0.850), ("lia", 0.840))]
    figure = [("Fig. 2", f"train_{tr}", te, "pooled_auc", v) for tr, te, v in (
        ("facevid2vid", "facevid2vid", 0.87), ("facevid2vid", "tps", 0.82), ("facevid2vid", "lia", 0.84),
        ("tps", "facevid2vid", 0.85), ("tps", "tps", 0.85), ("tps", "lia", 0.84),
        ("lia", "facevid2vid", 0.83), ("lia", "tps", 0.82), ("lia", "lia", 0.84))]
    assert rows == sorted(diagonal + figure)
    assert set(nv["protocol"]) == {"cross_gen"} and set(nv["source"]) == {"nvfair2024"}
    assert not (nv["auc"] == 0.853).any()  # the mean of the diagonal is not a model's result
    assert all("0.853" in note for note in nv.loc[nv["table"] == "III", "note"])


def value(df, **where):
    rows = df
    for k, v in where.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, where
    return rows.iloc[0]["auc"]


def test_known_values():
    df = load_reported()
    assert value(df, table="IV", cell="train_lia", test_group="lia", statistic="pooled_auc") == 0.902
    assert value(df, table="V", cell="train_facevid2vid", test_group="lia") == 0.816
    assert value(df, table="VII", cell="T128", test_group="all", statistic="mean_target_auc") == 0.891
    assert value(df, table="VIII", method="resnet18_pixeldiff", protocol="overall_originals") == 0.759
    assert value(df, table="III", method="f5c_featdiff", protocol="per_gen_originals",
                 test_group="facevid2vid") == 0.869
    assert value(df, table="VI", method="f5c_static", protocol="per_gen_originals", test_group="tps") == 0.631


def test_shown_value_follows_table_priority_and_keeps_disagreements():
    shown = reported_for("nvfair")
    assert not shown.duplicated(["method", "protocol", "cell", "test_group", "statistic"]).any()
    lia = shown[(shown["method"] == "f5c_featdiff") & (shown["protocol"] == "per_gen_originals")
                & (shown["test_group"] == "lia")].iloc[0]
    assert lia["table"] == "III" and lia["auc"] == 0.882 and lia["mean_target_auc"] == 0.882
    assert lia["also"] == "Table VI: 0.880"  # printed the other way round there
    overall = shown[(shown["method"] == "f5c_featdiff") & (shown["protocol"] == "overall_originals")].iloc[0]
    assert overall["table"] == "III" and overall["also"] == ""  # VI and VIII agree
    diagonal = shown[(shown["method"] == "nvfair_ldmk_tcnn") & (shown["cell"] == "train_tps")
                     & (shown["test_group"] == "tps")].iloc[0]
    assert diagonal["table"] == "III" and diagonal["also"] == ""  # Fig. 2's 0.85 is the same number
    assert diagonal["pooled_auc"] == 0.85 and diagonal["mean_target_auc"] != diagonal["mean_target_auc"]
    assert diagonal["citation"] == citations.get("nvfair2024").text
    assert reported_for("synthetic").empty


def test_names_match_the_registry_and_protocol_cells():
    """Reported rows must land on cells avbench actually produces for NVFAIR."""
    reg = load_registry()
    methods = {s.name for s in reg.methods}
    df = load_reported()
    assert set(df["method"]) <= methods
    for protocol, group in df.groupby("protocol"):
        cells = reg.protocols.get(protocol).cells(GENERATORS)
        produced = {(c.name, e.name) for c in cells for e in c.evals}
        assert set(zip(group["cell"], group["test_group"])) <= produced, protocol


@pytest.mark.parametrize(("row", "message"), [
    ("nvfair,somepaper,III,x,overall,all,all,,mean_target_auc,0.5,\n",
     "unknown source.s. somepaper: a source is a key of avbench.citations"),
    ("nvfair,f5c2026,III,x,overall,all,all,,auc,0.5,\n",
     "1 row.s. with an unknown statistic, e.g. 'auc' for x overall all/all; choose one of "
     "mean_target_auc, pooled_auc"),
])
def test_bad_reported_file_is_refused(tmp_path, row, message):
    bad = tmp_path / "r.csv"
    bad.write_text(HEADER + row)
    with pytest.raises(ValueError, match=message):
        load_reported(bad)


def test_a_file_without_the_statistic_column_is_refused(tmp_path):
    old = tmp_path / "r.csv"
    old.write_text("dataset,source,table,method,protocol,cell,test_group,clip_length,mean_target_auc,note\n"
                   "nvfair,f5c2026,III,x,overall,all,all,,0.5,\n")
    with pytest.raises(ValueError, match=r"r.csv: reported figures lack column\(s\) statistic, auc"):
        load_reported(old)
