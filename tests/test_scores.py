"""Score files: built from pairs + index, written atomically, read back exactly."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from avbench.data.index import make_videos_frame
from avbench.evaluation import verification_pairs
from avbench.metrics import mean_target_auc
from avbench.scores import (
    SCORE_COLUMNS,
    read_scores,
    read_scores_metadata,
    score_table,
    write_scores,
)


def videos() -> pd.DataFrame:
    rows = []
    for target in ("id01", "id02"):
        for driver in ("id01", "id02", "id03"):
            for gen in ("tps", "lia"):
                for take in range(2 if driver == target else 1):
                    kind = "self" if driver == target else "cross"
                    rows.append({"path": f"{gen}/{target}/{target}--{take}--{driver}.mp4",
                                 "source": "X", "generator": gen, "target": target,
                                 "driver": driver, "driving_video": f"{take}", "kind": kind,
                                 "split": "test", "is_original": False, "landmarks": ""})
    rows.append({"path": "orig/id01.mp4", "source": "X", "generator": "original",
                 "target": "id01", "driver": "id01", "driving_video": "", "kind": "original",
                 "split": "test", "is_original": True, "landmarks": ""})
    return make_videos_frame(rows)


@pytest.fixture
def table() -> pd.DataFrame:
    v = videos()
    pairs = verification_pairs(v)
    rng = np.random.default_rng(0)
    return score_table(pairs, v, rng.normal(size=len(pairs)))


def test_score_table_columns_and_content(table):
    v = videos()
    assert tuple(table.columns) == SCORE_COLUMNS
    assert len(table) == len(verification_pairs(v))
    assert table["label"].dtype == np.int64 and table["score"].dtype == np.float64
    by_path = v.set_index("path")
    for row in table.itertuples():
        a, b = by_path.loc[row.a_path], by_path.loc[row.b_path]
        assert (a["driver"], b["driver"]) == (row.a_driver, row.b_driver)
        assert (a["generator"], b["generator"]) == (row.a_generator, row.b_generator)
        assert a["target"] == b["target"] == row.target
        assert row.label == int(row.a_driver == row.b_driver)
    assert not table["a_path"].str.startswith("orig").any()  # originals are not paired
    mean_target_auc(table)  # metrics accept a score table as is


def test_score_table_rejects_bad_scores(table):
    v = videos()
    pairs = verification_pairs(v)
    with pytest.raises(ValueError, match="one score per pair"):
        score_table(pairs, v, np.zeros(len(pairs) - 1))
    with pytest.raises(ValueError, match="NaN"):
        score_table(pairs, v, np.full(len(pairs), np.nan))
    with pytest.raises(ValueError, match="not rows of videos"):
        score_table(pairs.assign(a=pairs["a"] + 1000), v, np.zeros(len(pairs)))


def test_round_trip_is_exact_and_keeps_extra_columns(tmp_path, table):
    table = table.assign(clip=np.arange(len(table), dtype=np.int32),
                         note=[f"n{i}" for i in range(len(table))])
    path = write_scores(tmp_path / "run" / "cell" / "scores.parquet", table,
                        metadata={"run_key": "abc", "seed": 0})
    back = read_scores(path)
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    assert read_scores_metadata(path) == {"run_key": "abc", "seed": 0}


def test_write_puts_standard_columns_first(tmp_path, table):
    shuffled = table.assign(extra=1.5)[["extra", *reversed(SCORE_COLUMNS)]]
    back = read_scores(write_scores(tmp_path / "s.parquet", shuffled))
    assert list(back.columns) == [*SCORE_COLUMNS, "extra"]


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path, table, monkeypatch):
    path = tmp_path / "scores.parquet"
    write_scores(path, table)
    write_scores(path, table.assign(score=table["score"] + 1))  # replaces in place
    assert os.listdir(tmp_path) == ["scores.parquet"]
    assert np.allclose(read_scores(path)["score"], table["score"] + 1)

    import pyarrow.parquet as pq

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_scores(path, table)
    assert os.listdir(tmp_path) == ["scores.parquet"]  # no temp file, old file intact
    assert np.allclose(read_scores(path)["score"], table["score"] + 1)


def test_missing_columns_and_bad_files_fail_clearly(tmp_path, table):
    with pytest.raises(ValueError, match="lacks column"):
        write_scores(tmp_path / "s.parquet", table.drop(columns="score"))
    assert not list(tmp_path.iterdir())
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(ValueError, match="bad.parquet"):
        read_scores(bad)
    with pytest.raises(FileNotFoundError, match="nope.parquet"):
        read_scores(tmp_path / "nope.parquet")
