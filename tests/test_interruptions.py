"""A run killed during training (Ctrl-C or SIGKILL) resumes on the same command.

Each test starts ``avbench run`` as a real process, kills it once the epoch-2
progress file exists, checks that nothing half-done is left where a reader would
trust it (no results row, no score file), runs the same command again, and compares
the stored scores with an uninterrupted run's: on CPU they are identical.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from avbench.results import ResultsStore

EPOCHS = 8
ARGS = ("run", "--method", "nvfair_ldmk_tcnn", "--extractor", "dataset", "--protocol", "overall",
        "--profile", "smoke", "--device", "cpu", "--train", f"epochs={EPOCHS}",
        "--train", "steps_per_epoch=8", "--train", "val_every=4")


def _avbench(tiny_synthetic: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "avbench", *ARGS, "--data", f"synthetic:{tiny_synthetic}", "--db", str(db)]


def _env(threads: int = 1) -> dict[str, str]:
    # One thread: one float order for every run (torch reads OMP_NUM_THREADS at start-up).
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            "MKL_DYNAMIC": "FALSE", "COLUMNS": "200"}


def _run(argv: list[str], cwd: Path, threads: int = 1) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=_env(threads), cwd=cwd, timeout=300)


def _scores(db: Path) -> pd.DataFrame:
    rows = ResultsStore(db).rows()
    assert len(rows) == 1, rows
    return pd.read_parquet(ResultsStore(db).resolve(rows[0].score_file))


def _kill_after_epoch(proc: subprocess.Popen, folder: Path, epoch: int, sig: int) -> int:
    """Send ``sig`` once a progress file under ``folder`` holds ``epoch`` or later; return the
    saved epoch.  (The whole folder is searched: where runs go depends on the database's name.)"""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before epoch {epoch} was seen:\n{proc.stderr.read()}"
        saved = list(folder.rglob("last.ckpt"))
        if saved:
            try:
                state = torch.load(saved[0], weights_only=True)
            except (OSError, EOFError, RuntimeError):  # replaced under us: read the next one
                state = {"epoch": 0}
            if state["epoch"] >= epoch:
                proc.send_signal(sig)
                proc.wait(timeout=60)
                return state["epoch"]
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("no progress file appeared in 240 s")


@pytest.fixture(scope="module")
def uninterrupted(tiny_synthetic, tmp_path_factory) -> pd.DataFrame:
    where = tmp_path_factory.mktemp("uninterrupted")
    r = _run(_avbench(tiny_synthetic, where / "r.sqlite"), where)
    assert r.returncode == 0, r.stderr[-3000:]
    return _scores(where / "r.sqlite")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_run_resumes_to_the_uninterrupted_result(sig, uninterrupted, tiny_synthetic, tmp_path):
    db = tmp_path / "r.sqlite"
    argv = _avbench(tiny_synthetic, db)
    # Ctrl-C as in a terminal: a shell starts background jobs (as CI may run pytest) with
    # SIGINT ignored, which Python then keeps; the child gets the default back first.
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    saved = _kill_after_epoch(proc, tmp_path, 2, sig)
    assert 2 <= saved < EPOCHS
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        message = " ".join(proc.stderr.read().split())  # Rich wraps long lines
        assert "error: interrupted." in message and "Run the same command again to resume" in message
    else:
        assert proc.returncode == -signal.SIGKILL
    # Nothing half-done where a reader would trust it: no row, no score file.
    assert ResultsStore(db).rows() == []
    assert list(tmp_path.rglob("scores-*.parquet")) == []

    again = _run(argv, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    resumed_after = int(again.stdout.split("resumed after epoch ")[1].split(",")[0])
    assert resumed_after >= saved  # the kill may land after a later epoch was saved
    row = ResultsStore(db).rows()[0]
    assert row.metrics["resumed_after_epoch"] == resumed_after
    assert row.config["training"]["epochs"] == EPOCHS  # the --train override is stored
    pd.testing.assert_frame_equal(_scores(db), uninterrupted)  # exact: same floats as in one go
    assert list(tmp_path.rglob("last.ckpt")) == []  # stored: nothing left to resume


def test_a_run_resumed_with_another_thread_count_says_so_and_stores_both(tiny_synthetic, tmp_path):
    """Killed while training with one torch thread count, resumed with another: the continuation
    is valid but repeats neither count's floats, so the run says so and the row records both;
    its wall time is that of both parts."""
    db = tmp_path / "r.sqlite"
    argv = _avbench(tiny_synthetic, db)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(threads=2), cwd=tmp_path)
    _kill_after_epoch(proc, tmp_path, 1, signal.SIGKILL)
    [left] = tmp_path.rglob("last.ckpt")
    state = torch.load(left, weights_only=True)  # the kill may land after a later epoch was saved
    saved, first_part = state["epoch"], state["parts"]
    assert 1 <= saved < EPOCHS
    # The count torch actually used, as recorded (2 asked for; a loaded CI machine once gave 1).
    [before] = [p["torch_threads"] for p in first_part]
    assert before in (1, 2)
    after = 1 if before == 2 else 2

    again = _run(argv, tmp_path, threads=after)
    assert again.returncode == 0, again.stderr[-3000:]
    note = " ".join(again.stderr.split())  # Rich wraps long lines
    plural = {1: "1 torch thread", 2: "2 torch threads"}
    assert (f"last.ckpt: resuming after epoch {saved}, saved by a run with {plural[before]} on cpu; "
            f"this run has {plural[after]} on cpu.") in note
    assert note.count("warning: ") == 1 and "ResumeWarning" not in note  # one plain line, no source
    row = ResultsStore(db).rows()[0]
    assert row.environment["torch_threads"] == after
    assert row.environment["resumed_from_torch_threads"] == before
    assert row.environment["resumes"] == 1
    parts = row.environment["training_parts"]
    assert [(p["first_epoch"], p["last_epoch"], p["torch_threads"]) for p in parts] == [
        (1, saved, before), (saved + 1, EPOCHS, after)]
    assert row.wall_time_s >= first_part[0]["wall_time_s"] + parts[1]["wall_time_s"] - 1e-6
    assert row.wall_time_s == pytest.approx(sum(p["wall_time_s"] for p in parts))
