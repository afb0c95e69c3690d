"""The results store: one SQLite row per evaluated cell, the only source of leaderboards.

Every evaluation of a trained model (a protocol *cell* tested on one *eval group*)
is stored as a :class:`ResultRow`: the metrics of its score file
(:func:`avbench.metrics.summarize`) together with everything needed to judge
whether two numbers are comparable (MTEB, lm-evaluation-harness): method and its
config, protocol and its version, dataset fingerprint, seed, avbench version, git
commit, environment, plugins, timings.  Leaderboards are rendered from this table
only.

The file (default :func:`default_db_path`) is plain SQLite (stdlib ``sqlite3``),
schema below, in WAL mode; each write is one ``BEGIN IMMEDIATE`` transaction and
connections wait up to 30 s for a lock, so several processes (parallel jobs of one
sweep) can write at once and every row lands.  JSON columns hold canonical JSON
(sorted keys); generator lists are JSON arrays.  ``PRAGMA user_version`` holds the
schema version; a file written by a newer avbench is refused with an error naming
the file instead of being misread, and an older one is read as it is and migrated
(:data:`MIGRATIONS`) by the first write, so reading never modifies a results file.

``score_file`` and ``checkpoint`` are stored relative to the store's folder when
they lie inside it, so a results folder can be copied or moved whole -- from a GPU
machine to a laptop, into a repository -- and its score files still found
(:meth:`ResultsStore.resolve`).  Runs write them under :attr:`ResultsStore.runs_dir`:
``runs/`` beside a database named ``results.sqlite`` (the default), ``runs-<file
name>/`` beside any other (``runs-a.sqlite/`` for ``a.sqlite``).  Run folders are
named by run key, so two databases in one folder sharing ``runs/`` would write the
same run into the same files and each read the other's scores.  Trained models go to
``models/<method>/seed<seed>-<training key>/`` there (:func:`make_training_key`), one
per model, so cells of several protocols that train the same model share it.

A database is untrusted input, and so is a score file (another run may have
written over it).  Each row records the SHA-256 of its score file
(``score_sha256``; NULL in rows stored before schema version 2: unknown, not
checked), and :meth:`ResultsStore.score_file` hands out a row's score file only
if it lies inside the store's folder (symlinks resolved), exists, and has that
hash -- otherwise a :class:`ScoreFileError` names the file, the run key, the
database and what to do.

Evaluation-only rows.  ``avbench run`` trains a model and evaluates it in one go;
``avbench evaluate`` scores a saved model (a checkpoint) on a dataset without
training it.  A model trained on one dataset or protocol and scored on another is a
different measurement from a training run -- its number says how a given model
transfers, not how well a method learns from that data -- so it must never be
mistaken for one, and its row must name the model it came from.  Such a row has
``trained_on`` set (:data:`TRAINED_ON_KEYS`: the training run's key, dataset,
dataset fingerprint, protocol and cell, and the checkpoint's SHA-256); ``trained_on``
is NULL for rows whose model was trained by the run that stored them (every row of
``avbench run``, and every row stored before schema version 3).  Leaderboards rank
trained runs only and list evaluation-only rows apart
(:func:`avbench.leaderboard.entries.evaluated_rows`).

``run_key`` (:func:`make_run_key`) hashes what determines a cell's result -- method,
its config, protocol name and version, cell, eval group, dataset fingerprint, seed
-- so a run can find a cell that was already computed (:meth:`ResultsStore.find`)
and skip it.  Keys are not unique: a forced re-run adds a row, and ``find``
returns the newest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import json
import math
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import avbench
from avbench.errors import AvbenchError

SCHEMA_VERSION = 3
DEFAULT_DB_NAME = "results.sqlite"
BUSY_TIMEOUT_S = 30.0  # parallel jobs of a sweep finish together; a write takes milliseconds

# The score file's SHA-256 (64 lowercase hex digits); NULL: stored before version 2, unknown.
_SCORE_SHA256 = ("score_sha256 TEXT CHECK (score_sha256 IS NULL OR (length(score_sha256) = 64 "
                 "AND score_sha256 NOT GLOB '*[^0-9a-f]*'))")

# Where an evaluation-only row's model came from (a JSON object, see TRAINED_ON_KEYS); NULL: the
# model was trained by the run that stored the row (every row before version 3).
_TRAINED_ON = "trained_on TEXT CHECK (trained_on IS NULL OR json_type(trained_on) = 'object')"
# What ``trained_on`` must hold (as strings); further keys are allowed.
TRAINED_ON_KEYS = ("run_key", "dataset", "dataset_fingerprint", "protocol", "cell", "checkpoint_sha256")

SCHEMA = """
CREATE TABLE results (
    id                  INTEGER PRIMARY KEY,
    created_at          TEXT NOT NULL,     -- UTC, ISO 8601 (2024-05-01T12:00:00.123456+00:00)
    method              TEXT NOT NULL,
    protocol            TEXT NOT NULL,
    protocol_version    TEXT NOT NULL,
    cell                TEXT NOT NULL,     -- the protocol cell (one trained model)
    train_generators    TEXT NOT NULL CHECK (json_type(train_generators) = 'array'),
    test_group          TEXT NOT NULL,     -- the eval group's name
    test_generators     TEXT NOT NULL CHECK (json_type(test_generators) = 'array'),
    clip_length         INTEGER,
    dataset             TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL,
    seed                INTEGER NOT NULL,
    profile             TEXT NOT NULL,
    metrics             TEXT NOT NULL CHECK (json_type(metrics) = 'object'),   -- summarize()
    main_score          REAL NOT NULL,     -- the protocol's main score (mean_target_auc)
    config              TEXT NOT NULL CHECK (json_type(config) = 'object'),    -- method + training
    avbench_version     TEXT NOT NULL,
    git_commit          TEXT NOT NULL,
    environment         TEXT NOT NULL CHECK (json_type(environment) = 'object'),
    plugins             TEXT NOT NULL CHECK (json_type(plugins) = 'object'),   -- name -> version
    wall_time_s         REAL,
    device              TEXT NOT NULL,
    score_file          TEXT NOT NULL,
    checkpoint          TEXT NOT NULL,
    run_key             TEXT NOT NULL,
    {sha},
    {trained_on}        -- NULL, or the model an evaluation-only row scored
) STRICT;
CREATE INDEX results_run_key ON results (run_key);
CREATE INDEX results_protocol ON results (protocol, protocol_version, test_group);
""".replace("{sha}", _SCORE_SHA256).replace("{trained_on}", _TRAINED_ON)

# Statements that take a file from version N to N + 1, run inside the first write's
# transaction.  Columns added later are appended, so old and new files have one layout.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (f"ALTER TABLE results ADD COLUMN {_SCORE_SHA256}",),
    2: (f"ALTER TABLE results ADD COLUMN {_TRAINED_ON}",),
}
# Columns a file of an older version lacks (read as NULL until its first write migrates it).
_ADDED_IN = {"score_sha256": 2, "trained_on": 3}

# How each field is stored: plain columns, JSON objects, JSON arrays read back as tuples.
_JSON_OBJECTS = ("metrics", "config", "environment", "plugins")
_JSON_TUPLES = ("train_generators", "test_generators")
_JSON_OPTIONAL_OBJECTS = ("trained_on",)  # NULL or a JSON object


class ResultsStoreError(AvbenchError):
    """The results file cannot be used (newer schema, not an avbench store, corrupt)."""


class ScoreFileError(AvbenchError):
    """A row's score file cannot be used: outside the results folder, missing, unreadable, or
    not the file the row was computed from.  The message names the file, the run key and the
    database, and says how to get the right file back; ``reason`` is ``"outside"``,
    ``"missing"``, ``"unreadable"`` or ``"changed"`` for callers that treat one differently."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def default_db_path() -> Path:
    """``./avbench-results/results.sqlite``, resolved against the current working directory."""
    return Path.cwd() / "avbench-results" / DEFAULT_DB_NAME


def runs_dir_of(db_path: str | os.PathLike) -> Path:
    """The folder runs stored in the database at ``db_path`` write score files and checkpoints to.

    ``runs/`` beside a database named ``results.sqlite`` (every store so far, and the
    README's layout); ``runs-<file name>/`` beside any other, e.g. ``runs-a.sqlite/``
    for ``a.sqlite``.  The whole file name, not its stem, so ``a.sqlite`` and ``a.db`` in
    one folder do not share one either.  Without this, two databases in one folder
    that store the same run (same run key) write the same run folder, and each then
    reads the other's score files.
    """
    db_path = Path(db_path)
    name = "runs" if db_path.name == DEFAULT_DB_NAME else f"runs-{db_path.name}"
    return db_path.parent / name


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no NaN; numpy scalars, tuples and paths converted."""
    def default(obj: Any) -> Any:
        if hasattr(obj, "item") and callable(obj.item):  # numpy scalars and 0-d arrays
            return obj.item()
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if isinstance(obj, (Path, os.PathLike)):
            return os.fspath(obj)
        if isinstance(obj, (set, frozenset)):
            return sorted(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False,
                          default=default)
    except ValueError as exc:
        raise ValueError(f"NaN or infinity cannot be stored as JSON ({exc})") from None


def make_run_key(method: str, config: Mapping[str, Any], protocol: str, protocol_version: str,
                 cell: str, test_group: str, dataset_fingerprint: str, seed: int) -> str:
    """The identity of one evaluated cell: a SHA-256 (32 hex digits) of canonical JSON.

    Two runs with the same key compute the same thing, so a stored result can be
    reused.  The avbench version is deliberately not part of it (a release that
    changes what is measured bumps the protocol version instead).
    """
    payload = _canonical({"method": method, "config": config, "protocol": protocol,
                          "protocol_version": str(protocol_version), "cell": cell,
                          "test_group": test_group, "dataset_fingerprint": dataset_fingerprint,
                          "seed": int(seed)})
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def make_training_key(method: str, config: Mapping[str, Any], train_generators: Sequence[str],
                      originals: bool, dataset_fingerprint: str, seed: int) -> str:
    """The identity of one trained model: what determines its weights -- method, its config
    (method, training schedule with the clip length, profile), the training generators,
    whether real videos join training, the dataset fingerprint and the seed.  Protocol cells
    with the same training key (``overall``'s and ``per_gen``'s cell ``all``) share one model:
    a run trains it once and every such cell evaluates it."""
    payload = _canonical({"method": method, "config": config, "train_generators": list(train_generators),
                          "originals": bool(originals), "dataset_fingerprint": dataset_fingerprint,
                          "seed": int(seed)})
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ResultRow:
    """One evaluated cell, exactly as stored (see the module docstring's schema).

    ``run_key`` is computed by :func:`make_run_key` when left empty; ``id`` is
    assigned by the store.  Fields are checked on construction: strings must be
    strings, ``seed`` and ``clip_length`` integers, ``main_score`` a finite
    number, JSON fields mappings; generator lists become tuples.  ``trained_on`` is
    None or a mapping with every key of :data:`TRAINED_ON_KEYS` as a string (extra keys
    allowed), ``checkpoint_sha256`` as 64 lowercase hex digits.
    """

    method: str
    protocol: str
    protocol_version: str
    cell: str
    test_group: str
    dataset: str
    dataset_fingerprint: str
    seed: int
    metrics: dict[str, Any]
    main_score: float
    train_generators: tuple[str, ...] = ()
    test_generators: tuple[str, ...] = ()
    clip_length: int | None = None
    profile: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    avbench_version: str = avbench.__version__
    git_commit: str = "unknown"
    environment: dict[str, Any] = field(default_factory=dict)
    plugins: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float | None = None
    device: str = ""
    score_file: str = ""
    score_sha256: str | None = None  # of the score file's bytes; None: not recorded (old rows)
    checkpoint: str = ""
    run_key: str = ""
    created_at: str = field(default_factory=utc_now)
    id: int | None = None
    # None: the model was trained by the run that stored this row; a dict: an evaluation-only
    # row, naming the model it scored (TRAINED_ON_KEYS; see the module docstring).
    trained_on: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        def fail(name: str, expected: str) -> None:
            value = getattr(self, name)
            raise TypeError(f"ResultRow.{name} must be {expected}; got {type(value).__name__} "
                            f"{value!r:.80}")

        for name in ("method", "protocol", "cell", "test_group", "dataset", "dataset_fingerprint",
                     "profile", "avbench_version", "git_commit", "device", "run_key", "created_at"):
            if not isinstance(getattr(self, name), str):
                fail(name, "a str")
        if isinstance(self.protocol_version, int) and not isinstance(self.protocol_version, bool):
            put("protocol_version", str(self.protocol_version))
        if not isinstance(self.protocol_version, str):
            fail("protocol_version", "a str")
        for name in ("score_file", "checkpoint"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                put(name, os.fspath(value))
            elif not isinstance(value, str):
                fail(name, "a str or path")
        sha = self.score_sha256
        if sha is not None and not (isinstance(sha, str) and len(sha) == 64
                                    and all(c in "0123456789abcdef" for c in sha)):
            fail("score_sha256", "None or a SHA-256 as 64 lowercase hex digits")
        for name, optional in (("seed", False), ("clip_length", True), ("id", True)):
            value = getattr(self, name)
            if value is None and optional:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                if hasattr(value, "item") and isinstance(value.item(), int):  # numpy ints
                    put(name, value.item())
                else:
                    fail(name, "an int" + (" or None" if optional else ""))
        for name, optional in (("main_score", False), ("wall_time_s", True)):
            value = getattr(self, name)
            if value is None and optional:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                if hasattr(value, "item") and isinstance(value.item(), float):  # numpy floats
                    value = value.item()
                else:
                    fail(name, "a number" + (" or None" if optional else ""))
            if not math.isfinite(value):
                fail(name, "finite")
            put(name, float(value))
        for name in _JSON_TUPLES:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Sequence):
                fail(name, "a sequence of str")
            if not all(isinstance(g, str) for g in value):
                fail(name, "a sequence of str")
            put(name, tuple(value))
        for name in _JSON_OBJECTS:
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                fail(name, "a mapping")
            put(name, dict(value))
        if self.trained_on is not None:
            put("trained_on", _checked_trained_on(self.trained_on))
        if not self.run_key:
            put("run_key", make_run_key(self.method, self.config, self.protocol,
                                        self.protocol_version, self.cell, self.test_group,
                                        self.dataset_fingerprint, self.seed))

    def to_record(self) -> dict[str, Any]:
        """The row as stored: JSON fields as canonical JSON strings."""
        rec = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in _JSON_OBJECTS:
            rec[name] = _canonical(rec[name])
        for name in _JSON_TUPLES:
            rec[name] = _canonical(list(rec[name]))
        for name in _JSON_OPTIONAL_OBJECTS:
            rec[name] = None if rec[name] is None else _canonical(rec[name])
        return rec

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> ResultRow:
        values = dict(rec)
        for name in (*_JSON_OBJECTS, *_JSON_TUPLES):
            values[name] = json.loads(values[name])
        for name in _JSON_OPTIONAL_OBJECTS:
            if values.get(name) is not None:
                values[name] = json.loads(values[name])
        return cls(**values)


def _checked_trained_on(value: Any) -> dict[str, Any]:
    """``ResultRow.trained_on`` as a dict, or a TypeError naming the field and what is wrong."""
    what = "ResultRow.trained_on (the model an evaluation-only row scored)"
    need = f"None or a mapping with the str keys {', '.join(TRAINED_ON_KEYS)}"
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be {need}; got {type(value).__name__} {value!r:.80}")
    odd = [k for k in value if not isinstance(k, str)]
    if odd:
        raise TypeError(f"{what} must have str keys (it is stored as a JSON object); got {odd[0]!r:.40}")
    missing = [k for k in TRAINED_ON_KEYS if k not in value]
    if missing:
        raise TypeError(f"{what} lacks {', '.join(missing)}: it must be {need} "
                        "(run_key may be \"\" if the training run is unknown)")
    for key in TRAINED_ON_KEYS:
        if not isinstance(value[key], str):
            raise TypeError(f"{what}[{key!r}] must be a str; got {type(value[key]).__name__} "
                            f"{value[key]!r:.80}")
    sha = value["checkpoint_sha256"]
    if not (len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise TypeError(f"{what}['checkpoint_sha256'] must be the checkpoint's SHA-256 as 64 "
                        f"lowercase hex digits; got {sha!r:.80}")
    return dict(value)


# Column order of the table and of query() frames (tests check it against SCHEMA and ResultRow).
COLUMNS = (
    "id", "created_at", "method", "protocol", "protocol_version", "cell", "train_generators",
    "test_group", "test_generators", "clip_length", "dataset", "dataset_fingerprint", "seed",
    "profile", "metrics", "main_score", "config", "avbench_version", "git_commit", "environment",
    "plugins", "wall_time_s", "device", "score_file", "checkpoint", "run_key", "score_sha256",
    "trained_on",
)


class ResultsStore:
    """A results file.  Cheap to create: the file is opened per operation.

    Reading a store that does not exist yet gives empty answers without creating
    it; the first :meth:`add` creates the file and its folder.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        if self.path.exists():
            with self._connect() as con:
                self._check_schema(con)

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.path)!r})"

    # --- connections ------------------------------------------------------------------

    def _connect(self) -> _Connection:
        return _Connection(self.path)

    def _check_schema(self, con: _Connection) -> int:
        """The file's schema version after checks; 0 for a file without avbench's table."""
        found = con.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            raise ResultsStoreError(
                f"{self.path}: results schema version {found} is newer than this avbench "
                f"({avbench.__version__}) understands (version {SCHEMA_VERSION}); upgrade avbench "
                "or write to another results file")
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if found == 0 and tables:
            raise ResultsStoreError(f"{self.path}: an SQLite file without avbench's results schema "
                                    f"(tables: {', '.join(sorted(tables))}); choose another path")
        return found

    def _ensure_schema(self, con: _Connection) -> None:
        """Create the table in an empty file, or migrate an older one to :data:`SCHEMA_VERSION`
        (inside the caller's write transaction, so a concurrent writer sees either version
        whole and migrates nothing twice)."""
        found = self._check_schema(con)
        if found == 0:
            con.executescript_in_tx(SCHEMA)
        else:
            for version in range(found, SCHEMA_VERSION):
                for stmt in MIGRATIONS[version]:
                    con.execute(stmt)
        if found != SCHEMA_VERSION:
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def _column_sql(version: int) -> dict[str, str]:
        """Each column as selected from a file of ``version``: NULL for columns it lacks."""
        return {name: "NULL" if _ADDED_IN.get(name, 0) > version else name for name in COLUMNS}

    # --- paths of score files and checkpoints -----------------------------------------

    @property
    def runs_dir(self) -> Path:
        """Where runs stored here write score files and checkpoints by default
        (:func:`runs_dir_of`: ``runs/`` for ``results.sqlite``, ``runs-<name>/`` otherwise)."""
        return runs_dir_of(self.path)

    def relative(self, path: str | os.PathLike) -> str:
        """``path`` as stored: relative to the store's folder when inside it, else absolute
        (which :meth:`score_file` refuses: runs write inside the store's folder)."""
        full = Path(path).resolve()
        try:
            return full.relative_to(self.path.parent.resolve()).as_posix()
        except ValueError:
            return str(full)

    def resolve(self, stored: str) -> Path:
        """A stored ``score_file``/``checkpoint`` as a usable path (relative ones against
        the store's folder)."""
        path = Path(stored)
        return path if path.is_absolute() else self.path.parent / path

    def score_file(self, stored: str, run_key: str = "", sha256: str | None = None) -> Path:
        """The score file a row points at, checked before anything reads it.

        Returns the file's real path (symlinks resolved) if it lies inside the store's
        folder, exists, and -- when ``sha256`` (the row's ``score_sha256``) is given -- has
        exactly that SHA-256.  Otherwise raises :class:`ScoreFileError` naming the file,
        ``run_key`` and this database: a path that leaves the folder (``../``, absolute,
        or a symlink out of it) is never opened, and a file another run wrote over is
        never read as this row's scores.
        """
        from avbench.scores import PENDING_SUFFIX, file_sha256

        whose = f"run key {run_key} in {self.path}" if run_key else str(self.path)
        root = self.path.parent.resolve()
        try:
            full = self.resolve(stored).resolve()  # follows every symlink, also of missing files' folders
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise ScoreFileError(f"score file {stored!r} of {whose} cannot be resolved ({exc}); "
                                 "re-run that cell with --force", "unreadable") from None
        if not full.is_relative_to(root):
            raise ScoreFileError(
                f"score file {stored!r} of {whose} resolves to {full}, outside the results folder "
                f"{root}: refusing to read it (a results database may only point at files inside "
                "its own folder; this one was edited or comes from elsewhere). Re-run that cell "
                "with --force to store a score file of its own", "outside")
        folder = Path(stored).parts[0] if not Path(stored).is_absolute() and Path(stored).parts \
            else self.runs_dir.name
        fix = (f"copy the runs folder that belongs to {self.path.name} ({folder}/) beside it, or "
               "re-run that cell with --force")
        if not full.is_file():
            pending = full.with_name(full.name + PENDING_SUFFIX)
            if sha256 is not None and pending.is_file() and file_sha256(pending) == sha256:
                fix = (f"its run was stopped after storing the row, before renaming {pending.name}, "
                       f"which holds exactly these scores: rename it to {full.name}")
            raise ScoreFileError(f"score file {full} of {whose} does not exist: {fix}", "missing")
        if sha256 is not None:
            found = file_sha256(full)
            if found != sha256:
                raise ScoreFileError(
                    f"score file {full} is not the one {whose} was computed from: its SHA-256 is "
                    f"{found}, the row recorded {sha256} (another run or another database wrote "
                    f"over it): {fix}", "changed")
        return full

    def score_hashes(self) -> dict[str, tuple[str, str | None]]:
        """``score_file`` (as stored) -> ``(run_key, score_sha256)`` of the newest row pointing
        at it: a forced re-run rewrites its run's files, so older rows' hashes are outdated."""
        out: dict[str, tuple[str, str | None]] = {}
        if not self.path.exists():
            return out
        with self._connect() as con:
            version = self._check_schema(con)
            if version == 0:
                return out
            cols = self._column_sql(version)
            for path, key, sha in con.execute(f"SELECT score_file, run_key, {cols['score_sha256']} "
                                              "FROM results ORDER BY id"):
                out[path] = (key, sha)
        return out

    # --- writing ----------------------------------------------------------------------

    def add(self, row: ResultRow) -> ResultRow:
        """Store one row in its own transaction; returns it with ``id`` assigned."""
        return self.add_all([row])[0]

    def add_all(self, rows: list[ResultRow]) -> list[ResultRow]:
        """Store rows in one transaction (all of a cell's evaluations land together, or none);
        returns them with ``id`` assigned."""
        for row in rows:
            if not isinstance(row, ResultRow):
                raise TypeError(f"add() takes a ResultRow; got {type(row).__name__}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stored = []
        with self._connect() as con, con.write():
            self._ensure_schema(con)
            for row in rows:
                rec = row.to_record()
                rec.pop("id")
                names = ", ".join(rec)
                marks = ", ".join(f":{k}" for k in rec)
                cur = con.execute(f"INSERT INTO results ({names}) VALUES ({marks})", rec)
                stored.append(dataclasses.replace(row, id=cur.lastrowid))
        return stored

    # --- reading ----------------------------------------------------------------------

    def find(self, run_key: str) -> ResultRow | None:
        """The newest row with this run key, or None."""
        rows = self.rows(run_key=run_key)
        return rows[-1] if rows else None

    def rows(self, **filters: Any) -> list[ResultRow]:
        """Rows matching every filter (``column=value``; a list/set value means any of them),
        oldest first, as :class:`ResultRow`."""
        return [ResultRow.from_record(r) for r in self._select(filters)]

    def query(self, **filters: Any) -> pd.DataFrame:
        """Rows matching every filter as a DataFrame (one column per field, oldest first).

        JSON fields hold dicts, generator fields tuples; ``trained_on`` is None in rows
        of training runs.  Filter names are column names; a list or set value matches
        any of its items; tuples filter the generator columns by equality, a dict a
        JSON column; None matches NULL (``trained_on=None``: the rows of training runs).
        """
        records = [ResultRow.from_record(r).__dict__ for r in self._select(filters)]
        return pd.DataFrame.from_records(records, columns=list(COLUMNS))

    def all(self) -> pd.DataFrame:
        """Every row (``query()`` without filters)."""
        return self.query()

    def __len__(self) -> int:
        if not self.path.exists():
            return 0
        with self._connect() as con:
            if self._check_schema(con) == 0:
                return 0
            return con.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def _select(self, filters: Mapping[str, Any]) -> list[dict]:
        for name in filters:
            if name not in COLUMNS:
                close = difflib.get_close_matches(name, COLUMNS, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"unknown results column {name!r}; {hint}"
                                 f"columns: {', '.join(COLUMNS)}")
        if not self.path.exists():
            return []
        with self._connect() as con:
            version = self._check_schema(con)
            if version == 0:
                return []
            cols = self._column_sql(version)
            where, params = [], []
            for name, value in filters.items():
                col = cols[name]
                if name in _JSON_TUPLES:
                    where.append(f"{col} = ?")
                    params.append(_canonical(list(value)))
                elif name in _JSON_OBJECTS or (name in _JSON_OPTIONAL_OBJECTS and value is not None):
                    where.append(f"{col} = ?")
                    params.append(_canonical(value))
                elif isinstance(value, (list, set, frozenset)):
                    values = sorted(value, key=str) if not isinstance(value, list) else value
                    if not values:
                        return []
                    where.append(f"{col} IN ({', '.join('?' * len(values))})")
                    params.extend(values)
                elif value is None:
                    where.append(f"{col} IS NULL")
                else:
                    where.append(f"{col} = ?")
                    params.append(value)
            sql = f"SELECT {', '.join(f'{cols[c]} AS {c}' for c in COLUMNS)} FROM results"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += " ORDER BY id"
            cur = con.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]


class _Connection:
    """One sqlite3 connection: autocommit mode, WAL, 30 s busy timeout, closed on exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self.con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._wal()
        except sqlite3.DatabaseError as exc:
            raise ResultsStoreError(f"{path}: not a usable results file ({exc})") from exc

    def _wal(self) -> None:
        """Switch to WAL (persistent in the file).  Switching needs a moment of exclusive
        access, which the busy handler does not always wait for: retry until the timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                mode = self.con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() == "wal":
                    return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
            if time.monotonic() > deadline:
                raise ResultsStoreError(f"{self.path}: could not switch to WAL mode within "
                                        f"{BUSY_TIMEOUT_S:.0f} s (file locked)")
            time.sleep(0.01)

    def __enter__(self) -> _Connection:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        try:
            return self.con.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise ValueError(  # noqa: TRY004 - a bad value, not a bad type
                    f"{self.path}: row rejected by the results schema ({exc})") from exc
            raise ResultsStoreError(f"{self.path}: {exc}") from exc

    def executescript_in_tx(self, script: str) -> None:
        """Run ``;``-separated statements inside the open transaction (``executescript``
        would commit it first)."""
        for stmt in script.split(";"):
            body = "\n".join(line.split("--")[0] for line in stmt.splitlines()).strip()
            if body:
                self.execute(body)

    def write(self) -> _Transaction:
        return _Transaction(self)


class _Transaction:
    """``BEGIN IMMEDIATE`` (take the write lock now, waiting up to the busy timeout) ...
    ``COMMIT``, or ``ROLLBACK`` on error."""

    def __init__(self, con: _Connection) -> None:
        self.con = con

    def __enter__(self) -> None:
        self.con.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.con.execute("COMMIT")
        else:
            self.con.con.execute("ROLLBACK")
