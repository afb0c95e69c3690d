"""``avbench leaderboard publish``: results store → one static board per dataset.

The only inputs are the results store and the score files it points to (plus the
shipped reported figures); a board is never edited by hand.  Publishing the same
store twice writes the same files.

Where it writes.  ``--out`` is a folder of boards that publish owns: it must be
missing, empty, or one that publish made, which it marks with a ``.avbench-board``
file.  There publish writes only that marker, ``index.html``, ``README.md``,
``assets/board.css`` and one folder per dataset, each with its own marker listing
its files; anything else (a publisher's ``REPRODUCE.md``, the results database) is
left alone, and a folder it did not write is never replaced.  Dataset names come
from a database, which may come from anyone, so they must be plain folder names.
A board is written into a temporary folder beside it and swapped in with one
rename, so a publish killed at any moment leaves the old board or the new one,
never a mix; the next publish clears what a killed one left.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pandas as pd

import avbench
from avbench.errors import AvbenchError, UsageError
from avbench.leaderboard import figures as fig
from avbench.leaderboard.board import (
    QUICK_LABEL,
    Figure,
    attach_reported,
    build_board,
    entry_labels,
    section_id_of,
)
from avbench.leaderboard.compare import comparisons_against
from avbench.leaderboard.entries import (
    SECTION_KEY,
    ScoreReader,
    build_entries,
    evaluated_rows,
    latest_rows,
    secondary_cis,
)
from avbench.leaderboard.methods import with_method_facts
from avbench.leaderboard.render import TEMP_NAME, temp_name, write_atomic, write_board, write_root
from avbench.leaderboard.reported import load_reported, reported_for
from avbench.results import ResultsStore

try:
    import fcntl
except ImportError:  # Windows: no advisory lock on a folder; one publish at a time is up to the user
    fcntl = None

DEFAULT_AGAINST = "f5c_featdiff"  # the paper's method: the board's reference for comparisons
MARKER = ".avbench-board"
WRITTEN_BY = "avbench leaderboard publish"
# A dataset names a folder: a plain name (no separator, no "..", not hidden), short enough for
# any file system.  "assets" is the root page's stylesheet folder.
DATASET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
RESERVED_NAMES = ("assets",)
# Profiles (avbench/config.py) that are not published as measurements: ``smoke`` runs only check
# that the pipeline runs end to end (seconds of training), so they are never published; ``quick``
# runs are a CPU demonstration too short to converge, published only on request and labelled.
NEVER_PUBLISHED = "smoke"
ON_REQUEST = "quick"
_ABOUT = ("A folder of boards written by `avbench leaderboard publish`. Publishing here replaces "
          "index.html, README.md, assets/board.css and the board folders (each marked by its own "
          f"{MARKER}, which lists its files), and touches nothing else.")


class MissingScoreFile(AvbenchError):
    """A stored row's score file is gone: curves and comparisons cannot be drawn."""


class WouldDropResults(AvbenchError):
    """The output folder holds a board with results this database does not have."""


class NotABoardFolder(AvbenchError):
    """``--out``, or a folder in it, holds files publish did not write: it would replace them."""


class BadDatasetName(AvbenchError):
    """A stored dataset name cannot name a folder (a path, ``..``, a hidden or odd name)."""


class BoardFolderBusy(AvbenchError):
    """Another publish is writing into the same folder of boards."""


def publish(store: ResultsStore, out_dir: Path, datasets: Iterable[str] | None = None,
            against: str = DEFAULT_AGAINST, replace: bool = False,
            progress: Callable[[str], None] | None = None, include_quick: bool = False) -> list[Path]:
    """Write ``out_dir/<dataset>/`` for every dataset with results or reported figures.

    Returns the board folders written.  ``datasets`` limits which boards are
    written; naming one with neither results nor reported figures is an error.
    A board already in ``out_dir`` is only rewritten if this database still holds
    every result it shows (a board grows with its database); replacing one made
    from another database takes ``replace=True``.  ``out_dir`` must be missing,
    empty or a folder publish made (see the module docstring); every check is
    made before anything is written.

    Rows of the ``smoke`` profile are never published, and rows of the ``quick`` profile
    only with ``include_quick`` (labelled "not converged (quick profile)" wherever they
    appear); how many were left out is said through ``progress`` and on each board.
    """
    say = progress or (lambda msg: None)
    rows, left_rows = split_by_profile(latest_rows(store), include_quick)
    # evaluation-only rows: listed on the boards apart from the ranked tables
    evaluated, left_evaluated = split_by_profile(evaluated_rows(store), include_quick)
    left_out = pd.concat([left_rows, left_evaluated], ignore_index=True)
    reader = ScoreReader(store)
    _check_score_files(rows, reader, store)
    reported_all = load_reported()
    available = sorted(set(rows["dataset"]) | set(evaluated["dataset"]) | set(reported_all["dataset"]))
    chosen = list(datasets) if datasets else available
    unknown = [d for d in chosen if d not in available]
    if unknown:
        raise UsageError(f"no results or reported figures for dataset(s) {', '.join(unknown)} in "
                         f"{store.path}; boards can be published for: {', '.join(available)}")
    for dataset in chosen:
        check_dataset_name(dataset, store)
    say(f"{len(rows)} stored results in {store.path}"
        + (f", and {len(evaluated)} evaluation-only results (listed apart)" if len(evaluated) else ""))
    for line in left_out_lines(left_out):
        say(line)
    for dataset in chosen:
        warning = fingerprint_warning(dataset, _of_dataset(rows, dataset))
        if warning:
            say(warning)
    out_dir = Path(out_dir)
    ours = _check_out_dir(out_dir)
    written = []
    with ExitStack() as held:
        if ours:
            held.enter_context(_locked(out_dir))
            _clear_leftovers(out_dir, say)
        for dataset in chosen:
            _check_board_folder(out_dir / dataset)
        if not replace:  # every board checked before any is written: all or nothing
            for dataset in chosen:
                ds_rows = rows[rows["dataset"] == dataset] if len(rows) else rows
                ds_evaluated = evaluated[evaluated["dataset"] == dataset] if len(evaluated) else evaluated
                _check_nothing_dropped(out_dir / dataset, ds_rows, store, ds_evaluated,
                                       _of_dataset(left_out, dataset))
        if not ours:
            out_dir.mkdir(parents=True, exist_ok=True)
            held.enter_context(_locked(out_dir))
        _write_marker(out_dir)  # first: a publish killed from here on leaves a folder it can reopen
        for dataset in chosen:
            ds_rows = rows[rows["dataset"] == dataset] if len(rows) else rows
            ds_evaluated = evaluated[evaluated["dataset"] == dataset] if len(evaluated) else evaluated
            reported = reported_for(dataset, reported_all)
            entries = with_method_facts(attach_reported(build_entries(ds_rows, reader), reported))
            board_dir = out_dir / dataset
            new_dir = out_dir / temp_name("new", dataset)
            new_dir.mkdir()
            try:
                say(f"{dataset}: {len(entries)} measured entries, {len(reported)} reported figures")
                entries = with_secondary_cis(entries, reader, say)
                drawn = draw_figures(entries, reported, reader, new_dir, say)
                say(f"{dataset}: paired comparisons against {against}")
                comparisons = comparisons_against(entries, reader, against)
                board = build_board(dataset, ds_rows, entries, reported, comparisons, against,
                                    avbench.__version__, drawn, ds_evaluated,
                                    left_out=left_out_lines(_of_dataset(left_out, dataset)))
                write_board(board, new_dir, entries, reported)
                _write_board_marker(new_dir, dataset)
            except BaseException:
                shutil.rmtree(new_dir, ignore_errors=True)
                raise
            _swap_in(new_dir, board_dir)
            written.append(board_dir)
        write_root(out_dir, boards_in(out_dir))
    return written


def split_by_profile(rows: pd.DataFrame, include_quick: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(published, left out)``: ``smoke`` rows are always left out, ``quick`` rows unless
    ``include_quick``."""
    if rows.empty:
        return rows, rows
    left = rows["profile"] == NEVER_PUBLISHED
    if not include_quick:
        left |= rows["profile"] == ON_REQUEST
    return rows[~left].reset_index(drop=True), rows[left].reset_index(drop=True)


def fingerprint_warning(dataset: str, rows: pd.DataFrame) -> str:
    """A warning line where ``dataset``'s rows were measured on two or more versions of its data
    (dataset fingerprints): their numbers are not comparable, so its board splits into sections
    per fingerprint, which a reader should know before reading it as one table."""
    if rows.empty:
        return ""
    counts = rows["dataset_fingerprint"].value_counts()
    if len(counts) < 2:
        return ""
    listed = ", ".join(f"{fp} ({n} rows)" for fp, n in sorted(counts.items()))
    return (f"warning: dataset {dataset} has results under {len(counts)} dataset fingerprints: {listed}; "
            "its board shows each fingerprint in its own sections, never ranked together. Re-run the "
            "older rows on the current data (or publish another database) to get one comparable board")


def _of_dataset(rows: pd.DataFrame, dataset: str) -> pd.DataFrame:
    return rows[rows["dataset"] == dataset] if len(rows) else rows


def left_out_lines(left_out: pd.DataFrame) -> list[str]:
    """What a publish left out, one line per profile (printed, and shown on the board)."""
    if left_out.empty:
        return []
    counts = left_out["profile"].value_counts()
    lines = []
    if counts.get(NEVER_PUBLISHED, 0):
        lines.append(f"left out {counts[NEVER_PUBLISHED]} result(s) of the smoke profile: smoke runs "
                     "only check that avbench runs end to end and are never published")
    if counts.get(ON_REQUEST, 0):
        lines.append(f"left out {counts[ON_REQUEST]} result(s) of the quick profile (too short to "
                     "converge); publish them with --include-quick, labelled "
                     f"\"{QUICK_LABEL}\"")
    return lines


def check_dataset_name(name: str, store: ResultsStore) -> None:
    """Refuse a dataset name that is not a plain folder name: the board is written to
    ``out_dir/<name>``, and a stored name such as ``../x`` or ``/home/x`` would put it elsewhere."""
    where = f"dataset {name!r} in {store.path} cannot name a board folder"
    fix = ("nothing was written. Rename that dataset in the database's rows, or publish the other "
           "datasets with --dataset NAME")
    if name in RESERVED_NAMES:
        raise BadDatasetName(f"{where}: {name!r} is the folder of the root page's stylesheet; {fix}")
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name) or ".." in name:
        raise BadDatasetName(
            f"{where}: board folders are named after their dataset, so a name must be 1 to 100 "
            f"letters, digits, '.', '_' or '-', not start with '.' or '-' and not contain '..'; {fix}")


def _read_marker(path: Path, kind: str) -> dict | None:
    """The marker at ``path`` if it is one publish wrote for a ``kind`` folder, else None."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("written_by") != WRITTEN_BY or marker.get("kind") != kind:
        return None
    return marker


def _check_out_dir(out_dir: Path) -> bool:
    """True if ``out_dir`` is a folder of boards publish made; False if it is missing or empty
    (publish makes it one); refused otherwise, before anything is written."""
    if not out_dir.exists() and not out_dir.is_symlink():
        return False
    if not out_dir.is_dir():
        raise NotABoardFolder(f"--out {out_dir} is not a folder; choose an empty or new folder with --out")
    if not any(out_dir.iterdir()):
        return False
    if _read_marker(out_dir / MARKER, "boards") is None:
        if _read_marker(out_dir / MARKER, "board") is not None:
            raise NotABoardFolder(f"{out_dir} is the board of one dataset, not a folder of boards; "
                                  f"publish to its parent folder, {out_dir.parent}")
        raise NotABoardFolder(
            f"{os.path.abspath(out_dir)} is not empty and was not made by `avbench leaderboard "
            f"publish` (it has no {MARKER} file); publishing there would replace or delete files "
            "that are not avbench's. Choose an empty or new folder with --out (publish creates it)")
    assets = out_dir / "assets"
    if assets.is_symlink() or (assets.exists() and not assets.is_dir()):
        raise NotABoardFolder(f"{assets} is not a folder publish wrote (it is a link or a file); move it "
                              "away, or publish to another --out")
    return True


def _files_in(folder: Path) -> set[str]:
    """Every file and link under ``folder`` (links not followed), as relative POSIX paths."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath).relative_to(folder)
        found.update((base / name).as_posix() for name in filenames)
        found.update((base / name).as_posix() for name in dirnames if (Path(dirpath) / name).is_symlink())
    return found


def _check_board_folder(board_dir: Path) -> None:
    """A folder publish is about to replace must be a board it wrote, holding only its files."""
    if not board_dir.exists() and not board_dir.is_symlink():
        return
    marker = None
    if board_dir.is_dir() and not board_dir.is_symlink():
        marker = _read_marker(board_dir / MARKER, "board")
    if marker is None or marker.get("dataset") != board_dir.name:
        raise NotABoardFolder(
            f"{board_dir} exists but is not a board written by `avbench leaderboard publish` (no "
            f"{MARKER} file in it); move or rename it, or publish to another --out")
    listed = marker.get("files")
    listed = {f for f in listed if isinstance(f, str)} if isinstance(listed, list) else set()
    foreign = sorted(_files_in(board_dir) - listed - {MARKER})
    if foreign:
        shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
        raise NotABoardFolder(
            f"{board_dir} holds {len(foreign)} file(s) that `avbench leaderboard publish` did not write "
            f"({shown}); a board folder is replaced whole when it is republished. Move them out of "
            f"{board_dir} and publish again")


def boards_in(out_dir: Path) -> list[str]:
    """The board folders publish wrote in ``out_dir`` (what the root page lists)."""
    return sorted(child.name for child in Path(out_dir).iterdir()
                  if DATASET_NAME.fullmatch(child.name) and child.is_dir() and not child.is_symlink()
                  and (_read_marker(child / MARKER, "board") or {}).get("dataset") == child.name)


def _marker_text(**fields) -> str:
    return json.dumps({"written_by": WRITTEN_BY, "avbench_version": avbench.__version__, **fields},
                      indent=1, sort_keys=True) + "\n"


def _write_marker(out_dir: Path) -> None:
    text = _marker_text(kind="boards", about=_ABOUT)
    path = out_dir / MARKER
    if path.is_symlink() or not path.is_file() or path.read_text() != text:
        write_atomic(path, text, out_dir)


def _write_board_marker(board_dir: Path, dataset: str) -> None:
    """The board's own marker, listing its files: what a later publish may replace."""
    files = sorted(_files_in(board_dir) - {MARKER})
    (board_dir / MARKER).write_text(_marker_text(kind="board", dataset=dataset, files=files))


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an advisory lock on ``folder`` (the folder itself: no lock file to leave behind), so
    two publishes never swap boards or clear leftovers under each other."""
    if fcntl is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BoardFolderBusy(f"{folder}: another `avbench leaderboard publish` is writing there; "
                                  "wait for it to finish, then publish again") from None
        yield
    finally:
        os.close(fd)


def _clear_leftovers(out_dir: Path, say: Callable[[str], None]) -> None:
    """Clear what a killed publish left (only names of :data:`~avbench.leaderboard.render.TEMP_NAME`'s
    shape): a board it had moved away without putting the new one in comes back first."""
    for path in sorted(out_dir.iterdir()):
        match = TEMP_NAME.fullmatch(path.name)
        if match and match[1] == "old" and DATASET_NAME.fullmatch(match[2]) and path.is_dir() \
                and not path.is_symlink():
            target = out_dir / match[2]
            if not target.exists() and not target.is_symlink():
                os.rename(path, target)
                say(f"restored {target}: a publish was killed while replacing it")
    for path in sorted(out_dir.iterdir()):
        if TEMP_NAME.fullmatch(path.name):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _swap_in(new_dir: Path, board_dir: Path) -> None:
    """Put the finished ``new_dir`` at ``board_dir`` so that no moment shows a mix of both."""
    if not board_dir.exists():
        os.rename(new_dir, board_dir)
        return
    if _exchange(new_dir, board_dir):
        shutil.rmtree(new_dir)  # now the old board
        return
    # Two renames: killed between them, the board is missing until the next publish restores it.
    old_dir = board_dir.parent / temp_name("old", board_dir.name)
    os.rename(board_dir, old_dir)
    os.rename(new_dir, board_dir)
    shutil.rmtree(old_dir)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@functools.cache
def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library without it (glibc < 2.28, musl < 1.2.4)
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where
    the system or its file system cannot, for the caller to fall back on two renames."""
    call = _renameat2()
    if call is None:
        return False
    if call(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def with_secondary_cis(entries: pd.DataFrame, reader: ScoreReader,
                       say: Callable[[str], None]) -> pd.DataFrame:
    """Add ``secondary_cis`` (pooled AUC, EER, TAR CIs) where the board shows those metrics:
    entries of sections with a single evaluation (None elsewhere)."""
    entries = entries.copy()
    entries["secondary_cis"] = None
    if entries.empty:
        return entries
    evals = entries.groupby(list(SECTION_KEY))[["cell", "test_group"]].transform(
        lambda col: col.nunique())
    single = (evals["cell"] == 1) & (evals["test_group"] == 1)
    if single.any():
        say(f"  bootstrap CIs of pooled AUC, EER and TAR for {int(single.sum())} entries")
    entries.loc[single, "secondary_cis"] = pd.Series(
        {i: secondary_cis(entries.loc[i], reader) for i in entries.index[single]}, dtype=object)
    return entries


def _check_nothing_dropped(board_dir: Path, rows: pd.DataFrame, store: ResultsStore,
                           evaluated: pd.DataFrame | None = None,
                           left_out: pd.DataFrame | None = None) -> None:
    """Refuse to rewrite a board showing results (measured or evaluation-only) that ``rows`` and
    ``evaluated`` do not hold; where the database holds them but this publish leaves them out
    by their profile (``left_out``), say which option keeps them."""
    existing = board_dir / "results.json"
    if not existing.is_file():
        return
    try:
        payload = json.loads(existing.read_text())
        shown = {("measured", k) for e in payload.get("measured", []) for k in e.get("run_keys", [])}
        shown |= {("evaluated", e.get("run_key")) for e in payload.get("evaluated", [])}
        shown |= {("evaluated", e.get("run_key")) for e in payload.get("fusions", [])}  # evaluation-only too
    except (ValueError, AttributeError, TypeError) as exc:
        raise WouldDropResults(f"{existing} is not a board's results.json ({exc}); publish to "
                               "another --out or pass --replace") from None
    # By kind and run key: an evaluation-only row may share a trained run's key (see entries.py).
    held = {("measured", k) for k in rows["run_key"]} if len(rows) else set()
    held |= {("evaluated", k) for k in evaluated["run_key"]} if evaluated is not None else set()
    missing = shown - held
    skipped = left_out[left_out["run_key"].isin({k for _, k in missing})] \
        if left_out is not None and len(left_out) else None
    if missing and skipped is not None and set(skipped["run_key"]) >= {k for _, k in missing}:
        profiles = sorted(set(skipped["profile"]))
        fix = (f"pass --include-quick to publish them (labelled \"{QUICK_LABEL}\"), or --replace to drop "
               "them from that board" if profiles == [ON_REQUEST] else
               "smoke results are never published: pass --replace to drop them from that board")
        raise WouldDropResults(f"{board_dir} shows {len(missing)} result(s) that this publish leaves out "
                               f"by their profile ({', '.join(profiles)}); {fix}")
    if missing:
        raise WouldDropResults(
            f"{board_dir} shows {len(missing)} result(s) that {store.path} does not hold (it was "
            "published from another results database); publish to another --out, add those results "
            "to this database, or pass --replace to overwrite that board")


def _check_score_files(rows: pd.DataFrame, reader: ScoreReader, store: ResultsStore) -> None:
    if rows.empty:
        return
    missing = [(r.run_key, r.score_file) for r in rows.itertuples() if not reader.exists(r.score_file)]
    if missing:
        shown = "; ".join(f"{store.resolve(p)} (run key {k[:12]})" for k, p in missing[:5])
        raise MissingScoreFile(
            f"{len(missing)} of {len(rows)} stored results have no score file: {shown}. Boards are "
            f"drawn from score files: copy the store's {store.runs_dir.name}/ folder together with {store.path.name}, "
            "or re-run those cells with --force")


def draw_figures(entries: pd.DataFrame, reported: pd.DataFrame, reader: ScoreReader,
                 board_dir: Path, say: Callable[[str], None]) -> dict[str, list[Figure]]:
    """Every figure of a board, keyed by section id (see :mod:`avbench.leaderboard.board`)."""
    drawn: dict[str, list[Figure]] = {}
    if entries.empty:
        return drawn
    labels = entry_labels(entries)
    for key, group in entries.groupby(list(SECTION_KEY), sort=False):
        protocol, version, fingerprint = key
        sid = section_id_of(protocol, str(version), fingerprint)
        stem = figure_stem(sid)
        out: list[Figure] = []
        say(f"  figures for {sid}")
        headline = group[(group["cell"] == "all") & (group["test_group"] == "all")]
        if len(headline):
            path = fig.roc_det([(labels[i], reader.pooled(e)) for i, e in headline.iterrows()],
                               board_dir / "figures" / f"{stem}-roc-det.png",
                               f"{protocol}: all test pairs (seeds pooled)")
            out.append(Figure(path.relative_to(board_dir).as_posix(),
                              "ROC and DET curves over all test pairs (pairs of every seed pooled)."))
            path = fig.auc_distribution([(labels[i], reader.target_aucs(e).to_numpy())
                                         for i, e in headline.iterrows()],
                                        board_dir / "figures" / f"{stem}-target-auc.png",
                                        f"{protocol}: per-identity AUC")
            out.append(Figure(path.relative_to(board_dir).as_posix(),
                              "Per-identity (per-target) AUC: one point per test target, "
                              "averaged over seeds."))
        overall = group[group["test_group"] == "all"]
        lengths = overall.groupby(["method", "variant"], sort=False)["clip_length"].nunique()
        if (lengths > 1).any():  # a variant run at several clip lengths (not methods that differ)
            series = []
            for (method, variant), g in overall.groupby(["method", "variant"], sort=False):
                if lengths[(method, variant)] < 2:
                    continue
                series.append((labels[g.index[0]], pd.DataFrame({
                    "clip_length": g["clip_length"].astype(int), "auc": g["mean_target_auc"],
                    "ci_low": g["ci_low"], "ci_high": g["ci_high"]})))
            rep = reported[(reported["protocol"] == protocol) & (reported["test_group"] == "all")
                           & (reported["statistic"] == "mean_target_auc")]
            rep_series = [(m, pd.DataFrame({"clip_length": g["clip_length"].astype(int),
                                            "auc": g["mean_target_auc"]}))
                          for m, g in rep.groupby("method", sort=False)]
            path = fig.clip_length_curve(series, board_dir / "figures" / f"{stem}-clip-length.png",
                                         f"{protocol}: AUC against clip length", rep_series)
            out.append(Figure(path.relative_to(board_dir).as_posix(),
                              "Mean per-target AUC on all test pairs against clip length T, with "
                              "95 % CIs" + ("; reported values dashed." if rep_series else ".")))
        drawn[sid] = out
    return drawn


def figure_stem(section_id: str) -> str:
    """The file name stem of a section's figures: its id where that is a plain name (as for
    every builtin protocol), else its plain characters and a hash of the id, so a stored
    protocol name can neither put a figure outside ``figures/`` nor give two sections one file."""
    if DATASET_NAME.fullmatch(section_id) and ".." not in section_id:
        return section_id
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", section_id).strip("._-")[:60] or "section"
    return f"{plain}-{hashlib.sha256(section_id.encode()).hexdigest()[:10]}"
