"""The dataset index: one row per usable video, plus every file that was not used.

Every dataset layout (NVFAIR, AVAPrintDB, the synthetic default) is turned into
the same :class:`DatasetIndex`, so nothing downstream knows which layout it came
from.  Nothing is dropped silently: a file that is not indexed gets a row in
``skipped`` with its reason.

Columns of ``DatasetIndex.videos`` (one row per video, sorted by ``path``):

========================  ================================================================
``path``                  file path relative to the dataset root (POSIX separators)
``source``                source corpus the video is filed under (NVFAIR: its top folder,
                          NVIDIA-VC-subset, RAVDESS or CREMA-D; AVAPrintDB: the target's
                          corpus, CREMA-D or RAVDESS)
``generator``             reenactment generator (``facevid2vid``, ``tps``, ``lia`` in NVFAIR;
                          ``GAGA``, ``LIVE``, ``HUNY`` in AVAPrintDB) or ``original``
``target``                identity whose appearance is rendered
``driver``                identity whose facial motion drives the video
``driving_video``         basename of the driving (real) video, "" when the layout lacks it
``kind``                  ``self`` (driver == target), ``cross`` or ``original`` (real video)
``split``                 ``train``, ``val`` or ``test`` (target and driver share it)
``is_original``           True for real videos; excluded from training and evaluation
                          unless a run asks for them
``landmarks``             path of the dataset's own landmark file relative to the root, or ""
========================  ================================================================

Skip policy (documented in the README): file-level problems are counted skips,
with the reason in ``DatasetIndex.skipped`` and a summary printed by every command
that indexes; ``IndexOptions(strict=True)`` (``--strict``) turns the first one into
an error.  Problems of the split definition itself (an identity listed in two
splits, a malformed split file) are always errors, because every result computed
from them would be wrong.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

import pandas as pd

from avbench.errors import DatasetError

INDEX_SCHEMA_VERSION = "3"  # 3: empty files and broken links skipped (older indexes may list them)

COLUMNS = (
    "path", "source", "generator", "target", "driver", "driving_video",
    "kind", "split", "is_original", "landmarks",
)
SPLITS = ("train", "val", "test")
KINDS = ("self", "cross", "original")


class SkipReason(StrEnum):
    """Why a file under the dataset root is not in the index."""

    UNPARSABLE_NAME = "unparsable_name"  # matches no file-name rule of the layout
    UNKNOWN_IDENTITY = "unknown_identity"  # target or driver not in the split lists
    CROSS_SPLIT = "cross_split"  # cross-reenactment whose target and driver differ in split
    FOLDER_MISMATCH = "folder_mismatch"  # file name disagrees with the folder it is in
    NOT_A_VIDEO = "not_a_video"  # unexpected file type inside the video tree
    UNREADABLE = "unreadable"  # a folder or file the OS would not let us read
    BROKEN_SYMLINK = "broken_symlink"  # a link whose target is missing, or that loops
    ZERO_BYTE = "zero_byte"  # an empty file: never a video (nor a landmark file)


class SplitLeakageError(DatasetError):
    """An identity would appear in two splits: every metric would be optimistic."""


@dataclass(frozen=True)
class IndexOptions:
    strict: bool = False  # raise on the first skipped file instead of counting it
    refresh: bool = False  # ignore the on-disk cache


@dataclass
class SkipLog:
    """Collects skipped files while a layout is walked."""

    strict: bool = False
    rows: list[dict] = field(default_factory=list)

    def skip(self, path: str, reason: SkipReason, detail: str) -> None:
        if self.strict:
            raise DatasetError(f"{path}: {reason.value}: {detail} (strict mode; drop --strict to "
                               "count and skip such files instead)")
        self.rows.append({"path": path, "reason": reason.value, "detail": detail})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["path", "reason", "detail"])


@dataclass
class DatasetIndex:
    """What a dataset contains, in avbench's common form."""

    dataset: str
    root: Path
    videos: pd.DataFrame
    skipped: pd.DataFrame
    identities: pd.DataFrame  # columns identity, split, source
    generators: tuple[str, ...]
    fingerprint: str
    notes: list[str] = field(default_factory=list)  # facts worth printing (e.g. split counts)

    def select(self, split: str, generators: Iterable[str] | None = None,
               include_originals: bool = False) -> pd.DataFrame:
        """Videos of one split (and generators); real videos only when asked for."""
        v = self.videos[self.videos["split"] == split]
        if not include_originals:
            v = v[~v["is_original"]]
        if generators is not None:
            v = v[v["generator"].isin(list(generators))]
        return v

    def skip_counts(self) -> dict[str, int]:
        return self.skipped["reason"].value_counts().sort_index().to_dict()


def make_videos_frame(rows: list[dict]) -> pd.DataFrame:
    """Build the ``videos`` table with the documented columns, types and order."""
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["is_original"] = df["is_original"].astype(bool)
    for col in COLUMNS:
        if col != "is_original":
            df[col] = df[col].astype(str)
    return df.sort_values("path", kind="stable").reset_index(drop=True)


def check_no_leakage(videos: pd.DataFrame) -> None:
    """Fail if any identity (as target or driver) appears in more than one split."""
    roles = pd.concat([
        videos[["target", "split"]].rename(columns={"target": "identity"}),
        videos[["driver", "split"]].rename(columns={"driver": "identity"}),
    ])
    per_id = roles.drop_duplicates().groupby("identity")["split"].agg(lambda s: sorted(set(s)))
    leaks = per_id[per_id.map(len) > 1]
    if len(leaks):
        shown = "; ".join(f"{i}: {', '.join(s)}" for i, s in leaks.head(10).items())
        raise SplitLeakageError(
            f"{len(leaks)} identities appear in more than one split ({shown}). "
            "Fix the split lists so every identity belongs to exactly one split."
        )


# --- caching -----------------------------------------------------------------------

def tree_fingerprint(root: Path, extra: Iterable[str] = ()) -> str:
    """A hash of every file and folder name under ``root`` and every folder's mtime.

    Adding, removing or renaming any file changes it; so does anything in
    ``extra`` (split-file contents, options, parser version).  Files are not
    stat-ed one by one: names suffice for the index, and NVFAIR's 650k files would
    make that slow.  Content changes are the frame cache's business (it keys on
    size and mtime).
    """
    h = hashlib.sha256()
    for item in extra:
        h.update(item.encode())
        h.update(b"\0")
    for dirpath, dirnames, filenames in _walk(root, lambda err: None):
        rel = os.path.relpath(dirpath, root)
        try:
            mtime = os.stat(dirpath).st_mtime_ns
        except OSError:
            mtime = -1
        h.update(f"D {rel} {mtime}\n".encode())
        for name in sorted(filenames):
            h.update(f"F {name}\n".encode())
    return h.hexdigest()[:20]


def content_fingerprint(root: Path, videos: pd.DataFrame, extra: Iterable[str] = ()) -> str:
    """The identity of the data results rest on: every indexed video's and landmark
    file's relative path and size, plus ``extra`` (split lists, parser version, options).

    Unlike :func:`tree_fingerprint` (the index cache's key, cheap enough to recompute
    on every open because it reads only names and folder times), it is the same for
    the same data anywhere: a copied release, or the synthetic dataset made again on
    another machine (its files are byte-identical), gets the same fingerprint, so
    results from several machines are compared and share leaderboard sections.
    Files the index skips do not enter it: a stray file changes no result.  Sizes
    stand in for contents, since reading 650k videos would take hours; it is computed
    only when the index is built.
    """
    h = hashlib.sha256()
    for item in extra:
        h.update(item.encode())
        h.update(b"\0")
    for rel, lm in zip(videos["path"], videos["landmarks"], strict=True):
        for kind, name in (("V", rel), ("L", lm)):
            if name:
                try:
                    size = os.stat(Path(root) / name).st_size
                except OSError:
                    size = -1  # vanished since the walk: the next open rebuilds anyway
                h.update(f"{kind} {name} {size}\n".encode())
    return h.hexdigest()[:20]


def cached_index(dataset: str, root: Path, fingerprint: str, options: IndexOptions,
                 build: Callable[[], DatasetIndex], cache_dir: Path) -> DatasetIndex:
    """Return the index stored for this exact tree, or build and store it.

    The cache key is the dataset name, the resolved root and the tree fingerprint,
    so any change in the tree (or in the split files) rebuilds.  Writes go to a
    temporary folder that is renamed into place, so readers never see half an index.
    """
    key = hashlib.sha256(f"{dataset}\0{root.resolve()}\0{fingerprint}".encode()).hexdigest()[:24]
    folder = cache_dir / "index" / f"{dataset}-{key}"
    if folder.is_dir() and not options.refresh:
        try:
            index = _read_index(folder, root)
        except Exception:  # an unreadable cache is rebuilt, never trusted
            index = None
        if index is not None:
            if options.strict and len(index.skipped):
                first = index.skipped.iloc[0]
                SkipLog(strict=True).skip(first["path"], SkipReason(first["reason"]), first["detail"])
            return index
    index = build()
    _write_index(folder, index)
    return index


def _write_index(folder: Path, index: DatasetIndex) -> None:
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    index.videos.to_parquet(tmp / "videos.parquet", index=False)
    index.skipped.to_parquet(tmp / "skipped.parquet", index=False)
    index.identities.to_parquet(tmp / "identities.parquet", index=False)
    meta = {"schema": INDEX_SCHEMA_VERSION, "dataset": index.dataset,
            "generators": list(index.generators), "fingerprint": index.fingerprint,
            "notes": index.notes}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(folder, ignore_errors=True)  # a stale copy (--refresh) goes first
    try:
        os.replace(tmp, folder)
    except OSError:  # another process won the race with an identical index
        shutil.rmtree(tmp, ignore_errors=True)


def _read_index(folder: Path, root: Path) -> DatasetIndex:
    meta = json.loads((folder / "meta.json").read_text())
    if meta["schema"] != INDEX_SCHEMA_VERSION:
        raise ValueError("old index schema")
    return DatasetIndex(
        dataset=meta["dataset"], root=root,
        videos=pd.read_parquet(folder / "videos.parquet"),
        skipped=pd.read_parquet(folder / "skipped.parquet"),
        identities=pd.read_parquet(folder / "identities.parquet"),
        generators=tuple(meta["generators"]), fingerprint=meta["fingerprint"],
        notes=list(meta.get("notes", [])),
    )


def options_fingerprint(options: IndexOptions) -> str:
    """The options that change an index's content (``strict`` and ``refresh`` do not:
    a strict run over a cached index re-raises its first skip)."""
    ignored = {"refresh", "strict"}
    return json.dumps({k: v for k, v in asdict(options).items() if k not in ignored}, sort_keys=True)


def _walk(top: Path, onerror: Callable[[OSError], None]):
    """``os.walk`` in sorted order that follows symlinked folders, each real folder once.

    Releases assembled from several disks use symlinked folders, which plain
    ``os.walk`` would skip silently; following them needs a guard, or a link back up
    the tree would be walked until the OS gives up (~40 levels).
    """
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(top, onerror=onerror, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError as exc:  # removed or re-linked since it was listed
            onerror(exc)
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        yield dirpath, dirnames, filenames


def walk_files(root: Path, top: Path, log: SkipLog):
    """Yield every usable file under ``top`` as a POSIX path relative to ``root``.

    Unreadable folders are logged as skips instead of vanishing, as ``os.walk``
    would do by default.  So is every file :func:`file_problem` rejects: ``os.walk``
    lists a link it cannot follow (dangling, or a loop, to a file or to a folder)
    as a file, and a layout would index a dangling ``.mp4`` link or an empty
    ``.mp4`` as a video that then stops the run.  Checking here, once, covers every
    layout; it costs one ``stat`` per file, paid only when the index is built.
    """
    def on_error(err: OSError) -> None:
        rel = Path(err.filename).relative_to(root).as_posix() if err.filename else str(top)
        log.skip(rel + "/", SkipReason.UNREADABLE, err.strerror or str(err))

    for dirpath, dirnames, filenames in _walk(top, on_error):
        rel_dir = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            rel = (rel_dir / name).as_posix()
            problem = file_problem(Path(dirpath) / name)
            if problem is None:
                yield rel
            else:
                log.skip(rel, *problem)


def file_problem(path: Path) -> tuple[SkipReason, str] | None:
    """Why the file at ``path`` can be no dataset file, or None if it can be one.

    A link is judged by what it points to: a link to a real video is as good as
    the video.  A zero-byte file is never a video or a landmark file, whatever its
    name says.
    """
    try:
        st = os.stat(path)  # follows links
    except OSError as exc:
        if not os.path.islink(path):
            return SkipReason.UNREADABLE, exc.strerror or str(exc)
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        if exc.errno == errno.ELOOP:
            return (SkipReason.BROKEN_SYMLINK,
                    f"symlink loop: it points to {target}, which leads back to itself")
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return (SkipReason.BROKEN_SYMLINK,
                    f"dangling symlink: its target {target} does not exist")
        return SkipReason.BROKEN_SYMLINK, f"symlink to {target}: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return SkipReason.NOT_A_VIDEO, "not a regular file (a pipe, socket or device)"
    if st.st_size == 0:
        return SkipReason.ZERO_BYTE, "empty file (0 bytes)"
    return None


def identities_frame(split_of: dict[str, str], source_of: Callable[[str], str]) -> pd.DataFrame:
    rows = [{"identity": i, "split": s, "source": source_of(i)} for i, s in sorted(split_of.items())]
    return pd.DataFrame(rows, columns=["identity", "split", "source"])
