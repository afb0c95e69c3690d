"""``avbench run --jobs N``: independent cells as parallel processes, same rows as in turn."""

from __future__ import annotations

import os
import sqlite3
import sys

import pytest

from avbench.errors import AvbenchError
from avbench.parallel import Job, request_argv, run_jobs, slots
from avbench.runner import RunRequest
from avbench.scores import read_scores


def _stored(db):
    con = sqlite3.connect(db)
    rows = con.execute("select cell, test_group, main_score, score_file from results").fetchall()
    con.close()
    return {(cell, group): (score, read_scores(db.parent / path)["score"].tolist())
            for cell, group, score, path in rows}


def test_cells_as_parallel_jobs_store_the_same_rows_as_in_turn(run_cli, tiny_synthetic, tmp_path):
    common = ["run", "--method", "f5c_featdiff", "--protocol", "cross_gen", "--profile", "smoke",
              "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}"]
    one_thread = {"OMP_NUM_THREADS": "1"}  # float sums in the same order in both runs
    seq = run_cli(*common, "--db", str(tmp_path / "seq" / "results.sqlite"), env=one_thread)
    assert seq.returncode == 0, seq.stderr[-2000:]
    par = run_cli(*common, "--jobs", "2", "--db", str(tmp_path / "par" / "results.sqlite"), env=one_thread)
    assert par.returncode == 0, par.stderr[-2000:]
    text = " ".join(par.stdout.split())  # the table title wraps
    assert "3 cells as 2 parallel jobs" in text and "cells computed by parallel jobs" in text
    sequential, parallel = _stored(tmp_path / "seq" / "results.sqlite"), _stored(tmp_path / "par" / "results.sqlite")
    assert len(parallel) == 9 and parallel == sequential  # CPU training is deterministic per cell
    logs = sorted(p.name for p in (tmp_path / "par" / "logs").iterdir())
    assert logs == [f"f5c_featdiff-cross_gen-train_{g}-0.log" for g in ("facevid2vid", "lia", "tps")]


def test_unknown_cell_names_the_cells(run_cli, tiny_synthetic):
    r = run_cli("run", "--method", "f5c_featdiff", "--protocol", "cross_gen", "--profile", "smoke",
                "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}", "--cell", "train_x")
    assert r.returncode != 0
    assert "--cell train_x" in r.stderr and "train_lia" in r.stderr


def test_request_argv_repeats_every_choice(tmp_path):
    req = RunRequest(method="m", protocol="p", data="synthetic:/d", device="cuda", profile="paper", seed=3,
                     extractor="mediapipe", devices=2, compile=True, precision="bf16-mixed",
                     method_overrides={"dropout": 0.0, "head_pool": (4, 4, 1)},
                     training_overrides={"epochs": 3})
    argv = request_argv(req, tmp_path / "r.sqlite", force=True, plugins=["my_plugin"])
    assert argv[:5] == [sys.executable, "-m", "avbench", "--plugin", "my_plugin"]
    tail = " ".join(argv[5:])
    for part in ("--method m", "--protocol p", "--device cuda", "--profile paper", "--seed 3",
                 "--devices 2", "--data synthetic:/d", "--extractor mediapipe", "--set dropout=0.0",
                 "--set head_pool=(4, 4, 1)", "--train epochs=3", "--precision bf16-mixed", "--compile", "--force"):
        assert part in tail


def test_slots_share_the_cores_unless_threads_are_set(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert [e["OMP_NUM_THREADS"] for e in slots(4, 1, gpus=0)] == ["2"] * 4
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert [e["OMP_NUM_THREADS"] for e in slots(4, 1, gpus=0)] == ["3"] * 4


def test_slots_give_each_job_its_own_gpus():
    envs = slots(2, 2, gpus=4)
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0,1", "2,3"]
    assert all("CUDA_VISIBLE_DEVICES" not in e for e in slots(2, 1, gpus=0))
    with pytest.raises(AvbenchError, match="needs 4 GPUs; torch sees 3"):
        slots(2, 2, gpus=3)


def test_a_failed_job_is_reported_with_its_log(tmp_path):
    jobs = [Job("ok", [sys.executable, "-c", "print('fine')"], tmp_path / "ok.log"),
            Job("bad", [sys.executable, "-c", "import sys; print('broken input'); sys.exit(3)"],
                tmp_path / "bad.log")]
    seen = []
    with pytest.raises(AvbenchError, match=r"cell bad failed \(exit 3\)[\s\S]*broken input"):
        run_jobs(jobs, slots(2, 1, gpus=0), progress=lambda d, n, msg: seen.append((d, n)))
    assert sorted(seen) == [(1, 2), (2, 2)]  # both ran to the end; nothing is left running
    assert (tmp_path / "ok.log").read_text().strip() == "fine"
