"""The results store: typed rows, round trips, concurrent writers, schema versions."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import avbench
from avbench import provenance
from avbench.results import (
    COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    ResultRow,
    ResultsStore,
    ResultsStoreError,
    default_db_path,
    make_run_key,
)

REPO = Path(__file__).resolve().parents[1]


def row(**changes) -> ResultRow:
    values = {
        "method": "f5c", "protocol": "nvfair_pooled", "protocol_version": "1", "cell": "all",
        "train_generators": ("facevid2vid", "lia", "tps"), "test_group": "all",
        "test_generators": ("facevid2vid", "lia", "tps"), "clip_length": 64, "dataset": "nvfair",
        "dataset_fingerprint": "abc123", "seed": 0, "profile": "paper",
        "metrics": {"mean_target_auc": 0.8, "n_targets": 10}, "main_score": 0.8,
        "config": {"method": {"dim": 128}, "training": {"epochs": 150, "betas": [0.9, 0.999]}},
        "git_commit": "deadbeef", "environment": {"python": "3.11.7", "torch": "2.13.0"},
        "plugins": {"avbench-methods": "0.1.0"}, "wall_time_s": 12.5, "device": "cuda",
        "score_file": "scores/all.parquet", "checkpoint": "ckpt/all.pt",
    }
    return ResultRow(**(values | changes))


def test_schema_and_dataclass_agree():
    con = sqlite3.connect(":memory:")
    con.executescript(SCHEMA)
    assert tuple(r[1] for r in con.execute("PRAGMA table_info(results)")) == COLUMNS
    assert sorted(f.name for f in dataclasses.fields(ResultRow)) == sorted(COLUMNS)


def test_default_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_db_path() == tmp_path / "avbench-results" / "results.sqlite"
    assert ResultsStore().path == default_db_path()


def test_add_find_query_round_trip(tmp_path):
    store = ResultsStore(tmp_path / "r" / "results.sqlite")
    assert len(store) == 0 and store.all().empty and store.find("x") is None
    assert not store.path.exists()  # reading does not create the file
    first = store.add(row())
    second = store.add(row(seed=1, main_score=0.7, clip_length=None, wall_time_s=None))
    assert (first.id, second.id) == (1, 2)

    found = store.find(first.run_key)
    assert found == first  # every field, typed, equal
    assert isinstance(found.train_generators, tuple) and isinstance(found.seed, int)
    assert isinstance(found.metrics, dict) and isinstance(found.main_score, float)
    assert found.config["training"]["betas"] == [0.9, 0.999]
    assert store.find(second.run_key).clip_length is None
    assert found.avbench_version == avbench.__version__

    df = store.all()
    assert list(df.columns) == list(COLUMNS) and len(df) == 2
    assert df["id"].tolist() == [1, 2]
    assert store.query(seed=1)["main_score"].tolist() == [0.7]
    assert len(store.query(method="f5c", protocol_version="1")) == 2
    assert len(store.query(seed=[0, 1])) == 2
    assert len(store.query(clip_length=None)) == 1
    assert len(store.query(train_generators=("facevid2vid", "lia", "tps"))) == 2
    assert store.query(method="other").empty
    with pytest.raises(ValueError, match="did you mean 'method'"):
        store.query(methd="f5c")
    assert [r.id for r in store.rows(seed=0)] == [1]


def test_run_key_identifies_what_determines_a_result(tmp_path):
    base = row()
    assert base.run_key == make_run_key("f5c", base.config, "nvfair_pooled", "1", "all", "all",
                                        "abc123", 0)
    assert row(wall_time_s=99.0, git_commit="other", device="cpu").run_key == base.run_key
    for change in ({"seed": 1}, {"config": {"method": {"dim": 64}}}, {"protocol_version": "2"},
                   {"cell": "leave_out_tps"}, {"test_group": "tps"}, {"method": "mlp"},
                   {"dataset_fingerprint": "zzz"}, {"protocol": "avaprintdb"}):
        assert row(**change).run_key != base.run_key, change
    # find returns the newest of several rows with one key (a forced re-run)
    store = ResultsStore(tmp_path / "results.sqlite")
    store.add(base)
    newer = store.add(row(main_score=0.9))
    assert store.find(base.run_key) == newer


def test_rows_are_typed():
    with pytest.raises(TypeError, match="seed must be an int"):
        row(seed="0")
    with pytest.raises(TypeError, match="main_score must be finite"):
        row(main_score=float("nan"))
    with pytest.raises(TypeError, match="metrics must be a mapping"):
        row(metrics=[0.8])
    with pytest.raises(TypeError, match="train_generators must be a sequence of str"):
        row(train_generators="tps")
    with pytest.raises(TypeError, match="method must be a str"):
        row(method=None)
    r = row(train_generators=["tps"], protocol_version=2, score_file=Path("a/b.parquet"))
    assert r.train_generators == ("tps",) and r.protocol_version == "2"
    assert r.score_file == "a/b.parquet"
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.seed = 3  # type: ignore[misc]


def test_json_fields_refuse_nan(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    with pytest.raises(ValueError, match="NaN"):
        store.add(row(metrics={"eer": float("nan")}))
    assert len(store) == 0


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from test_results import row
    from avbench.results import ResultsStore
    store = ResultsStore(sys.argv[1])
    Path(sys.argv[1]).with_name("ready-" + sys.argv[2]).touch()
    go = Path(sys.argv[1]).with_name("go")
    while not go.exists():
        time.sleep(0.005)
    for i in range(20):
        store.add(row(seed=i, method=sys.argv[2]))
""")


def test_two_processes_writing_at_once_both_land(tmp_path):
    path = tmp_path / "results.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name,
                               str(Path(__file__).parent)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("writer_a", "writer_b")]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in ("writer_a", "writer_b")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.005)
    (tmp_path / "go").touch()  # both imported and waiting: they start within milliseconds
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    df = ResultsStore(path).all()
    assert len(df) == 40
    assert df.groupby("method")["seed"].apply(sorted).to_dict() == {
        "writer_a": list(range(20)), "writer_b": list(range(20))}
    assert df["id"].is_unique
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_a_writer_waits_for_a_held_lock(tmp_path):
    path = tmp_path / "results.sqlite"
    store = ResultsStore(path)
    store.add(row(seed=0))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    done = []
    thread = threading.Thread(target=lambda: done.append(store.add(row(seed=1))))
    thread.start()
    time.sleep(0.5)
    assert not done  # waiting for the lock, not failing
    blocker.execute("COMMIT")
    blocker.close()
    thread.join(timeout=30)
    assert done and done[0].id == 2 and len(store) == 2


def test_newer_schema_is_refused_with_the_file_named(tmp_path):
    assert SCHEMA_VERSION == 3
    path = tmp_path / "results.sqlite"
    ResultsStore(path).add(row())
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 4")
    con.commit()
    con.close()
    before = path.read_bytes()
    message = (f"{path}: results schema version 4 is newer than this avbench ({avbench.__version__}) "
               "understands (version 3); upgrade avbench or write to another results file")
    with pytest.raises(ResultsStoreError) as caught:
        ResultsStore(path)
    assert str(caught.value) == message
    store = object.__new__(ResultsStore)  # a store made before the file was replaced by a newer one
    store.path = path
    for use in (store.all, lambda: store.add(row(seed=1, trained_on=trained_on()))):
        with pytest.raises(ResultsStoreError) as caught:
            use()
        assert str(caught.value) == message
    assert path.read_bytes() == before  # neither read nor written


def test_foreign_files_are_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(ResultsStoreError, match="other.sqlite.*without avbench's results schema"):
        ResultsStore(other)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database, not at all" * 100)
    with pytest.raises(ResultsStoreError, match="junk.sqlite"):
        ResultsStore(junk)


def test_query_frame_round_trips_json_fields(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    store.add(row())
    df = store.all()
    assert df.loc[0, "metrics"] == {"mean_target_auc": 0.8, "n_targets": 10}
    assert df.loc[0, "train_generators"] == ("facevid2vid", "lia", "tps")
    assert isinstance(df, pd.DataFrame)
    stored = sqlite3.connect(store.path).execute("SELECT metrics FROM results").fetchone()[0]
    assert json.loads(stored) == df.loc[0, "metrics"]


# --- evaluation-only rows -------------------------------------------------------------

SHA = "0123456789abcdef" * 4


def trained_on(**changes) -> dict:
    """Where the model of an evaluation-only row came from (as ``avbench evaluate`` records it)."""
    return {"run_key": "9f" * 16, "dataset": "nvfair", "dataset_fingerprint": "abc123",
            "protocol": "nvfair_pooled", "cell": "all", "checkpoint_sha256": SHA} | changes


def test_rows_with_and_without_trained_on_round_trip(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    trained = store.add(row())
    origin = trained_on(checkpoint="runs/x/model.safetensors", protocol_version="1")  # extra keys kept
    evaluated = store.add(row(dataset="avaprintdb", dataset_fingerprint="zzz", protocol="avaprintdb",
                              trained_on=origin))
    assert trained.trained_on is None and evaluated.trained_on == origin
    assert store.rows() == [trained, evaluated]  # every field, typed, equal
    assert store.find(evaluated.run_key).trained_on == origin

    df = store.all()
    assert list(df.columns) == list(COLUMNS) and COLUMNS[-1] == "trained_on"
    assert df["trained_on"].tolist() == [None, origin]
    assert store.query(trained_on=None)["id"].tolist() == [1]  # the training run's rows
    assert store.query(trained_on=origin)["id"].tolist() == [2]
    con = sqlite3.connect(store.path)
    assert con.execute("SELECT trained_on FROM results ORDER BY id").fetchall() == [
        (None,), (json.dumps(origin, sort_keys=True, separators=(",", ":")),)]
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint"):
        con.execute("UPDATE results SET trained_on = '[1, 2]' WHERE id = 1")  # not an object


def test_trained_on_is_checked():
    need = ("None or a mapping with the str keys run_key, dataset, dataset_fingerprint, protocol, "
            "cell, checkpoint_sha256")
    what = "ResultRow.trained_on (the model an evaluation-only row scored)"
    cases = [
        (["nvfair"], f"{what} must be {need}; got list ['nvfair']"),
        ("nvfair", f"{what} must be {need}; got str 'nvfair'"),
        ({k: v for k, v in trained_on().items() if k not in ("cell", "protocol")},
         f"{what} lacks protocol, cell: it must be {need} "
         '(run_key may be "" if the training run is unknown)'),
        (trained_on(run_key=None), f"{what}['run_key'] must be a str; got NoneType None"),
        (trained_on(checkpoint_sha256=SHA.upper()),
         f"{what}['checkpoint_sha256'] must be the checkpoint's SHA-256 as 64 lowercase hex digits; "
         f"got '{SHA.upper()}'"),
        (trained_on(checkpoint_sha256=SHA[:40]),
         f"{what}['checkpoint_sha256'] must be the checkpoint's SHA-256 as 64 lowercase hex digits; "
         f"got '{SHA[:40]}'"),
        ({**trained_on(), 1: "x"}, f"{what} must have str keys (it is stored as a JSON object); got 1"),
    ]
    for value, message in cases:
        with pytest.raises(TypeError) as caught:
            row(trained_on=value)
        assert str(caught.value) == message
    assert row(trained_on=trained_on(run_key="")).trained_on["run_key"] == ""  # unknown training run


def _as_version(path: Path, version: int) -> None:
    """Turn a file written now into one written by avbench of schema ``version``: the columns
    added since dropped (columns are only ever appended), the version set."""
    con = sqlite3.connect(path)
    for name in ("trained_on", "score_sha256")[:3 - version]:
        con.execute(f"ALTER TABLE results DROP COLUMN {name}")
    con.execute(f"PRAGMA user_version = {version}")
    con.commit()
    con.close()


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_file_is_read_unchanged_and_migrated_by_its_first_write(tmp_path, version):
    path = tmp_path / "results.sqlite"
    old = ResultsStore(path).add(row(score_sha256=SHA))
    _as_version(path, version)
    before = path.read_bytes()

    store = ResultsStore(path)
    [read] = store.rows()
    assert read.trained_on is None and read.run_key == old.run_key
    assert read.score_sha256 == (SHA if version == 2 else None)
    assert store.all()["trained_on"].tolist() == [None]
    assert len(store.query(trained_on=None)) == 1 and len(store) == 1
    assert path.read_bytes() == before  # reading never modifies a results file
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == version
    con.close()

    new = store.add(row(seed=1, trained_on=trained_on()))
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 3
    assert tuple(r[1] for r in con.execute("PRAGMA table_info(results)")) == COLUMNS
    assert con.execute("SELECT trained_on IS NULL FROM results ORDER BY id").fetchall() == [(1,), (0,)]
    con.close()
    assert [r.trained_on for r in store.rows()] == [None, trained_on()]
    assert store.rows()[1] == new
    store.add(row(seed=2))  # migrated once: a second write finds version 3
    assert len(ResultsStore(path)) == 3


# --- provenance ------------------------------------------------------------------------

def test_git_commit(tmp_path):
    commit = provenance.git_commit()
    if commit != "unknown":  # a checkout (CI, development); an installed wheel has none
        head = commit.removesuffix("-dirty")
        assert len(head) == 40 and all(c in "0123456789abcdef" for c in head)
    assert provenance.git_commit(tmp_path) == "unknown"  # not in any repository

    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "m.py").write_text("x = 1\n")

    def git(*args):
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)

    git("init", "-q")
    assert provenance.git_commit(repo / "pkg") == "unknown"  # untracked: not this repo's code
    git("add", ".")
    git("commit", "-qm", "init")
    clean = provenance.git_commit(repo / "pkg")
    assert len(clean) == 40
    (repo / "untracked.txt").write_text("results")
    assert provenance.git_commit(repo / "pkg") == clean
    (repo / "pkg" / "m.py").write_text("x = 2\n")
    assert provenance.git_commit(repo / "pkg") == clean + "-dirty"


def test_git_commit_of_an_install_without_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("AVBENCH_GIT_COMMIT", "0123abcd")
    assert provenance.git_commit(tmp_path) == "0123abcd"  # what the install was built from
    monkeypatch.setenv("AVBENCH_GIT_COMMIT", " ")
    assert provenance.git_commit(tmp_path) == "unknown"


def test_paths_are_stored_relative_to_the_store(tmp_path):
    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    inside = tmp_path / "db" / "runs" / "m" / "scores-all.parquet"
    assert store.relative(inside) == "runs/m/scores-all.parquet"
    assert store.resolve("runs/m/scores-all.parquet") == tmp_path / "db" / "runs" / "m" / "scores-all.parquet"
    outside = tmp_path / "elsewhere" / "s.parquet"
    assert store.relative(outside) == str(outside.resolve())
    assert store.resolve(str(outside)) == outside  # absolute paths are kept


def test_environment_is_json_ready():
    env = provenance.environment(device="cpu")
    assert env["python"].count(".") == 2 and env["device"] == "cpu"
    assert env["packages"]["numpy"] and "platform" in env
    json.dumps(env)


def test_environment_records_the_cpu_thread_count():
    import torch

    assert provenance.environment(device="cpu")["torch_threads"] == torch.get_num_threads()
