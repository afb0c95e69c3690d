"""AVAPrintDB (Pedrouzo-Rodriguez et al., arXiv 2603.26934): the release layout, read as it is.

Layout (``--data avaprintdb:PATH`` with PATH the folder holding ``database/``,
``database/`` itself or ``database/data``)::

    database/data/videos/{DEV,TEST}/<target>--<driver>--<uuid>--<GEN>.mp4
    database/data/landmarks/{DEV,TEST}/<same stem>.npy      (frames x 109 x 3, optional)

``<GEN>`` is ``GAGA`` (GAGAvatar), ``LIVE`` (LivePortrait) or ``HUNY``
(HunyuanPortrait); ``ORIG`` marks a real video (``is_original``, generator
``original``; it must name one identity as both target and driver).  Identities
are ``C1001``..``C1091`` (CREMA-D) and ``Actor_01``..``Actor_24`` (RAVDESS); the
``source`` column is the target's corpus.  ``<uuid>`` names the source (driving)
clip and is stored in ``driving_video``.  The ``landmarks`` column is the
dataset's own landmark file relative to the data root (``landmarks/<SPLIT>/<stem>.npy``,
or a ``<stem>.npy`` beside the video), "" when there is none; such videos are
indexed and counted in ``notes``.  Index paths are relative to ``database/data``.

Splits: ``TEST`` is the test split.  The data release splits identities into DEV
and TEST only, so avbench carves a validation split out of DEV by identity with a
fixed, documented rule (the authors' training code picks its own validation list
in ``benchmark/code/graph_model/constants.py``; avbench does not depend on it)::

    ids  = every identity (target or driver) of a parsed DEV video
    rank = ids sorted by sha256(f"avaprintdb-val:{identity}").hexdigest()
    val  = the first ceil(0.15 * len(ids)) of rank;  train = the rest

Hashing makes the rule stable (no random seed, no dependency on file order or
platform) and identity-disjoint by construction; adding an identity moves at most
the one identity at the boundary.  A DEV cross-reenactment whose target and driver
fall in different splits is skipped (``cross_split``), as NVFAIR does.  An identity
found in both DEV and TEST is a :class:`SplitLeakageError`: the release's own
split would be broken, and every result computed from it optimistic.

File-level problems are counted skips (``IndexOptions(strict=True)`` raises
instead): names matching no rule or with an unknown ``<GEN>`` and files outside
``DEV``/``TEST`` (``unparsable_name``), identities outside the two corpora
(``unknown_identity``) and other files in the video tree (``not_a_video``; a
``.npy`` there is a landmark file, not a skip).
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

from avbench.data.index import (
    DatasetIndex,
    IndexOptions,
    SkipLog,
    SkipReason,
    SplitLeakageError,
    cached_index,
    check_no_leakage,
    content_fingerprint,
    identities_frame,
    make_videos_frame,
    options_fingerprint,
    tree_fingerprint,
    walk_files,
)
from avbench.errors import DatasetError
from avbench.hookspecs import hookimpl
from avbench.paths import default_cache_dir
from avbench.specs import DatasetSpec

PARSER_VERSION = "1"
VIDEOS_DIR = "videos"
LANDMARKS_DIR = "landmarks"
SPLIT_DIRS = {"DEV": "dev", "TEST": "test"}
GENERATORS = ("GAGA", "LIVE", "HUNY")
ORIGINAL_TAG = "ORIG"
VIDEO_SUFFIXES = {".mp4"}
LANDMARK_SUFFIX = ".npy"
VAL_FRACTION = 0.15
VAL_SALT = "avaprintdb-val:"
LAYOUT = "database/data/videos/{DEV,TEST}/<target>--<driver>--<uuid>--<GEN>.mp4"

_CREMA = re.compile(r"^C(\d{4})$")
_RAVDESS = re.compile(r"^Actor_(\d{2})$")


def identity_source(identity: str) -> str | None:
    """CREMA-D for C1001..C1091, RAVDESS for Actor_01..Actor_24, else None."""
    m = _CREMA.match(identity)
    if m and 1001 <= int(m[1]) <= 1091:
        return "CREMA-D"
    m = _RAVDESS.match(identity)
    if m and 1 <= int(m[1]) <= 24:
        return "RAVDESS"
    return None


def find_data_root(path: Path) -> Path:
    """The folder holding ``videos/``: PATH, PATH/data or PATH/database/data."""
    path = Path(path)
    hint = (f"Pass --data avaprintdb:PATH with PATH the AVAPrintDB folder (holding database/), "
            f"its database/ folder or database/data; the expected layout is {LAYOUT}.")
    if not path.is_dir():
        raise DatasetError(f"AVAPrintDB root {path} is not a folder. {hint}")
    for candidate in (path, path / "data", path / "database" / "data"):
        if (candidate / VIDEOS_DIR).is_dir():
            return candidate
    raise DatasetError(f"{path} does not look like AVAPrintDB: found no videos/ folder in it, in "
                       f"{path / 'data'} or in {path / 'database' / 'data'}. {hint}")


def assign_dev_splits(identities: set[str] | list[str]) -> dict[str, str]:
    """The documented DEV rule: the first ceil(15%) by salted sha256 are val, the rest train."""
    ranked = sorted(set(identities),
                    key=lambda i: hashlib.sha256(f"{VAL_SALT}{i}".encode()).hexdigest())
    n_val = math.ceil(VAL_FRACTION * len(ranked))
    return {i: ("val" if k < n_val else "train") for k, i in enumerate(ranked)}


def build_index(path: Path | None, options: IndexOptions = IndexOptions(),
                cache_dir: Path | None = None) -> DatasetIndex:
    if path is None:
        raise DatasetError("avaprintdb needs the dataset folder: --data avaprintdb:PATH")
    root = find_data_root(Path(path))
    videos_dir, landmarks_dir = root / VIDEOS_DIR, root / LANDMARKS_DIR
    if not any((videos_dir / d).is_dir() for d in SPLIT_DIRS):
        raise DatasetError(f"{videos_dir} has neither a DEV nor a TEST folder: expected {LAYOUT}")
    landmarks_fp = tree_fingerprint(landmarks_dir) if landmarks_dir.is_dir() else "absent"
    extra = [PARSER_VERSION, options_fingerprint(options), f"landmarks {landmarks_fp}"]
    fingerprint = tree_fingerprint(videos_dir, extra)

    def build() -> DatasetIndex:
        return _build(root, options, [PARSER_VERSION, options_fingerprint(options)])

    return cached_index("avaprintdb", root, fingerprint, options, build,
                        cache_dir or default_cache_dir())


def _build(root: Path, options: IndexOptions, extra: list[str]) -> DatasetIndex:
    log = SkipLog(strict=options.strict)
    parsed: list[dict] = []
    beside: set[str] = set()  # .npy files inside the video tree
    video_stems: set[str] = set()  # "<SPLIT>/<stem>" of every .mp4 seen, parsed or not
    for rel in walk_files(root, root / VIDEOS_DIR, log):
        suffix = Path(rel).suffix.lower()
        if suffix == LANDMARK_SUFFIX:
            beside.add(rel)
            continue
        if suffix not in VIDEO_SUFFIXES:
            log.skip(rel, SkipReason.NOT_A_VIDEO, "not an .mp4 file (nor a .npy landmark file)")
            continue
        parts = rel.split("/")
        if len(parts) == 3 and parts[1] in SPLIT_DIRS:
            video_stems.add(f"{parts[1]}/{Path(parts[2]).stem}")
        row = _parse(rel, log)
        if row is not None:
            parsed.append(row)

    landmark_files: set[str] = set()
    if (root / LANDMARKS_DIR).is_dir():
        landmark_files = {rel for rel in walk_files(root, root / LANDMARKS_DIR, log)
                          if rel.endswith(LANDMARK_SUFFIX)}

    dev_ids = {i for r in parsed if r["folder"] == "DEV" for i in (r["target"], r["driver"])}
    test_ids = {i for r in parsed if r["folder"] == "TEST" for i in (r["target"], r["driver"])}
    _check_release_split(parsed, dev_ids & test_ids)
    split_of = assign_dev_splits(dev_ids)
    split_of.update({i: "test" for i in test_ids})

    rows: list[dict] = []
    for r in parsed:
        target, driver = r["target"], r["driver"]
        if split_of[target] != split_of[driver]:
            log.skip(r["path"], SkipReason.CROSS_SPLIT,
                     f"target {target} is {split_of[target]}, driver {driver} is "
                     f"{split_of[driver]} (DEV train/val rule, see avbench.data.avaprintdb)")
            continue
        stem = Path(r["path"]).stem
        mirror = f"{LANDMARKS_DIR}/{r['folder']}/{stem}{LANDMARK_SUFFIX}"
        near = f"{VIDEOS_DIR}/{r['folder']}/{stem}{LANDMARK_SUFFIX}"
        landmarks = mirror if mirror in landmark_files else (near if near in beside else "")
        rows.append({k: v for k, v in r.items() if k != "folder"}
                    | {"split": split_of[target], "landmarks": landmarks})

    videos = make_videos_frame(rows)
    check_no_leakage(videos)  # safety net: the rules above must already guarantee it

    counts = {s: sum(1 for v in split_of.values() if v == s) for s in ("train", "val", "test")}
    no_landmarks = int((videos["landmarks"] == "").sum())
    notes = [
        f"splits: TEST from the release; DEV split by identity hash, first "
        f"ceil({VAL_FRACTION:g} * {len(dev_ids)}) = {counts['val']} val "
        f"({counts['train']} train / {counts['val']} val / {counts['test']} test identities)",
        f"{no_landmarks} of {len(videos)} videos have no landmark file",
    ]
    missing = [d for d in SPLIT_DIRS if not (root / VIDEOS_DIR / d).is_dir()]
    if missing:
        notes.append(f"videos/{' and videos/'.join(missing)} missing: that part of the release "
                     "is not indexed")
    orphans = sum(1 for f in landmark_files | beside
                  if "/".join(f.split("/")[1:])[:-len(LANDMARK_SUFFIX)] not in video_stems)
    if orphans:
        notes.append(f"{orphans} landmark files match no video file")
    present = set(videos.loc[~videos["is_original"], "generator"])
    return DatasetIndex(
        dataset="avaprintdb", root=root, videos=videos, skipped=log.frame(),
        identities=identities_frame(split_of, lambda i: identity_source(i) or ""),
        generators=tuple(g for g in GENERATORS if g in present),
        fingerprint=content_fingerprint(root, videos, extra), notes=notes,
    )


def _check_release_split(parsed: list[dict], both: set[str]) -> None:
    """An identity in DEV and TEST: the release's split itself is broken."""
    if not both:
        return
    shown = []
    for ident in sorted(both)[:10]:
        files = {}
        for r in parsed:
            if ident in (r["target"], r["driver"]):
                files.setdefault(r["folder"], r["path"])
        shown.append(f"{ident} (e.g. {files['DEV']} and {files['TEST']})")
    raise SplitLeakageError(
        f"AVAPrintDB's DEV/TEST split is broken: {len(both)} identities appear in both "
        f"videos/DEV and videos/TEST: {'; '.join(shown)}. The release is identity-disjoint; "
        "remove the misfiled videos (or restore the release) so every identity is in one folder."
    )


def _parse(rel: str, log: SkipLog) -> dict | None:
    parts = rel.split("/")
    if len(parts) != 3 or parts[1] not in SPLIT_DIRS:
        log.skip(rel, SkipReason.UNPARSABLE_NAME,
                 "outside videos/DEV and videos/TEST: expected videos/{DEV,TEST}/<file>.mp4")
        return None
    folder, stem = parts[1], Path(parts[2]).stem
    fields = stem.split("--")
    if len(fields) != 4 or not all(fields):
        log.skip(rel, SkipReason.UNPARSABLE_NAME,
                 f"expected <target>--<driver>--<uuid>--<GEN>.mp4 (4 non-empty '--'-separated "
                 f"fields), found {len(fields)} field(s)")
        return None
    target, driver, uuid, gen = fields
    if gen != ORIGINAL_TAG and gen not in GENERATORS:
        log.skip(rel, SkipReason.UNPARSABLE_NAME,
                 f"unknown generator {gen!r} (expected one of {', '.join(GENERATORS)} or "
                 f"{ORIGINAL_TAG})")
        return None
    unknown = [i for i in dict.fromkeys((target, driver)) if identity_source(i) is None]
    if unknown:
        log.skip(rel, SkipReason.UNKNOWN_IDENTITY,
                 f"{', '.join(unknown)}: neither a CREMA-D id (C1001..C1091) nor a RAVDESS id "
                 "(Actor_01..Actor_24)")
        return None
    is_original = gen == ORIGINAL_TAG
    if is_original and target != driver:
        log.skip(rel, SkipReason.UNPARSABLE_NAME,
                 f"a real ({ORIGINAL_TAG}) video must name one identity as target and driver, "
                 f"found {target} and {driver}")
        return None
    kind = "original" if is_original else ("self" if target == driver else "cross")
    return {"path": rel, "source": identity_source(target),
            "generator": "original" if is_original else gen, "target": target,
            "driver": driver, "driving_video": uuid, "kind": kind,
            "is_original": is_original, "folder": folder}


@hookimpl
def avbench_register_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(
        name="avaprintdb",
        summary="AVAPrintDB (Pedrouzo-Rodriguez et al., 2026): CREMA-D and RAVDESS "
                "identities, 3 generators",
        factory="avbench.data.avaprintdb:build_index",
        layout=LAYOUT,
        generators=GENERATORS,
        citation="Pedrouzo-Rodriguez, Gomez, Tolosana, Vera-Rodriguez, Daza, Morales, Fierrez. "
                 "Leveraging avatar fingerprinting: a multi-generator photorealistic talking-head "
                 "public database and benchmark. arXiv:2603.26934, 2026.",
    )]
