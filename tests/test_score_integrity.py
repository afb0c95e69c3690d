"""Score files belong to their database's rows: kept apart per database, checked by hash and
by place before they are read, and never left behind without a row.

A results folder, its database and its score files are untrusted input: another run or
another database may have written over a file, and a row may point anywhere.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avbench.errors import UsageError
from avbench.leaderboard.entries import ScoreReader, build_entries, latest_rows
from avbench.metrics import summarize
from avbench.results import (
    SCHEMA_VERSION,
    ResultRow,
    ResultsStore,
    ScoreFileError,
    runs_dir_of,
)
from avbench.scores import PendingScoreFiles, file_sha256, read_scores, write_scores


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scores(shift: float, seed: int = 0) -> pd.DataFrame:
    """6 targets, 3 positive and 6 negative pairs each; positives shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(6):
        for k in range(9):
            label = int(k < 3)
            rows.append({"a_path": f"t{t}/a{k}.mp4", "b_path": f"t{t}/b{k}.mp4", "target": f"t{t}",
                         "a_driver": f"t{t}", "b_driver": f"t{t}" if label else f"d{k}",
                         "a_generator": "tps", "b_generator": "tps", "label": label,
                         "score": float(rng.normal() + shift * label)})
    return pd.DataFrame(rows)


def store_result(store: ResultsStore, method: str, shift: float, rel: str | None = None,
                 record_hash: bool = True, seed: int = 0) -> ResultRow:
    """One overall/all/all row of ``method`` with its score file at ``rel`` (inside the store's
    runs folder by default), recording the file's SHA-256 as a run does."""
    table = scores(shift, seed)
    path = store.path.parent / (rel or f"{store.runs_dir.name}/{method}/overall/all-{seed}/scores-all.parquet")
    write_scores(path, table)
    metrics = summarize(table, n_boot=50, seed=0)
    return store.add(ResultRow(
        method=method, protocol="overall", protocol_version="1", cell="all", test_group="all",
        dataset="synthetic", dataset_fingerprint="fp", seed=seed, metrics=metrics,
        main_score=metrics["mean_target_auc"], profile="standard", config={"method": {"name": method}},
        score_file=store.relative(path), score_sha256=sha(path) if record_hash else None))


# --- one runs folder per database -------------------------------------------------------

def test_each_database_name_has_its_own_runs_folder(tmp_path):
    assert runs_dir_of(tmp_path / "results.sqlite") == tmp_path / "runs"  # existing stores, README
    assert runs_dir_of(tmp_path / "a.sqlite") == tmp_path / "runs-a.sqlite"
    assert runs_dir_of(tmp_path / "a.db") == tmp_path / "runs-a.db"  # the whole name: no clash with a.sqlite
    assert ResultsStore(tmp_path / "b.sqlite").runs_dir == tmp_path / "runs-b.sqlite"


@pytest.fixture(scope="module")
def plan(tiny_synthetic):
    from avbench.registry import load_registry
    from avbench.runner import RunRequest, plan_run

    return plan_run(load_registry(), RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                                profile="smoke", data=f"synthetic:{tiny_synthetic}"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("frames")  # decoded once for every run of this module


def test_two_databases_in_one_folder_keep_their_own_score_files(plan, cache, tmp_path):
    """The same run (same run key) stored in a.sqlite and then b.sqlite: b's run writes its own
    files, so a's file is untouched and a's rows still read their own scores."""
    from avbench.runner import execute

    a, b = ResultsStore(tmp_path / "a.sqlite"), ResultsStore(tmp_path / "b.sqlite")
    [row_a] = execute(plan, store=a, cache_dir=cache)[0].rows
    a_file = a.resolve(row_a.score_file)
    a_bytes = a_file.read_bytes()
    [row_b] = execute(plan, store=b, cache_dir=cache)[0].rows
    assert row_a.run_key == row_b.run_key
    assert row_a.score_file.startswith("runs-a.sqlite/f5c_featdiff/overall/all-0-")
    assert row_b.score_file.startswith("runs-b.sqlite/f5c_featdiff/overall/all-0-")
    assert a_file.read_bytes() == a_bytes  # not written over by b's run
    for store, row in ((a, row_a), (b, row_b)):
        path = store.resolve(row.score_file)
        assert row.score_sha256 == sha(path) == store.rows()[0].score_sha256  # recorded, and stored
        assert len(ScoreReader(store).table(row.score_file)) == len(read_scores(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sqlite", "b.sqlite", "runs-a.sqlite",
                                                          "runs-b.sqlite"]


def test_a_run_folder_outside_the_database_folder_is_refused(plan, cache, tmp_path):
    from avbench.runner import execute

    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    with pytest.raises(UsageError, match=rf"out_dir {tmp_path}/elsewhere lies outside the folder of the "
                       rf"results database {tmp_path}/db/results.sqlite: .* leave out_dir out to use "
                       rf"{tmp_path}/db/runs$"):
        execute(plan, store=store, out_dir=tmp_path / "elsewhere", cache_dir=cache)
    assert not (tmp_path / "elsewhere").exists() and len(store) == 0


# --- a score file written over is refused -------------------------------------------------

def test_a_score_file_written_over_is_refused_with_file_key_database_and_fix(tmp_path):
    """What two databases sharing runs/ did: b stored the same run into the same file, and a's
    board then drew b's scores under a's numbers."""
    a = ResultsStore(tmp_path / "a.sqlite")
    b = ResultsStore(tmp_path / "b.sqlite")
    shared = "runs/f5c_featdiff/overall/all-0-0123456789ab/scores-all.parquet"
    row_a = store_result(a, "f5c_featdiff", 1.0, rel=shared)
    row_b = store_result(b, "f5c_featdiff", 0.0, rel=shared, seed=1)  # b writes over a's file
    assert len(ScoreReader(b).table(shared)) == 54  # b's own file: fine
    path = (tmp_path / shared).resolve()
    expected = (f"score file {path} is not the one run key {row_a.run_key} in {a.path} was computed "
                f"from: its SHA-256 is {row_b.score_sha256}, the row recorded {row_a.score_sha256} "
                "(another run or another database wrote over it): copy the runs folder that belongs "
                "to a.sqlite (runs/) beside it, or re-run that cell with --force")
    reader = ScoreReader(a)
    with pytest.raises(ScoreFileError, match="^") as caught:
        reader.table(shared)
    assert str(caught.value) == expected and caught.value.reason == "changed"
    with pytest.raises(ScoreFileError) as caught:
        reader.exists(shared)  # publish's up-front check of every file: an error, not "missing"
    assert str(caught.value) == expected
    entries = build_entries(latest_rows(a), reader)  # the stored numbers need no score file
    with pytest.raises(ScoreFileError, match="is not the one run key"):
        reader.target_aucs(entries.iloc[0])


def test_publish_and_compare_refuse_a_score_file_written_over(run_cli, tmp_path):
    db = tmp_path / "r" / "results.sqlite"
    store = ResultsStore(db)
    store_result(store, "f5c_static", 0.2)
    row = store_result(store, "f5c_featdiff", 1.5)
    write_scores(store.resolve(row.score_file), scores(0.1, seed=7))  # another run's scores
    for argv in (("compare", "f5c_featdiff", "f5c_static", "--db", str(db)),
                 ("leaderboard", "publish", "--db", str(db), "--out", "boards")):
        r = run_cli(*argv)
        message = " ".join(r.stderr.split())  # Rich wraps long lines
        assert r.returncode == 1, r.stderr
        assert "Traceback" not in r.stderr and message.startswith("error: score file ")
        assert (f"{store.resolve(row.score_file).resolve()} is not the one run key {row.run_key} in {db} "
                "was computed from") in message
        assert message.endswith("or re-run that cell with --force")
    assert not (tmp_path / "boards").exists()  # refused before any board was written


# --- the schema records the hash; older files are read as they are ------------------------

def _as_version_1(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE results DROP COLUMN trained_on")  # added in version 3
    con.execute("ALTER TABLE results DROP COLUMN score_sha256")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()


def test_a_version_1_database_is_read_unchanged_and_migrated_by_its_first_write(tmp_path):
    db = tmp_path / "results.sqlite"
    store = ResultsStore(db)
    old = store_result(store, "f5c_static", 0.2)
    _as_version_1(db)
    before = db.read_bytes()

    store = ResultsStore(db)
    [row] = store.rows()
    assert row.score_sha256 is None and row.run_key == old.run_key  # unknown hash
    assert store.all()["score_sha256"].tolist() == [None]
    assert len(store.query(score_sha256=None)) == 1
    write_scores(store.resolve(row.score_file), scores(0.3, seed=5))  # unknown hash: not checked
    assert len(ScoreReader(store).table(row.score_file)) == 54
    assert db.read_bytes() == before  # reading does not migrate (a committed folder stays as it is)
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == 1

    new = store_result(store, "f5c_featdiff", 1.5)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert con.execute("SELECT score_sha256 FROM results ORDER BY id").fetchall() == [
        (None,), (new.score_sha256,)]
    assert [r.score_sha256 for r in store.rows()] == [None, new.score_sha256]


def test_the_recorded_hash_must_be_a_sha256(tmp_path):
    with pytest.raises(TypeError, match="score_sha256 must be None or a SHA-256 as 64 lowercase hex"):
        ResultRow(method="m", protocol="p", protocol_version="1", cell="all", test_group="all",
                  dataset="d", dataset_fingerprint="fp", seed=0, metrics={}, main_score=0.5,
                  score_sha256="ABC")
    store = ResultsStore(tmp_path / "results.sqlite")
    store_result(store, "m", 1.0)
    con = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint"):
        con.execute("UPDATE results SET score_sha256 = 'not a hash'")


# --- paths from a database -----------------------------------------------------------------

def test_score_paths_outside_the_results_folder_are_never_read(tmp_path):
    db = tmp_path / "store" / "results.sqlite"
    store = ResultsStore(db)
    outside = tmp_path / "secret" / "s.parquet"  # a readable score file, but not this store's
    write_scores(outside, scores(1.0))
    link = tmp_path / "store" / "runs" / "link.parquet"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    for stored in ("../secret/s.parquet", str(outside), "runs/link.parquet",
                   "runs/../../../../../../../../etc/passwd"):
        with pytest.raises(ScoreFileError) as caught:
            ScoreReader(store).table(stored)
        full = (db.parent / stored).resolve()
        assert str(caught.value) == (
            f"score file {stored!r} of {db} resolves to {full}, outside the results folder "
            f"{db.parent.resolve()}: refusing to read it (a results database may only point at files "
            "inside its own folder; this one was edited or comes from elsewhere). Re-run that cell "
            "with --force to store a score file of its own")
        with pytest.raises(ScoreFileError, match="outside the results folder"):
            ScoreReader(store).exists(stored)


def test_a_row_pointing_outside_stops_publish_and_compare(run_cli, tmp_path):
    db = tmp_path / "r" / "results.sqlite"
    store = ResultsStore(db)
    store_result(store, "f5c_static", 0.2)
    row = store_result(store, "f5c_featdiff", 1.5, rel="../elsewhere/scores-all.parquet")
    assert row.score_file == str((tmp_path / "elsewhere" / "scores-all.parquet").resolve())  # absolute
    for argv in (("compare", "f5c_featdiff", "f5c_static", "--db", str(db)),
                 ("leaderboard", "publish", "--db", str(db), "--out", "boards")):
        r = run_cli(*argv)
        message = " ".join(r.stderr.split())
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert message.startswith(f"error: score file '{row.score_file}' of run key {row.run_key} in "
                                  f"{db} resolves to {row.score_file}, outside the results folder")


def test_a_missing_score_file_is_one_line_naming_it(run_cli, tmp_path):
    db = tmp_path / "r" / "results.sqlite"
    store = ResultsStore(db)
    store_result(store, "f5c_static", 0.2)
    row = store_result(store, "f5c_featdiff", 1.5)
    path = store.resolve(row.score_file).resolve()
    path.unlink()
    r = run_cli("compare", "f5c_featdiff", "f5c_static", "--db", str(db))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert " ".join(r.stderr.split()) == (
        f"error: score file {path} of run key {row.run_key} in {db} does not exist: copy the runs "
        "folder that belongs to results.sqlite (runs/) beside it, or re-run that cell with --force")
    r = run_cli("leaderboard", "publish", "--db", str(db), "--out", "boards")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "1 of 2 stored results have no score file" in " ".join(r.stderr.split())
    assert str(path.name) in r.stderr


# --- no score file without its row ---------------------------------------------------------

def test_pending_score_files_get_their_final_name_only_when_published(tmp_path):
    folder = tmp_path / "run"
    pending = PendingScoreFiles(folder)
    final, digest = pending.write("scores-all.parquet", scores(1.0))
    assert final == folder / "scores-all.parquet" and not final.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["scores-all.parquet.pending"]
    assert digest == sha(folder / "scores-all.parquet.pending") == file_sha256(folder / "scores-all.parquet.pending")
    assert pending.publish() == [final]
    assert sorted(p.name for p in folder.iterdir()) == ["scores-all.parquet"] and sha(final) == digest

    dropped = PendingScoreFiles(folder)
    dropped.write("scores-tps.parquet", scores(0.5))
    dropped.discard()
    assert sorted(p.name for p in folder.iterdir()) == ["scores-all.parquet"]

    (folder / "scores-lia.parquet.pending").write_bytes(b"left by a kill")
    (folder / ".scores-lia.parquet.pending.x1y2.tmp").write_bytes(b"half written")
    PendingScoreFiles(folder)  # the next run of the cell
    assert sorted(p.name for p in folder.iterdir()) == ["scores-all.parquet"]


def _fail_commit(monkeypatch):
    def add_all(self, rows):
        raise OSError("disk I/O error while committing")

    monkeypatch.setattr(ResultsStore, "add_all", add_all)


def _score_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*scores-*"))


def test_a_failed_commit_leaves_no_score_file_and_the_cell_runs_again(plan, cache, tmp_path, monkeypatch):
    from avbench.runner import execute

    store = ResultsStore(tmp_path / "results.sqlite")
    with monkeypatch.context() as m:
        _fail_commit(m)
        with pytest.raises(OSError, match="disk I/O error while committing"):
            execute(plan, store=store, cache_dir=cache)
    assert len(store) == 0
    assert _score_files(tmp_path) == []  # neither a final-named nor a pending score file

    [row] = execute(plan, store=store, cache_dir=cache)[0].rows
    path = store.resolve(row.score_file)
    assert path.name == "scores-all.parquet" and row.score_sha256 == sha(path)
    assert _score_files(tmp_path) == [row.score_file]


def test_pending_files_of_a_kill_before_the_commit_are_removed_by_the_next_run(plan, cache, tmp_path,
                                                                               monkeypatch):
    """A kill skips every clean-up: only pending files are left, which readers never take for
    score files, and the next run of the cell removes them."""
    from avbench.runner import execute

    store = ResultsStore(tmp_path / "results.sqlite")
    with monkeypatch.context() as m:
        _fail_commit(m)
        m.setattr(PendingScoreFiles, "discard", lambda self: None)  # killed: no clean-up ran
        with pytest.raises(OSError):
            execute(plan, store=store, cache_dir=cache)
    [left] = _score_files(tmp_path)
    assert left.endswith("/scores-all.parquet.pending") and len(store) == 0

    [row] = execute(plan, store=store, cache_dir=cache)[0].rows
    assert _score_files(tmp_path) == [row.score_file] == [left.removesuffix(".pending")]
    assert row.score_sha256 == sha(store.resolve(row.score_file))


def test_a_kill_between_the_commit_and_the_rename_is_named_with_its_fix(plan, cache, tmp_path, monkeypatch):
    from avbench.runner import execute

    store = ResultsStore(tmp_path / "results.sqlite")
    with monkeypatch.context() as m:
        m.setattr(PendingScoreFiles, "publish", lambda self: [])  # killed right after the commit
        [row] = execute(plan, store=store, cache_dir=cache)[0].rows
    path = store.resolve(row.score_file).resolve()
    with pytest.raises(ScoreFileError) as caught:
        ScoreReader(store).table(row.score_file)
    assert str(caught.value) == (
        f"score file {path} of run key {row.run_key} in {store.path} does not exist: its run was "
        "stopped after storing the row, before renaming scores-all.parquet.pending, which holds "
        "exactly these scores: rename it to scores-all.parquet")
    path.with_name("scores-all.parquet.pending").rename(path)
    assert len(ScoreReader(store).table(row.score_file)) == len(read_scores(path))


def test_the_next_run_gives_a_pending_file_of_a_stored_row_its_final_name(plan, cache, tmp_path,
                                                                          monkeypatch):
    """A kill between the commit and the rename: the row is reused, and its file renamed."""
    from avbench.runner import execute

    store = ResultsStore(tmp_path / "results.sqlite")
    with monkeypatch.context() as m:
        m.setattr(PendingScoreFiles, "publish", lambda self: [])  # killed right after the commit
        [row] = execute(plan, store=store, cache_dir=cache)[0].rows
    assert _score_files(tmp_path) == [row.score_file + ".pending"]
    outcome = execute(plan, store=store, cache_dir=cache)[0]
    assert outcome.reused and [r.id for r in outcome.rows] == [row.id]
    assert _score_files(tmp_path) == [row.score_file]
    assert sha(store.resolve(row.score_file)) == row.score_sha256


def test_an_interrupt_after_the_commit_keeps_the_stored_rows_score_files(plan, cache, tmp_path,
                                                                        monkeypatch):
    """Ctrl-C after the rows are committed, before the store returns: rows and files stay together."""
    from avbench.runner import execute

    store = ResultsStore(tmp_path / "results.sqlite")
    add_all = ResultsStore.add_all

    def commit_then_interrupt(self, rows):
        add_all(self, rows)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(ResultsStore, "add_all", commit_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            execute(plan, store=store, cache_dir=cache)
    [row] = store.rows()
    assert _score_files(tmp_path) == [row.score_file]
    assert sha(store.resolve(row.score_file)) == row.score_sha256
