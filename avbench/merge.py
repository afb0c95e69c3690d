"""Merge results folders: the rows of other results databases, with their score files and
models, copied into one.

A sweep is often measured in parts -- several machines, several GPU sessions, or
jobs that each wrote a database of their own -- and published from one database.
Merging copies each source row whose run key the destination lacks, together with
the files the row points at, into the destination's own runs folder, so the merged
folder is self-contained and portable like any other (paths stay relative to it).

Sources are untrusted input, like every results folder: a score file is copied only
after :meth:`ResultsStore.score_file` has checked that it lies inside its source
folder and has the SHA-256 its row recorded, and a model folder only if it lies inside
the source folder; only regular files are copied (no links), and nothing is written
outside the destination's folder.  A destination file that already exists with other
bytes is never overwritten: the merge stops before storing anything and names it.

What is kept when both sides hold a run key: the destination's row (a run key names
what determines a result, so the two rows measure the same thing; the destination's
was there first).  Within one source, the newest row of a run key is taken (a forced
re-run's).  Rows of a source whose model folder is absent (large models are often
left behind on the machine that trained them) are merged with their checkpoint path
as stored and counted in the report: evaluating such a row's model needs the folder
copied beside the database later.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from avbench.results import ResultRow, ResultsStore, ResultsStoreError, ScoreFileError

#: Files of a model folder that travel with it (a run's lock file does not).
MODEL_FILES = ("best.safetensors", "best.json", "history.csv")


class MergeError(ResultsStoreError):
    """A source cannot be merged (missing, the destination itself, a file conflict)."""


@dataclass
class MergeReport:
    """What :func:`merge_results` did, per source database."""

    added: dict[str, int] = field(default_factory=dict)
    already_present: dict[str, int] = field(default_factory=dict)
    models_copied: int = 0
    models_missing: list[str] = field(default_factory=list)

    @property
    def total_added(self) -> int:
        return sum(self.added.values())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _moved(stored: str, source: ResultsStore, dest: ResultsStore) -> str:
    """A stored relative path of ``source`` as stored in ``dest``: the source's runs folder
    name (``runs/``, ``runs-<db>/``) becomes the destination's."""
    parts = PurePosixPath(stored).parts
    if PurePosixPath(stored).is_absolute() or ".." in parts:
        raise MergeError(f"{source.path}: stored path {stored!r} leaves its results folder; "
                         "refusing to merge it")
    if parts and parts[0] == source.runs_dir.name:
        parts = (dest.runs_dir.name, *parts[1:])
    return PurePosixPath(*parts).as_posix()


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


def _plan_copy(src: Path, dst: Path, copies: dict[Path, Path]) -> None:
    """Schedule ``src`` -> ``dst``; refuse a destination that exists with other bytes."""
    if dst in copies:
        return
    if dst.exists():
        if not dst.is_file() or dst.is_symlink():
            raise MergeError(f"{dst} exists and is not a regular file; move it away and merge again")
        if _sha256(dst) != _sha256(src):
            raise MergeError(f"{dst} already exists with other contents than {src}; nothing was "
                             "merged (two results folders wrote the same run folder differently: "
                             "merge into a new database, or remove one of the two)")
        return
    copies[dst] = src


def merge_results(sources: list[str | os.PathLike], dest: str | os.PathLike) -> MergeReport:
    """Copy the rows of each database in ``sources`` that ``dest`` lacks (by run key), with
    their score files and model folders, into ``dest`` and its runs folder.

    All files are checked and copied first, then the rows are stored in one transaction, so
    an error leaves the destination's database as it was.
    """
    target = ResultsStore(dest)
    root = target.path.parent
    present = {row.run_key for row in target.rows()}
    report = MergeReport()
    copies: dict[Path, Path] = {}
    new_rows: list[ResultRow] = []
    for source_path in sources:
        source_file = Path(source_path)
        if not source_file.is_file():
            raise MergeError(f"{source_file}: no such results database")
        if source_file.resolve() == target.path.resolve():
            raise MergeError(f"{source_file} is the destination itself; name another source")
        source = ResultsStore(source_file)
        newest: dict[str, ResultRow] = {}
        for row in source.rows():
            newest[row.run_key] = row
        added = skipped = 0
        for key, row in newest.items():
            if key in present:
                skipped += 1
                continue
            try:
                score_src = source.score_file(row.score_file, row.run_key, row.score_sha256)
            except ScoreFileError as exc:
                raise MergeError(f"{source_file}: {exc}") from None
            score_rel = _moved(row.score_file, source, target)
            _plan_copy(score_src, root / score_rel, copies)
            checkpoint_rel = row.checkpoint
            if row.checkpoint:
                checkpoint_rel = _moved(row.checkpoint, source, target)
                model_src = source.resolve(row.checkpoint).parent
                model_dst = (root / checkpoint_rel).parent
                if model_src.is_dir() and _inside(model_src, source.path.parent):
                    for name in MODEL_FILES:
                        file = model_src / name
                        if file.is_file() and not file.is_symlink():
                            _plan_copy(file, model_dst / name, copies)
                elif row.checkpoint not in report.models_missing:
                    report.models_missing.append(row.checkpoint)
            new_rows.append(dataclasses.replace(row, id=None, score_file=score_rel,
                                                checkpoint=checkpoint_rel))
            present.add(key)
            added += 1
        report.added[str(source_file)] = added
        report.already_present[str(source_file)] = skipped
    models = set()
    for dst, src in copies.items():
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not _inside(dst.parent, root):  # a link inside the destination pointing out of it
            raise MergeError(f"{dst} lies outside the destination folder {root}; stopped there")
        tmp = dst.with_name(dst.name + ".merging")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        if dst.name == "best.safetensors":
            models.add(dst.parent)
    report.models_copied = len(models)
    if new_rows:
        target.add_all(new_rows)
    return report
