"""The trained models shipped with the published synthetic board: present, small enough to ship,
intact, and (slow) reproducing the board's number on a CPU."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from avbench import api
from avbench.checkpoints import read_checkpoint_meta
from avbench.evaluate import checkpoint_of_row
from avbench.results import ResultsStore

BOARD = Path(__file__).resolve().parents[1] / "leaderboards" / "results"
SHIPPED_METHODS = ("f5c_featdiff", "f5c_pixeldiff", "f5c_rawfeat", "f5c_static",
                   "nvfair_ldmk_tcnn", "stgcn", "avaprintdb_gcn")
MAX_SHIPPED_BYTES = 25 * 1024 * 1024


def _overall_rows():
    rows = api.results(BOARD / "results.sqlite", protocol="overall", profile="standard")
    return rows[rows["method"].isin(SHIPPED_METHODS) & rows["trained_on"].isna()]


def test_every_overall_model_of_the_board_is_shipped_and_intact():
    rows = _overall_rows()
    # every shipped method's overall row for seeds 0, 1 and 2
    assert sorted(zip(rows["method"], rows["seed"])) == sorted(
        (m, s) for m in SHIPPED_METHODS for s in (0, 1, 2))
    store = ResultsStore(BOARD / "results.sqlite")
    for row_id, method in zip(rows["id"], rows["method"]):
        path = checkpoint_of_row(store, int(row_id))  # confined to the results folder
        meta = read_checkpoint_meta(path)  # its JSON sidecar
        assert meta["method"] == method and meta.get("weights_dtype") == "float16", path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["weights_sha256"], path


def test_the_shipped_models_stay_under_25_mb():
    models = BOARD / "runs" / "models"
    total = sum(p.stat().st_size for p in models.rglob("*") if p.is_file())
    assert 0 < total <= MAX_SHIPPED_BYTES, f"{total / 2**20:.1f} MiB shipped under {models}"


@pytest.mark.slow
def test_the_shipped_featdiff_model_reproduces_its_board_number_on_cpu(tmp_path):
    """The board's figure can be checked on a laptop: the shipped f5c_featdiff overall model of
    seed 0, evaluated on the CPU from a copy of the results folder, gives the board's mean
    per-target AUC within 0.002 (evaluation writes rows, so the committed folder is copied)."""
    rows = _overall_rows()
    row = rows[(rows["method"] == "f5c_featdiff") & (rows["seed"] == 0)].iloc[0]
    copy = tmp_path / "results"
    shutil.copytree(BOARD, copy)
    evaluated = api.evaluate(run=int(row["id"]), db=copy / "results.sqlite", device="cpu")
    assert len(evaluated) == 1 and evaluated.iloc[0]["trained_on"]["run_key"] == row["run_key"]
    assert abs(evaluated.iloc[0]["main_score"] - row["main_score"]) <= 0.002, (
        evaluated.iloc[0]["main_score"], row["main_score"])
