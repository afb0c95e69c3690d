"""NVFAIR (Prashnani et al., ECCV 2024): the release layout, read as it is.

Layout::

    NVFAIR-v2-release/<source>/<generator>-generated/<target>/<target>--<driving video>--<driver>.mp4
    NVFAIR-v2-release/<source>/originals/<identity>/<video>.mp4

``<source>`` is NVIDIA-VC-subset, RAVDESS or CREMA-D; the generators are
facevid2vid, lia and tps.  A two-part name ``<target>--<driving video>.mp4`` also
occurs; its driver is read from the driving video's name (CREMA-D ``1019_IEO_...``
→ ``1019``, RAVDESS ``..-..-..-..-..-..-12`` → ``Actor_12``, or a name starting
with a known identity).

Splits are by identity, from ``train_val_test_splits.txt`` and
``subject_sources.txt``: those found in the dataset root win, otherwise the copies
shipped with avbench are used (their source is cited in
``avbench/data/resources/README.md``).  A cross-reenactment is kept only when its
target and driver share a split (NVFAIR's rule); the others are counted as skipped
(``cross_split``).  Originals (real videos) are indexed with ``is_original`` set
and are excluded from training and evaluation by default.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from avbench.data.index import (
    DatasetIndex,
    IndexOptions,
    SkipLog,
    SkipReason,
    cached_index,
    check_no_leakage,
    content_fingerprint,
    file_problem,
    identities_frame,
    make_videos_frame,
    options_fingerprint,
    tree_fingerprint,
    walk_files,
)
from avbench.data.splits import read_nvfair_sources, read_nvfair_splits
from avbench.errors import DatasetError
from avbench.hookspecs import hookimpl
from avbench.paths import default_cache_dir
from avbench.specs import DatasetSpec

PARSER_VERSION = "1"
RELEASE_DIR = "NVFAIR-v2-release"
SPLITS_FILE = "train_val_test_splits.txt"
SOURCES_FILE = "subject_sources.txt"
GENERATOR_DIRS = {"facevid2vid-generated": "facevid2vid", "tps-generated": "tps",
                  "lia-generated": "lia", "originals": "original"}
GENERATORS = ("facevid2vid", "tps", "lia")
VIDEO_SUFFIXES = {".mp4"}
LANDMARK_SUFFIX = ".npy"  # per-frame landmarks beside a video (e.g. the synthetic ground truth)

_RAVDESS_CLIP = re.compile(r"^\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-(\d{2})$")


def find_release_root(path: Path) -> Path:
    """The folder holding the source folders: PATH itself or PATH/NVFAIR-v2-release."""
    if not path.is_dir():
        raise DatasetError(f"NVFAIR root {path} is not a folder. Pass --data nvfair:PATH with "
                           f"PATH the {RELEASE_DIR} folder (or the folder containing it).")
    if (path / RELEASE_DIR).is_dir():
        return path / RELEASE_DIR
    return path


def split_files(root: Path, given: Path | None = None) -> tuple[Path, Path, bool]:
    """Split and source files: the dataset's own if present (in the release folder or
    the folder given on the command line), else avbench's copies."""
    for folder in dict.fromkeys([root, given or root]):
        own = (folder / SPLITS_FILE, folder / SOURCES_FILE)
        if own[0].exists() or own[1].exists():
            break
    if own[0].exists() or own[1].exists():
        for f in own:
            if not f.exists():
                raise DatasetError(f"{f} is missing: a dataset that ships {SPLITS_FILE} must also "
                                   f"ship {SOURCES_FILE} (or remove both to use avbench's NVFAIR copies)")
        return own[0], own[1], True
    shipped = resources.files("avbench.data") / "resources"
    return (Path(str(shipped / "nvfair_train_val_test_splits.txt")),
            Path(str(shipped / "nvfair_subject_sources.txt")), False)


def driver_from_driving_video(name: str, known: set[str]) -> str | None:
    """Recover the driver of a two-part file name from its driving video's name."""
    m = _RAVDESS_CLIP.match(name)
    if m:
        return f"Actor_{m[1]}"
    for sep in ("_", "-"):
        head = name.split(sep, 1)[0]
        if head in known:
            return head
    return name if name in known else None


def build_index(path: Path | None, options: IndexOptions = IndexOptions(),
                cache_dir: Path | None = None, name: str = "nvfair") -> DatasetIndex:
    """Index an NVFAIR-layout tree; ``name`` labels the index (``synthetic`` for avbench's own)."""
    if path is None:
        raise DatasetError("nvfair needs the dataset folder: --data nvfair:PATH")
    root = find_release_root(Path(path))
    splits_path, sources_path, own = split_files(root, Path(path))
    split_of = read_nvfair_splits(splits_path)
    source_of = read_nvfair_sources(sources_path)
    extra = [PARSER_VERSION, splits_path.read_bytes().hex(), sources_path.read_bytes().hex(),
             options_fingerprint(options)]
    fingerprint = tree_fingerprint(root, extra)

    def build() -> DatasetIndex:
        return _build(root, options, split_of, source_of, extra, own, name)

    return cached_index(name, root, fingerprint, options, build,
                        cache_dir or default_cache_dir())


def _build(root: Path, options: IndexOptions, split_of: dict[str, str],
           source_of: dict[str, str], extra: list[str], own_splits: bool,
           name: str = "nvfair") -> DatasetIndex:
    log = SkipLog(strict=options.strict)
    known = set(split_of)
    rows: list[dict] = []
    sources = sorted(p.name for p in root.iterdir() if p.is_dir())
    for link in sorted(p for p in root.iterdir() if p.is_symlink() and not p.exists()):
        log.skip(link.name, *file_problem(link))  # a source folder linked from a disk that is gone
    if not sources:
        raise DatasetError(f"{root} has no source folders (expected NVIDIA-VC-subset, RAVDESS, "
                           "CREMA-D): is this an NVFAIR release?")
    for source in sources:
        files = list(walk_files(root, root / source, log))
        landmark_files = {f for f in files if f.endswith(LANDMARK_SUFFIX)}
        used: set[str] = set()
        for rel in files:
            if rel in landmark_files:
                continue
            row = _parse(rel, source, known, split_of, log)
            if row is not None:
                lm = rel[: -len(Path(rel).suffix)] + LANDMARK_SUFFIX
                if lm in landmark_files:
                    row["landmarks"] = lm
                    used.add(lm)
                rows.append(row)
        for lm in sorted(landmark_files - used):
            log.skip(lm, SkipReason.NOT_A_VIDEO, "landmark file without an indexed video of the same name")
    videos = make_videos_frame(rows)
    check_no_leakage(videos)
    counts = {s: sum(1 for v in split_of.values() if v == s) for s in ("train", "val", "test")}
    notes = [
        f"split lists: {'from the dataset root' if own_splits else 'avbench copy of NVFAIR'} "
        f"({counts['train']} train / {counts['val']} val / {counts['test']} test identities)"
    ]
    return DatasetIndex(
        dataset=name, root=root, videos=videos, skipped=log.frame(),
        identities=identities_frame(split_of, lambda i: source_of.get(i, "")),
        generators=tuple(g for g in GENERATORS if g in set(videos["generator"])),
        fingerprint=content_fingerprint(root, videos, extra), notes=notes,
    )


def _parse(rel: str, source: str, known: set[str], split_of: dict[str, str],
           log: SkipLog) -> dict | None:
    parts = rel.split("/")
    name = parts[-1]
    if Path(name).suffix.lower() not in VIDEO_SUFFIXES:
        log.skip(rel, SkipReason.NOT_A_VIDEO, "not an .mp4 file")
        return None
    if len(parts) != 4 or parts[1] not in GENERATOR_DIRS:
        log.skip(rel, SkipReason.UNPARSABLE_NAME,
                 "expected <source>/<generator>-generated|originals/<target>/<file>.mp4")
        return None
    generator, folder = GENERATOR_DIRS[parts[1]], parts[2]
    stem = Path(name).stem
    if generator == "original":
        target = driver = folder
        driving_video = stem
    else:
        fields = stem.split("--")
        if len(fields) == 3 and all(fields):
            target, driving_video, driver = fields
        elif len(fields) == 2 and all(fields):
            target, driving_video = fields
            found = driver_from_driving_video(driving_video, known)
            if found is None:
                log.skip(rel, SkipReason.UNPARSABLE_NAME,
                         f"cannot tell the driver of driving video {driving_video!r}")
                return None
            driver = found
        else:
            log.skip(rel, SkipReason.UNPARSABLE_NAME,
                     "expected <target>--<driving video>--<driver>.mp4")
            return None
        if target != folder:
            log.skip(rel, SkipReason.FOLDER_MISMATCH, f"target {target!r} filed under {folder!r}")
            return None
    unknown = [i for i in dict.fromkeys((target, driver)) if i not in known]
    if unknown:
        log.skip(rel, SkipReason.UNKNOWN_IDENTITY,
                 f"{', '.join(unknown)} not in the split lists")
        return None
    if split_of[target] != split_of[driver]:
        log.skip(rel, SkipReason.CROSS_SPLIT,
                 f"target {target} is {split_of[target]}, driver {driver} is {split_of[driver]}")
        return None
    kind = "original" if generator == "original" else ("self" if target == driver else "cross")
    return {"path": rel, "source": source, "generator": generator, "target": target,
            "driver": driver, "driving_video": driving_video, "kind": kind,
            "split": split_of[target], "is_original": generator == "original", "landmarks": ""}


@hookimpl
def avbench_register_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(
        name="nvfair",
        summary="NVFAIR release (Prashnani et al., ECCV 2024): 161 identities, 3 generators",
        factory="avbench.data.nvfair:build_index",
        layout=f"{RELEASE_DIR}/<source>/<gen>-generated/<target>/<target>--<clip>--<driver>.mp4",
        generators=GENERATORS,
        citation="Prashnani, Nagano, De Mello, Luebke, Gallo. Avatar fingerprinting for "
                 "authorized use of synthetic talking-head videos. ECCV 2024.",
    )]
