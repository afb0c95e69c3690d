"""Score files: the only interface between a method and the metrics.

A score file is a Parquet table with one row per verification pair
(:func:`avbench.evaluation.verification_pairs`) and the method's score for it.
Every metric (:mod:`avbench.metrics`) is computed from such a table, so a stored
score file lets anyone recompute or add metrics without the model (bob.bio).

Columns (in this order; other columns are allowed after them and kept as they are):

=================  =======  ===================================================================
``a_path``         str      first video of the pair, path relative to the dataset root
``b_path``         str      second video of the pair
``target``         str      identity whose appearance both videos render (the AUC's group)
``a_driver``       str      identity driving the first video
``b_driver``       str      identity driving the second video
``a_generator``    str      reenactment generator of the first video
``b_generator``    str      reenactment generator of the second video
``label``          int64    1: same driver (positive pair), 0: different drivers
``score``          float64  the method's similarity; higher means more likely the same driver
=================  =======  ===================================================================

Writes are atomic: the table goes to a temporary file in the same folder, is
flushed to disk, and is renamed over the destination, so a reader sees either
the old file or the whole new one, never a partial one.  Optional ``metadata``
(a JSON-able dict, e.g. the run key) is stored in the Parquet schema metadata and
read back with :func:`read_scores_metadata`.

A run's score files belong to result rows, which record each file's SHA-256
(:func:`file_sha256`).  A file and its row cannot be written in one atomic step,
so a run writes them in an order that never shows a reader a final-named file
without its row (:class:`PendingScoreFiles`): each file under a pending name
(``scores-all.parquet.pending``) first, the rows in one transaction, and only then
the renames to the final names.  A kill before the commit leaves pending files
only, which the next run of that cell removes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PENDING_SUFFIX = ".pending"
SCORE_COLUMNS = ("a_path", "b_path", "target", "a_driver", "b_driver",
                 "a_generator", "b_generator", "label", "score")
METADATA_KEY = b"avbench.scores"


def score_table(pairs: pd.DataFrame, videos: pd.DataFrame, scores: Any) -> pd.DataFrame:
    """Build a score table from verification pairs, the index videos and one score per pair.

    Args:
        pairs: output of :func:`avbench.evaluation.verification_pairs`: columns
            ``a``, ``b`` (row labels of ``videos``), ``target``, ``label``; any
            other column is kept after the standard ones.
        videos: the index's videos table (:mod:`avbench.data.index`) the row labels refer to.
        scores: one finite score per pair, in the order of ``pairs``.

    Returns:
        A DataFrame with :data:`SCORE_COLUMNS` (then ``pairs``' extra columns), index 0..n-1.
    """
    missing = [c for c in ("a", "b", "target", "label") if c not in pairs.columns]
    if missing:
        raise ValueError(f"pairs lack column(s) {', '.join(missing)}")
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or len(values) != len(pairs):
        raise ValueError(f"need one score per pair: {len(pairs)} pairs, scores of shape "
                         f"{values.shape}")
    n_bad = int((~np.isfinite(values)).sum())
    if n_bad:
        raise ValueError(f"{n_bad} of {len(values)} scores are NaN or infinite")
    unknown = sorted(set(pairs["a"]).union(pairs["b"]) - set(videos.index), key=str)
    if unknown:
        raise ValueError(f"{len(unknown)} pair members are not rows of videos (e.g. {unknown[:3]})")
    a = videos.loc[pairs["a"].to_numpy()]
    b = videos.loc[pairs["b"].to_numpy()]
    table = pd.DataFrame({
        "a_path": a["path"].to_numpy(),
        "b_path": b["path"].to_numpy(),
        "target": pairs["target"].to_numpy(),
        "a_driver": a["driver"].to_numpy(),
        "b_driver": b["driver"].to_numpy(),
        "a_generator": a["generator"].to_numpy(),
        "b_generator": b["generator"].to_numpy(),
        "label": pairs["label"].to_numpy().astype(np.int64),
        "score": values,
    })
    for col in ("a_path", "b_path", "target", "a_driver", "b_driver", "a_generator", "b_generator"):
        table[col] = table[col].astype(str)
    for col in pairs.columns:
        if col not in ("a", "b") and col not in table.columns:
            table[col] = pairs[col].to_numpy()
    return table


def _check_columns(df: pd.DataFrame, where: str) -> None:
    missing = [c for c in SCORE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{where}: score table lacks column(s) {', '.join(missing)}; "
                         f"required: {', '.join(SCORE_COLUMNS)}")


def write_scores(path: str | os.PathLike, scores_df: pd.DataFrame,
                 metadata: Mapping[str, Any] | None = None) -> Path:
    """Write a score table to ``path`` (Parquet) atomically; returns the path.

    The standard columns come first, extra columns after them in their order; the
    index is not stored.  Parent folders are created.
    """
    path = Path(path)
    _check_columns(scores_df, str(path))
    extra = [c for c in scores_df.columns if c not in SCORE_COLUMNS]
    df = scores_df[list(SCORE_COLUMNS) + extra].reset_index(drop=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata is not None:
        meta = dict(table.schema.metadata or {})
        meta[METADATA_KEY] = json.dumps(dict(metadata), sort_keys=True).encode()
        table = table.replace_schema_metadata(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def read_scores(path: str | os.PathLike) -> pd.DataFrame:
    """Read a score table written by :func:`write_scores` (all columns, index 0..n-1)."""
    path = Path(path)
    try:
        df = pd.read_parquet(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"score file {path} does not exist") from None
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"{path}: not a readable score file ({exc})") from exc
    _check_columns(df, str(path))
    return df


def read_scores_metadata(path: str | os.PathLike) -> dict:
    """The ``metadata`` dict stored with a score file ({} when none was given)."""
    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes as 64 lowercase hex digits (what result rows record)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class PendingScoreFiles:
    """A run folder's score files, written under pending names and renamed to their final
    names only once the rows that record them are committed (see the module docstring).

    Creating one removes pending files a killed earlier attempt left in ``folder``; the
    caller holds the run folder (one writer per run key), so none of them is in use.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self._files: list[tuple[Path, Path]] = []  # (pending, final)
        if self.folder.is_dir():  # pending files, and write_scores' temporary files of them
            for pattern in (f"scores-*{PENDING_SUFFIX}", f".scores-*{PENDING_SUFFIX}.*.tmp"):
                for stale in self.folder.glob(pattern):
                    stale.unlink(missing_ok=True)

    def write(self, name: str, scores_df: pd.DataFrame,
              metadata: Mapping[str, Any] | None = None) -> tuple[Path, str]:
        """Write ``scores_df`` as the pending file of ``folder / name``; returns the final path
        (what the row stores) and the file's SHA-256 (what it records)."""
        final = self.folder / name
        pending = write_scores(final.with_name(final.name + PENDING_SUFFIX), scores_df, metadata)
        self._files.append((pending, final))
        return final, file_sha256(pending)

    def publish(self) -> list[Path]:
        """Rename every pending file to its final name (after the rows were committed)."""
        for pending, final in self._files:
            os.replace(pending, final)
        done = [final for _, final in self._files]
        self._files = []
        return done

    def discard(self) -> None:
        """Remove the pending files (the rows were not stored): no score file without a row."""
        for pending, _ in self._files:
            pending.unlink(missing_ok=True)
        self._files = []

    def commit(self, store, rows: list) -> list:
        """Store ``rows`` (which record these files), then give the files their final names.

        If storing fails or is interrupted (Ctrl-C too), the files are published only when every
        row is committed anyway (the interrupt came after the commit, before ``add_all``
        returned) and discarded otherwise.  A kill between the commit and the renames leaves
        rows whose files are still pending; readers then name the file and its pending copy."""
        try:
            stored = store.add_all(rows)
        except BaseException:
            if rows and all(_committed(store, row) for row in rows):
                self.publish()
            else:
                self.discard()
            raise
        self.publish()
        return stored


def _committed(store, row) -> bool:
    """Whether ``row`` (not yet returned by the store) is the newest stored row of its key."""
    found = store.find(row.run_key)
    return found is not None and found.score_sha256 == row.score_sha256
