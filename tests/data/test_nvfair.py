"""NVFAIR layout indexer (avbench/data/nvfair.py) on a small hand-made release tree."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

import avbench.data.nvfair as nvfair
from avbench.data.index import COLUMNS, IndexOptions, SplitLeakageError, check_no_leakage
from avbench.errors import DatasetError

SPLITS_TEXT = """identities in train set:
id001
Actor_01
1001

identities in validation set:
id002

identities in test set:
Actor_03
1002
"""

SOURCES_TEXT = """The following subjects are a part of the NVIDIA-VC-subset:
id001
id002
The following subjects are a part of the RAVDESS dataset:
Actor_01
Actor_03
The following subjects are a part of the CREMA-D dataset:
1001
1002'
"""

# file -> expected (generator, kind, split); all 15 indexed videos
VIDEOS = {
    "NVIDIA-VC-subset/facevid2vid-generated/id001/id001--id001_clip01--id001.mp4": ("facevid2vid", "self", "train"),
    "NVIDIA-VC-subset/facevid2vid-generated/id001/id001--1001_IEO_FEA_LO--1001.mp4": ("facevid2vid", "cross", "train"),
    "NVIDIA-VC-subset/facevid2vid-generated/id002/id002--id002_clip01--id002.mp4": ("facevid2vid", "self", "val"),
    "NVIDIA-VC-subset/lia-generated/id001/id001--1001_IEO_FEA_LO.mp4": ("lia", "cross", "train"),
    "NVIDIA-VC-subset/originals/id001/id001_clip01.mp4": ("original", "original", "train"),
    "NVIDIA-VC-subset/originals/id002/id002_clip01.mp4": ("original", "original", "val"),
    "RAVDESS/tps-generated/Actor_01/Actor_01--01-01-01-01-01-01-01--Actor_01.mp4": ("tps", "self", "train"),
    "RAVDESS/tps-generated/Actor_01/Actor_01--1001_NEU_XX--1001.mp4": ("tps", "cross", "train"),
    "RAVDESS/lia-generated/Actor_03/Actor_03--01-01-01-01-01-01-03--Actor_03.mp4": ("lia", "self", "test"),
    "RAVDESS/facevid2vid-generated/Actor_03/Actor_03--1002_DFA_ANG_XX--1002.mp4": ("facevid2vid", "cross", "test"),
    "RAVDESS/originals/Actor_03/01-01-01-01-01-01-03.mp4": ("original", "original", "test"),
    "CREMA-D/tps-generated/1002/1002--01-01-01-01-01-01-03.mp4": ("tps", "cross", "test"),
    "CREMA-D/lia-generated/1001/1001--1001_IEO_FEA_LO--1001.mp4": ("lia", "self", "train"),
    "CREMA-D/facevid2vid-generated/1002/1002--1002_IEO_FEA_LO--1002.mp4": ("facevid2vid", "self", "test"),
    "CREMA-D/originals/1001/1001_IEO_FEA_LO.mp4": ("original", "original", "train"),
}

# file -> expected skip reason; all 9 skipped files
SKIPS = {
    "NVIDIA-VC-subset/facevid2vid-generated/id001/id001--01-01-01-01-01-01-03--Actor_03.mp4": "cross_split",
    "CREMA-D/lia-generated/1002/1002--1001_IEO_FEA_LO--1001.mp4": "cross_split",
    "NVIDIA-VC-subset/tps-generated/id001/id002--id002_clip01--id002.mp4": "folder_mismatch",
    "NVIDIA-VC-subset/originals/id001/notes.txt": "not_a_video",
    "RAVDESS/lia-generated/Actor_99/Actor_99--x--Actor_99.mp4": "unknown_identity",
    "RAVDESS/lia-generated/Actor_01/Actor_01.mp4": "unparsable_name",
    "CREMA-D/tps-generated/1001/1001--zzz_unknownclip.mp4": "unparsable_name",
    "CREMA-D/tps-generated/stray.mp4": "unparsable_name",
    "CREMA-D/sadtalker-generated/1001/1001--a--1001.mp4": "unparsable_name",
}

# walk order: sources sorted, then folders sorted: CREMA-D/facevid2vid-generated/1002 is clean,
# CREMA-D/lia-generated/1001 is clean, CREMA-D/lia-generated/1002 holds the first bad file.
FIRST_BAD = "CREMA-D/lia-generated/1002/1002--1001_IEO_FEA_LO--1001.mp4"


def make_tree(root: Path, files=None, splits: str | None = SPLITS_TEXT,
              sources: str | None = SOURCES_TEXT) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel in files if files is not None else [*VIDEOS, *SKIPS]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")  # a placeholder: a zero-byte file is skipped as such
    if splits is not None:
        (root / nvfair.SPLITS_FILE).write_text(splits)
    if sources is not None:
        (root / nvfair.SOURCES_FILE).write_text(sources)
    return root


@pytest.fixture
def tree(tmp_path) -> Path:
    return make_tree(tmp_path / "data")


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def count_builds(monkeypatch):
    calls = []
    real = nvfair._build

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(nvfair, "_build", counting)
    return calls


def build(root, cache, **opts):
    return nvfair.build_index(root, IndexOptions(**opts), cache_dir=cache)


# --- contents --------------------------------------------------------------------------

def test_indexed_files_exactly(tree, cache):
    idx = build(tree, cache)
    assert list(idx.videos.columns) == list(COLUMNS)
    assert list(idx.videos["path"]) == sorted(VIDEOS)
    got = {r.path: (r.generator, r.kind, r.split) for r in idx.videos.itertuples()}
    assert got == VIDEOS


def test_counts_per_split_generator_kind(tree, cache):
    v = build(tree, cache).videos
    assert len(v) == 15
    assert v["split"].value_counts().to_dict() == {"train": 8, "val": 2, "test": 5}
    assert v["generator"].value_counts().to_dict() == {"facevid2vid": 5, "tps": 3, "lia": 3, "original": 4}
    assert v["kind"].value_counts().to_dict() == {"self": 6, "cross": 5, "original": 4}
    assert int(v["is_original"].sum()) == 4
    assert (v["is_original"] == (v["kind"] == "original")).all()
    assert v["source"].value_counts().to_dict() == {"NVIDIA-VC-subset": 6, "RAVDESS": 5, "CREMA-D": 4}
    # every generator folder has both a self and a cross reenactment
    synth = v[~v["is_original"]]
    assert synth.groupby("generator")["kind"].agg(lambda s: sorted(set(s))).to_dict() == {
        "facevid2vid": ["cross", "self"], "lia": ["cross", "self"], "tps": ["cross", "self"]}


def test_skipped_exactly(tree, cache):
    idx = build(tree, cache)
    assert idx.skip_counts() == {"cross_split": 2, "folder_mismatch": 1, "not_a_video": 1,
                                 "unknown_identity": 1, "unparsable_name": 4}
    assert dict(zip(idx.skipped["path"], idx.skipped["reason"], strict=True)) == SKIPS
    detail = dict(zip(idx.skipped["path"], idx.skipped["detail"], strict=True))
    assert detail[FIRST_BAD] == "target 1002 is test, driver 1001 is train"
    assert detail["NVIDIA-VC-subset/facevid2vid-generated/id001/id001--01-01-01-01-01-01-03--Actor_03.mp4"] \
        == "target id001 is train, driver Actor_03 is test"
    assert detail["RAVDESS/lia-generated/Actor_99/Actor_99--x--Actor_99.mp4"] == "Actor_99 not in the split lists"
    assert detail["NVIDIA-VC-subset/tps-generated/id001/id002--id002_clip01--id002.mp4"] \
        == "target 'id002' filed under 'id001'"
    assert "zzz_unknownclip" in detail["CREMA-D/tps-generated/1001/1001--zzz_unknownclip.mp4"]
    # skipped files never show up as videos
    assert set(idx.videos["path"]).isdisjoint(SKIPS)


def test_exact_row_two_part_crema_d_driver(tree, cache):
    v = build(tree, cache).videos.set_index("path")
    row = v.loc["NVIDIA-VC-subset/lia-generated/id001/id001--1001_IEO_FEA_LO.mp4"].to_dict()
    assert row == {"source": "NVIDIA-VC-subset", "generator": "lia", "target": "id001", "driver": "1001",
                   "driving_video": "1001_IEO_FEA_LO", "kind": "cross", "split": "train",
                   "is_original": False, "landmarks": ""}


def test_exact_row_two_part_ravdess_driver(tree, cache):
    v = build(tree, cache).videos.set_index("path")
    row = v.loc["CREMA-D/tps-generated/1002/1002--01-01-01-01-01-01-03.mp4"].to_dict()
    assert row == {"source": "CREMA-D", "generator": "tps", "target": "1002", "driver": "Actor_03",
                   "driving_video": "01-01-01-01-01-01-03", "kind": "cross", "split": "test",
                   "is_original": False, "landmarks": ""}


def test_exact_rows_three_part_and_original(tree, cache):
    v = build(tree, cache).videos.set_index("path")
    assert v.loc["RAVDESS/facevid2vid-generated/Actor_03/Actor_03--1002_DFA_ANG_XX--1002.mp4"].to_dict() == {
        "source": "RAVDESS", "generator": "facevid2vid", "target": "Actor_03", "driver": "1002",
        "driving_video": "1002_DFA_ANG_XX", "kind": "cross", "split": "test",
        "is_original": False, "landmarks": ""}
    orig = v.loc["RAVDESS/originals/Actor_03/01-01-01-01-01-01-03.mp4"].to_dict()
    assert orig["generator"] == "original" and orig["kind"] == "original" and orig["is_original"] is True
    assert (orig["target"], orig["driver"], orig["split"]) == ("Actor_03", "Actor_03", "test")


def test_select(tree, cache):
    idx = build(tree, cache)
    test = idx.select("test")
    assert sorted(test["path"]) == sorted(p for p, (g, k, s) in VIDEOS.items() if s == "test" and k != "original")
    assert len(test) == 4
    assert not test["is_original"].any()
    with_orig = idx.select("test", include_originals=True)
    assert len(with_orig) == 5
    assert int(with_orig["is_original"].sum()) == 1
    assert len(idx.select("train")) == 6
    assert len(idx.select("train", include_originals=True)) == 8
    assert len(idx.select("val")) == 1
    assert sorted(idx.select("train", generators=["lia"])["path"]) == [
        "CREMA-D/lia-generated/1001/1001--1001_IEO_FEA_LO--1001.mp4",
        "NVIDIA-VC-subset/lia-generated/id001/id001--1001_IEO_FEA_LO.mp4"]


def test_generators_identities_notes(tree, cache):
    idx = build(tree, cache)
    assert idx.dataset == "nvfair"
    assert idx.generators == ("facevid2vid", "tps", "lia")
    assert idx.identities.to_dict("records") == [
        {"identity": "1001", "split": "train", "source": "CREMA-D"},
        {"identity": "1002", "split": "test", "source": "CREMA-D"},
        {"identity": "Actor_01", "split": "train", "source": "RAVDESS"},
        {"identity": "Actor_03", "split": "test", "source": "RAVDESS"},
        {"identity": "id001", "split": "train", "source": "NVIDIA-VC-subset"},
        {"identity": "id002", "split": "val", "source": "NVIDIA-VC-subset"},
    ]
    assert idx.notes == ["split lists: from the dataset root (3 train / 1 val / 2 test identities)"]


def test_generators_only_those_present(tmp_path, cache):
    root = make_tree(tmp_path / "d", files=[
        "RAVDESS/lia-generated/Actor_01/Actor_01--01-01-01-01-01-01-01--Actor_01.mp4",
        "RAVDESS/originals/Actor_01/01-01-01-01-01-01-01.mp4"])
    assert build(root, cache).generators == ("lia",)


# --- roots -----------------------------------------------------------------------------

def test_release_wrapper_folder_accepted(tmp_path, cache):
    outer = tmp_path / "download"
    release = make_tree(outer / nvfair.RELEASE_DIR)
    idx = build(outer, cache)
    assert idx.root == release
    assert len(idx.videos) == 15
    assert idx.skip_counts()["unparsable_name"] == 4
    # the same index whether PATH is the wrapper's parent or the release folder itself
    direct = build(release, cache)
    pd.testing.assert_frame_equal(direct.videos, idx.videos)


def test_path_that_is_a_file_is_an_error_naming_it(tmp_path, cache):
    f = tmp_path / "NVFAIR.zip"
    f.write_bytes(b"PK")
    with pytest.raises(DatasetError) as ei:
        build(f, cache)
    assert str(f) in str(ei.value)
    assert "is not a folder" in str(ei.value)


def test_missing_path_is_an_error_naming_it(tmp_path, cache):
    p = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match=re.escape(str(p))):
        build(p, cache)


def test_root_without_source_folders_is_an_error(tmp_path, cache):
    root = make_tree(tmp_path / "empty", files=[])
    with pytest.raises(DatasetError, match="no source folders"):
        build(root, cache)


# --- split files -----------------------------------------------------------------------

def test_shipped_split_lists_used_when_root_has_none(tmp_path, cache):
    # real NVFAIR ids: id027 train, id029 val, id001 / Actor_23 / 1001 test
    root = make_tree(tmp_path / "d", splits=None, sources=None, files=[
        "NVIDIA-VC-subset/facevid2vid-generated/id027/id027--id027_c1--id027.mp4",
        "NVIDIA-VC-subset/tps-generated/id029/id029--id029_c1--id029.mp4",
        "NVIDIA-VC-subset/lia-generated/id001/id001--1001_IEO_FEA_LO--1001.mp4",
        "NVIDIA-VC-subset/lia-generated/id001/id001--id027_c1--id027.mp4",
        "RAVDESS/lia-generated/Actor_23/Actor_23--01-01-01-01-01-01-23--Actor_23.mp4",
    ])
    idx = build(root, cache)
    assert idx.notes == ["split lists: avbench copy of NVFAIR (111 train / 15 val / 35 test identities)"]
    assert dict(zip(idx.videos["target"], idx.videos["split"])) == {
        "id027": "train", "id029": "val", "id001": "test", "Actor_23": "test"}
    assert len(idx.videos) == 4
    assert idx.skip_counts() == {"cross_split": 1}
    assert len(idx.identities) == 161
    assert idx.identities.set_index("identity").loc["1085", "source"] == "CREMA-D"


@pytest.mark.parametrize("present,missing", [
    (nvfair.SPLITS_FILE, nvfair.SOURCES_FILE), (nvfair.SOURCES_FILE, nvfair.SPLITS_FILE)])
def test_only_one_split_file_is_an_error_naming_the_missing_one(tmp_path, cache, present, missing):
    root = make_tree(tmp_path / "d", splits=SPLITS_TEXT if present == nvfair.SPLITS_FILE else None,
                     sources=SOURCES_TEXT if present == nvfair.SOURCES_FILE else None)
    with pytest.raises(DatasetError) as ei:
        build(root, cache)
    assert f"{root / missing} is missing" in str(ei.value)


def test_malformed_split_file_in_root_is_an_error_naming_it(tmp_path, cache):
    root = make_tree(tmp_path / "d", splits=SPLITS_TEXT + "identities in test set:\nid003\n")
    with pytest.raises(DatasetError, match=re.escape(f"{root / nvfair.SPLITS_FILE}:")):
        build(root, cache)


def test_identity_in_two_splits_in_root_is_an_error(tmp_path, cache):
    root = make_tree(tmp_path / "d", splits=SPLITS_TEXT + "1001\n")
    with pytest.raises(DatasetError) as ei:
        build(root, cache)
    assert "1001 (train and test)" in str(ei.value)


# --- leakage ---------------------------------------------------------------------------

def _frame(rows):
    return pd.DataFrame(rows, columns=["target", "driver", "split"])


def test_check_no_leakage_target_train_driver_test():
    videos = _frame([("id001", "id001", "train"), ("1002", "id001", "test"), ("1002", "1002", "test")])
    with pytest.raises(SplitLeakageError) as ei:
        check_no_leakage(videos)
    msg = str(ei.value)
    assert "1 identities" in msg
    assert "id001: test, train" in msg
    assert "1002:" not in msg
    assert isinstance(ei.value, DatasetError)


def test_check_no_leakage_clean_frame_passes(tree, cache):
    check_no_leakage(_frame([("a", "b", "train"), ("b", "a", "train"), ("c", "c", "test")]))
    check_no_leakage(_frame([]))
    check_no_leakage(build(tree, cache).videos)


# --- caching ---------------------------------------------------------------------------

def test_second_build_returns_cached_index(tree, cache, monkeypatch):
    first = build(tree, cache)

    def boom(*a, **k):
        raise AssertionError("rebuilt although the tree did not change")

    monkeypatch.setattr(nvfair, "_build", boom)
    second = build(tree, cache)
    pd.testing.assert_frame_equal(second.videos, first.videos)
    pd.testing.assert_frame_equal(second.skipped, first.skipped)
    pd.testing.assert_frame_equal(second.identities, first.identities)
    assert second.generators == first.generators
    assert second.notes == first.notes
    assert second.fingerprint == first.fingerprint
    assert second.root == first.root
    assert second.skip_counts() == first.skip_counts()
    assert len(second.select("test")) == 4


def _keep_dir_mtimes(paths):
    """Restore folder mtimes after a change, so only names (not mtimes) can reveal it."""
    saved = {p: os.stat(p).st_mtime_ns for p in paths}

    def restore():
        for p, m in saved.items():
            os.utime(p, ns=(m, m))
    return restore


@pytest.mark.parametrize("change", ["add", "remove", "rename"])
def test_tree_change_invalidates_cache(tree, cache, count_builds, change):
    base = build(tree, cache)
    assert len(count_builds) == 1
    folder = tree / "RAVDESS/tps-generated/Actor_01"
    restore = _keep_dir_mtimes([folder])
    if change == "add":
        (folder / "Actor_01--01-01-01-01-01-01-05--Actor_01.mp4").write_bytes(b"x")
    elif change == "remove":
        (folder / "Actor_01--1001_NEU_XX--1001.mp4").unlink()
    else:
        (folder / "Actor_01--1001_NEU_XX--1001.mp4").rename(folder / "Actor_01--1001_NEU_YY--1001.mp4")
    restore()
    again = build(tree, cache)
    assert len(count_builds) == 2
    assert again.fingerprint != base.fingerprint
    paths = set(again.videos["path"])
    expected = {"add": 16, "remove": 14, "rename": 15}[change]
    assert len(paths) == expected
    if change == "rename":
        assert "RAVDESS/tps-generated/Actor_01/Actor_01--1001_NEU_YY--1001.mp4" in paths
    # and the new state is cached in turn
    build(tree, cache)
    assert len(count_builds) == 2


def test_editing_split_file_invalidates_cache(tree, cache, count_builds):
    build(tree, cache)
    restore = _keep_dir_mtimes([tree])
    # move id002 from val to train (file names and folder mtimes stay the same)
    (tree / nvfair.SPLITS_FILE).write_text(SPLITS_TEXT.replace("id001\n", "id001\nid002\n", 1)
                                           .replace("validation set:\nid002\n", "validation set:\n"))
    restore()
    idx = build(tree, cache)
    assert len(count_builds) == 2
    assert idx.videos.set_index("path")["split"].to_dict()[
        "NVIDIA-VC-subset/facevid2vid-generated/id002/id002--id002_clip01--id002.mp4"] == "train"
    assert idx.notes == ["split lists: from the dataset root (4 train / 0 val / 2 test identities)"]


def test_editing_sources_file_invalidates_cache(tree, cache, count_builds):
    build(tree, cache)
    restore = _keep_dir_mtimes([tree])
    (tree / nvfair.SOURCES_FILE).write_text(SOURCES_TEXT.replace("1002'", "1002"))
    restore()
    build(tree, cache)
    assert len(count_builds) == 2


def test_refresh_rebuilds(tree, cache, count_builds):
    first = build(tree, cache)
    build(tree, cache)
    assert len(count_builds) == 1
    again = build(tree, cache, refresh=True)
    assert len(count_builds) == 2
    pd.testing.assert_frame_equal(again.videos, first.videos)
    build(tree, cache)  # the refreshed copy is cached for the next plain call
    assert len(count_builds) == 2


def test_unreadable_cache_is_rebuilt(tree, cache, count_builds):
    build(tree, cache)
    (folder,) = (cache / "index").iterdir()
    (folder / "videos.parquet").write_bytes(b"garbage")
    idx = build(tree, cache)
    assert len(count_builds) == 2
    assert len(idx.videos) == 15


# --- strict mode -----------------------------------------------------------------------

def test_strict_raises_on_first_bad_file(tree, cache):
    with pytest.raises(DatasetError) as ei:
        build(tree, cache, strict=True)
    msg = str(ei.value)
    assert msg.startswith(f"{FIRST_BAD}: cross_split: target 1002 is test, driver 1001 is train")
    assert "strict" in msg


def test_strict_raises_even_when_lenient_index_was_cached(tree, cache):
    lenient = build(tree, cache)
    assert len(lenient.skipped) == 9
    with pytest.raises(DatasetError, match=re.escape(FIRST_BAD)):
        build(tree, cache, strict=True)
    # and the lenient index is still served afterwards
    assert len(build(tree, cache).videos) == 15


def test_strict_on_clean_tree_succeeds(tmp_path, cache):
    root = make_tree(tmp_path / "clean", files=list(VIDEOS))
    idx = build(root, cache, strict=True)
    assert len(idx.videos) == 15
    assert len(idx.skipped) == 0
    assert idx.skip_counts() == {}
    again = build(root, cache, strict=True)  # from the cache, still no error
    assert len(again.videos) == 15


# --- trees with no usable video, symlinked folders ----------------------------------------

def test_tree_without_any_video(tmp_path, cache):
    root = make_tree(tmp_path / "d", files=["RAVDESS/originals/Actor_01/readme.txt"])
    idx = build(root, cache)
    assert len(idx.videos) == 0
    assert list(idx.videos.columns) == list(COLUMNS)
    assert idx.skip_counts() == {"not_a_video": 1}
    again = build(root, cache)  # the empty index survives the cache round trip
    assert len(again.videos) == 0 and again.skip_counts() == {"not_a_video": 1}


def test_symlinked_generator_folder_is_not_dropped_silently(tmp_path, cache):
    # Clusters often assemble a release from several disks with symlinked folders. os.walk does
    # not descend into symlinked folders by default, so their videos must either be indexed or
    # be counted in `skipped`: "nothing is dropped silently" (avbench/data/index.py).
    root = make_tree(tmp_path / "d", files=list(VIDEOS))
    elsewhere = tmp_path / "other-disk" / "tps-generated"
    elsewhere.parent.mkdir(parents=True)
    (root / "RAVDESS" / "tps-generated").rename(elsewhere)
    (root / "RAVDESS" / "tps-generated").symlink_to(elsewhere, target_is_directory=True)
    idx = build(root, cache)
    accounted = set(idx.videos["path"]) | {p.rstrip("/") for p in idx.skipped["path"]}
    missing = [p for p in VIDEOS if p not in accounted
               and not any(p.startswith(s + "/") for s in accounted)]
    assert missing == []


def test_symlink_loop_is_not_walked_over_and_over(tmp_path, cache):
    # With symlinked folders followed, a link back up the tree must not be descended into
    # again and again (os.walk(followlinks=True) has no loop guard and stops only at ELOOP,
    # ~40 levels down; a link to the release root would re-walk all 650k files 40 times).
    root = make_tree(tmp_path / "d", files=list(VIDEOS))
    (root / "RAVDESS/tps-generated/Actor_01/again").symlink_to("..", target_is_directory=True)
    idx = build(root, cache)
    assert len(idx.videos) == 15
    nested = [p for p in idx.skipped["path"] if "again/Actor_01/again" in p]
    assert nested == [], f"{len(nested)} skipped rows from walking the loop repeatedly"
    assert len(idx.skipped) <= 3


def test_unreadable_folder_is_a_counted_skip_not_a_silent_gap(tree, cache, monkeypatch):
    # As root (CI) chmod cannot deny a read, so the OS's refusal is what this simulates:
    # os.walk meets a PermissionError when it lists one target's folder.
    denied = tree / "RAVDESS" / "tps-generated" / "Actor_01"
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    idx = build(tree, cache)
    unreadable = idx.skipped[idx.skipped["reason"] == "unreadable"]
    assert list(unreadable["path"]) == ["RAVDESS/tps-generated/Actor_01/"]
    assert list(unreadable["detail"]) == ["Permission denied"]
    assert idx.skip_counts()["unreadable"] == 1
    assert not idx.videos["path"].str.startswith("RAVDESS/tps-generated/Actor_01/").any()
    assert len(idx.videos) == len(VIDEOS) - 2  # the two videos in that folder, and no others
