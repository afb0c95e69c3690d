"""Several ``avbench run`` processes at once on one results database and one cold cache.

Every process's rows land, a second process with the same run key waits for the
first and reuses its row instead of training into the same files, and the frames
decoded concurrently into the shared cache give exactly the scores of a run with a
cache of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from avbench.results import ResultsStore
from avbench.scores import read_scores_metadata

RUNS = [("f5c_featdiff", 0), ("f5c_featdiff", 1), ("f5c_static", 0), ("f5c_featdiff", 0)]  # last: a twin


def _argv(tiny_synthetic: Path, db: Path, method: str, seed: int) -> list[str]:
    return [sys.executable, "-m", "avbench", "run", "--method", method, "--protocol", "overall",
            "--profile", "smoke", "--device", "cpu", "--seed", str(seed),
            "--data", f"synthetic:{tiny_synthetic}", "--db", str(db)]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "AVBENCH_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}


def test_concurrent_runs_share_one_store_and_cache(tiny_synthetic, tmp_path):
    db, cache = tmp_path / "shared" / "r.sqlite", tmp_path / "shared-cache"
    procs = [subprocess.Popen(_argv(tiny_synthetic, db, m, s), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env(cache), cwd=tmp_path)
             for m, s in RUNS]
    for p in procs:
        _, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, stderr[-3000:]

    rows = ResultsStore(db).rows()
    assert sorted((r.method, r.seed) for r in rows) == sorted(set(RUNS))  # the twin reused, not re-added
    for row in rows:
        meta = read_scores_metadata(ResultsStore(db).resolve(row.score_file))
        assert meta["run_key"] == row.run_key  # every row points at its own scores
    assert [p for p in cache.rglob("*") if ".tmp" in p.name] == []  # no half-written entry left

    alone_db = tmp_path / "alone" / "r.sqlite"
    alone = subprocess.run(_argv(tiny_synthetic, alone_db, "f5c_featdiff", 0), capture_output=True,
                           text=True, env=_env(tmp_path / "own-cache"), cwd=tmp_path, timeout=600)
    assert alone.returncode == 0, alone.stderr[-3000:]
    shared_row = next(r for r in rows if (r.method, r.seed) == ("f5c_featdiff", 0))
    alone_row = ResultsStore(alone_db).rows()[0]
    assert alone_row.run_key == shared_row.run_key
    pd.testing.assert_frame_equal(pd.read_parquet(ResultsStore(alone_db).resolve(alone_row.score_file)),
                                  pd.read_parquet(ResultsStore(db).resolve(shared_row.score_file)))
