"""`avbench results list|show|export`: read a results database without publishing."""

from __future__ import annotations

import io
import json

import pandas as pd
from typer.testing import CliRunner

from avbench.cli import app
from avbench.results import ResultRow, ResultsStore


def _store(tmp_path) -> ResultsStore:
    store = ResultsStore(tmp_path / "results.sqlite")
    long_path = "runs/" + "x" * 120 + "/scores-all.parquet"  # a long path is never cut
    for seed, (method, auc) in enumerate((("f5c_featdiff", 0.8125), ("stgcn", 0.7), ("f5c_featdiff", 0.8))):
        store.add(ResultRow(
            method=method, protocol="overall", protocol_version="1", cell="all", test_group="all",
            dataset="synthetic", dataset_fingerprint="fp", seed=seed, profile="standard", clip_length=64,
            metrics={"mean_target_auc": auc, "mean_target_auc_ci_low": auc - 0.05,
                     "mean_target_auc_ci_high": auc + 0.04, "history": [{"epoch": 1, "loss": 2.5}]},
            main_score=auc, score_file=long_path, config={"method": {"k": 4}}))
    return store


def invoke(*args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_list_prints_every_row_with_its_ci_and_filters(tmp_path):
    store = _store(tmp_path)
    text = invoke("results", "list", "--db", str(store.path))
    assert "0.812 [0.762, 0.853]" in text and "0.700 [0.650, 0.740]" in text
    assert text.count("trained") == 3
    only = invoke("results", "list", "--db", str(store.path), "--method", "stgcn")
    assert "stgcn" in only and "f5c_featdiff" not in only


def test_list_as_json_and_csv_for_scripts(tmp_path):
    store = _store(tmp_path)
    rows = json.loads(invoke("results", "list", "--db", str(store.path), "--json"))
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert rows[0]["main_score"] == 0.8125 and rows[0]["ci_low"] == 0.7625 and rows[0]["kind"] == "trained"
    frame = pd.read_csv(io.StringIO(invoke("results", "list", "--db", str(store.path), "--csv",
                                           "--method", "f5c_featdiff")))
    assert frame["seed"].tolist() == [0, 2] and frame["main_score"].tolist() == [0.8125, 0.8]


def test_show_gives_every_field_of_one_row(tmp_path):
    store = _store(tmp_path)
    row = json.loads(invoke("results", "show", "2", "--db", str(store.path)))
    assert row["method"] == "stgcn" and row["config"] == {"method": {"k": 4}}
    assert row["metrics"]["history"] == [{"epoch": 1, "loss": 2.5}]
    assert row["score_file"] == "runs/" + "x" * 120 + "/scores-all.parquet"
    missing = CliRunner().invoke(app, ["results", "show", "9", "--db", str(store.path)])
    assert missing.exit_code != 0


def test_export_writes_every_row_and_field(tmp_path):
    store = _store(tmp_path)
    for suffix in ("csv", "json", "parquet"):
        target = tmp_path / f"all.{suffix}"
        assert "3 rows written" in invoke("results", "export", "--db", str(store.path), "--out", str(target))
        frame = (pd.read_csv(target) if suffix == "csv" else pd.read_parquet(target) if suffix == "parquet"
                 else pd.DataFrame(json.loads(target.read_text())))
        assert len(frame) == 3 and frame["main_score"].tolist() == [0.8125, 0.7, 0.8]
        metrics = frame["metrics"].iloc[0]
        metrics = metrics if isinstance(metrics, dict) else json.loads(metrics)
        assert metrics["mean_target_auc_ci_high"] == 0.8525


def test_a_missing_database_is_named(tmp_path, run_cli):
    r = run_cli("results", "list", "--db", str(tmp_path / "none.sqlite"))
    assert r.returncode == 2 and f"--db {tmp_path / 'none.sqlite'}: no results database there" in r.stderr
