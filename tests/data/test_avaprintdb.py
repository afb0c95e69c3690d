"""AVAPrintDB indexer: a tiny fake release (empty files; the index reads names only)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

from avbench.data import avaprintdb
from avbench.data.avaprintdb import assign_dev_splits, avbench_register_datasets, build_index
from avbench.data.index import IndexOptions, SplitLeakageError
from avbench.errors import DatasetError
from avbench.specs import load_object

# DEV identities of the fixture: 14, so ceil(0.15 * 14) = 3 are val.  With the salted
# sha256 rule these are Actor_04, C1006 and C1009 (checked independently below).
DEV_IDS = [f"C{1000 + i}" for i in range(1, 11)] + [f"Actor_{i:02d}" for i in range(1, 5)]
VAL_IDS = {"Actor_04", "C1006", "C1009"}
TEST_IDS = {"C1050", "C1051", "Actor_10", "Actor_11"}

GOOD_DEV = [
    "C1001--C1001--u1--GAGA", "C1002--C1002--u2--LIVE", "C1003--C1003--u3--HUNY",  # train self
    "C1001--C1002--u4--GAGA", "C1004--Actor_01--u5--LIVE", "C1005--C1007--u6--GAGA",
    "C1008--C1010--u7--HUNY", "Actor_02--Actor_03--u8--GAGA",  # train cross
    "C1001--C1001--u12--ORIG",  # train original
    "C1006--C1009--u9--GAGA", "Actor_04--Actor_04--u10--LIVE", "C1006--C1006--u11--ORIG",  # val
]
CROSS_SPLIT = ["C1006--C1001--u13--GAGA", "C1003--C1009--u14--HUNY"]  # val x train
GOOD_TEST = [
    "C1050--C1050--t1--GAGA", "C1050--C1051--t2--LIVE", "Actor_10--Actor_11--t3--HUNY",
    "Actor_11--Actor_10--t4--GAGA", "C1051--C1051--t5--ORIG",
]
BAD = {  # path under videos/ -> reason
    "DEV/C1001--C1002--u15.mp4": "unparsable_name",  # 3 fields
    "DEV/C1001--C1002--u16--FAKE.mp4": "unparsable_name",  # unknown GEN
    "DEV/C1001--C1002--u18--ORIG.mp4": "unparsable_name",  # real video of two identities
    "stray.mp4": "unparsable_name",  # outside DEV/TEST
    "OTHER/C1001--C1001--x--GAGA.mp4": "unparsable_name",  # outside DEV/TEST
    "TEST/C1050--C0999--t6--GAGA.mp4": "unknown_identity",
    "DEV/Actor_25--C1001--u17--LIVE.mp4": "unknown_identity",
    "DEV/notes.txt": "not_a_video",
}


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def make_release(tmp_path: Path) -> Path:
    """AVAPrintDB/database/data/... ; returns the AVAPrintDB folder."""
    top = tmp_path / "AVAPrintDB"
    data = top / "database" / "data"
    for stem in GOOD_DEV + CROSS_SPLIT:
        touch(data / "videos" / "DEV" / f"{stem}.mp4")
    for stem in GOOD_TEST:
        touch(data / "videos" / "TEST" / f"{stem}.mp4")
    for rel in BAD:
        touch(data / "videos" / rel)
    touch(data / "landmarks" / "DEV" / "C1001--C1001--u1--GAGA.npy")  # mirror layout
    touch(data / "landmarks" / "DEV" / "C1001--C1002--u4--GAGA.npy")  # mirror wins ...
    touch(data / "videos" / "DEV" / "C1001--C1002--u4--GAGA.npy")  # ... over beside
    touch(data / "videos" / "TEST" / "C1050--C1051--t2--LIVE.npy")  # beside the video
    touch(data / "landmarks" / "DEV" / "C1099--nothing--GAGA.npy")  # orphan: no video
    return top


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return make_release(tmp_path)


def index_of(path: Path, tmp_path: Path, **opts):
    return build_index(path, IndexOptions(**opts), cache_dir=tmp_path / "cache")


def test_counts(release: Path, tmp_path: Path) -> None:
    idx = index_of(release, tmp_path)
    v = idx.videos
    assert len(v) == 17
    assert v["split"].value_counts().to_dict() == {"train": 9, "val": 3, "test": 5}
    assert v["generator"].value_counts().to_dict() == {"GAGA": 7, "LIVE": 4, "HUNY": 3,
                                                       "original": 3}
    assert v["kind"].value_counts().to_dict() == {"cross": 9, "self": 5, "original": 3}
    assert int(v["is_original"].sum()) == 3
    assert (v["is_original"] == (v["kind"] == "original")).all()
    assert v["source"].value_counts().to_dict() == {"CREMA-D": 13, "RAVDESS": 4}
    assert idx.generators == ("GAGA", "LIVE", "HUNY")
    assert idx.dataset == "avaprintdb"
    assert idx.root == release / "database" / "data"
    assert idx.skip_counts() == {"cross_split": 2, "not_a_video": 1, "unknown_identity": 2,
                                 "unparsable_name": 5}
    assert set(idx.skipped.loc[idx.skipped["reason"] == "cross_split", "path"]) == {
        f"videos/DEV/{s}.mp4" for s in CROSS_SPLIT}
    got = dict(zip(idx.skipped["path"], idx.skipped["reason"]))
    assert {p: r for p, r in got.items() if r != "cross_split"} == {
        f"videos/{p}": r for p, r in BAD.items()}


def test_rows_and_details(release: Path, tmp_path: Path) -> None:
    idx = index_of(release, tmp_path)
    row = idx.videos.set_index("path").loc["videos/DEV/C1004--Actor_01--u5--LIVE.mp4"]
    assert (row["target"], row["driver"], row["driving_video"], row["generator"], row["kind"],
            row["split"], row["source"]) == ("C1004", "Actor_01", "u5", "LIVE", "cross",
                                             "train", "CREMA-D")
    orig = idx.videos.set_index("path").loc["videos/TEST/C1051--C1051--t5--ORIG.mp4"]
    assert (orig["generator"], orig["kind"], orig["split"], bool(orig["is_original"])) == (
        "original", "original", "test", True)
    detail = dict(zip(idx.skipped["path"], idx.skipped["detail"]))
    assert "'FAKE'" in detail["videos/DEV/C1001--C1002--u16--FAKE.mp4"]
    assert "C0999" in detail["videos/TEST/C1050--C0999--t6--GAGA.mp4"]
    assert "Actor_25" in detail["videos/DEV/Actor_25--C1001--u17--LIVE.mp4"]
    assert "DEV" in detail["videos/stray.mp4"]
    assert "val" in detail["videos/DEV/C1006--C1001--u13--GAGA.mp4"]
    # select() excludes originals by default
    assert len(idx.select("train")) == 8 and len(idx.select("test", ["GAGA"])) == 2


def test_landmarks_column(release: Path, tmp_path: Path) -> None:
    idx = index_of(release, tmp_path)
    lm = dict(zip(idx.videos["path"], idx.videos["landmarks"]))
    assert lm["videos/DEV/C1001--C1001--u1--GAGA.mp4"] == "landmarks/DEV/C1001--C1001--u1--GAGA.npy"
    assert lm["videos/DEV/C1001--C1002--u4--GAGA.mp4"] == "landmarks/DEV/C1001--C1002--u4--GAGA.npy"
    assert lm["videos/TEST/C1050--C1051--t2--LIVE.mp4"] == "videos/TEST/C1050--C1051--t2--LIVE.npy"
    assert sum(1 for x in lm.values() if x == "") == 14
    assert all((idx.root / x).is_file() for x in lm.values() if x)
    assert any("14 of 17 videos have no landmark file" in n for n in idx.notes)
    assert any("1 landmark files match no video" in n for n in idx.notes)
    # .npy files are never skips
    assert not idx.skipped["path"].str.endswith(".npy").any()


def test_path_forms(release: Path, tmp_path: Path) -> None:
    data = release / "database" / "data"
    indexes = [index_of(p, tmp_path, refresh=True) for p in (release, release / "database", data)]
    for idx in indexes:
        assert idx.root == data
        assert idx.videos.equals(indexes[0].videos)
        assert idx.fingerprint == indexes[0].fingerprint


@pytest.mark.parametrize("sub", ["", "elsewhere"])
def test_bad_path(tmp_path: Path, sub: str) -> None:
    path = tmp_path / "not-a-release" / sub
    path.mkdir(parents=True) if sub else (tmp_path / "not-a-release").mkdir()
    with pytest.raises(DatasetError) as err:
        index_of(path, tmp_path)
    assert str(path) in str(err.value) and "videos/{DEV,TEST}" in str(err.value)
    with pytest.raises(DatasetError, match="not a folder"):
        index_of(tmp_path / "missing", tmp_path)


def test_val_rule(release: Path, tmp_path: Path) -> None:
    idx = index_of(release, tmp_path)
    split_of = dict(zip(idx.identities["identity"], idx.identities["split"]))
    assert {i for i, s in split_of.items() if s == "val"} == VAL_IDS
    assert {i for i, s in split_of.items() if s == "test"} == TEST_IDS
    assert {i for i, s in split_of.items() if s == "train"} == set(DEV_IDS) - VAL_IDS
    assert len(VAL_IDS) == math.ceil(0.15 * len(DEV_IDS))
    # the documented rule, re-implemented here
    ranked = sorted(DEV_IDS,
                    key=lambda i: hashlib.sha256(f"avaprintdb-val:{i}".encode()).hexdigest())
    assert set(ranked[:3]) == VAL_IDS
    # identity-disjoint in the videos table
    for role in ("target", "driver"):
        assert (idx.videos.groupby(role)["split"].nunique() == 1).all()
    assert (idx.videos["target"].map(split_of) == idx.videos["split"]).all()
    assert (idx.videos["driver"].map(split_of) == idx.videos["split"]).all()
    # deterministic: again from scratch, and independent of input order
    again = index_of(release, tmp_path, refresh=True)
    assert again.identities.equals(idx.identities) and again.videos.equals(idx.videos)
    every = [f"C{n}" for n in range(1001, 1092)] + [f"Actor_{n:02d}" for n in range(1, 25)]
    a, b = assign_dev_splits(every), assign_dev_splits(list(reversed(every)))
    assert a == b
    assert sum(1 for s in a.values() if s == "val") == math.ceil(0.15 * 115) == 18


def test_leakage_is_an_error(tmp_path: Path) -> None:
    data = tmp_path / "database" / "data"
    touch(data / "videos" / "DEV" / "C1001--C1002--u1--GAGA.mp4")
    touch(data / "videos" / "TEST" / "C1002--C1050--t1--GAGA.mp4")
    touch(data / "videos" / "TEST" / "C1050--C1050--t2--LIVE.mp4")
    with pytest.raises(SplitLeakageError) as err:
        index_of(tmp_path, tmp_path)
    msg = str(err.value)
    named = msg.split("(e.g.")[0]  # the identities, before the example files
    assert "C1002" in named and "C1001" not in named and "C1050" not in named
    assert "videos/DEV/C1001--C1002--u1--GAGA.mp4" in msg


def test_cache(release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = index_of(release, tmp_path)
    assert len(list((tmp_path / "cache" / "index").glob("avaprintdb-*"))) == 1

    def boom(*args, **kwargs):
        raise AssertionError("rebuilt instead of reading the cache")

    monkeypatch.setattr(avaprintdb, "_build", boom)
    cached = index_of(release / "database", tmp_path)  # another path form, same cache
    assert cached.videos.equals(first.videos)
    assert cached.skipped.equals(first.skipped)
    assert cached.identities.equals(first.identities)
    assert (cached.generators, cached.notes, cached.fingerprint) == (
        first.generators, first.notes, first.fingerprint)

    touch(release / "database" / "data" / "landmarks" / "TEST" / "C1050--C1050--t1--GAGA.npy")
    with pytest.raises(AssertionError, match="rebuilt"):  # a new landmark file invalidates
        index_of(release, tmp_path)
    monkeypatch.undo()
    rebuilt = index_of(release, tmp_path)
    assert rebuilt.fingerprint != first.fingerprint
    assert (rebuilt.videos["landmarks"] != "").sum() == 4

    touch(release / "database" / "data" / "videos" / "TEST" / "C1051--C1050--t9--HUNY.mp4")
    assert len(index_of(release, tmp_path).videos) == 18  # a new video invalidates


def test_strict(tmp_path: Path) -> None:
    data = tmp_path / "database" / "data"
    touch(data / "videos" / "DEV" / "C1001--C1001--u1--GAGA.mp4")
    touch(data / "videos" / "TEST" / "C1050--C1050--t1--GAGA.mp4")
    touch(data / "videos" / "TEST" / "C1050--C1050--t2--XXXX.mp4")
    assert index_of(tmp_path, tmp_path).skip_counts() == {"unparsable_name": 1}  # cached
    with pytest.raises(DatasetError, match=r"videos/TEST/C1050--C1050--t2--XXXX\.mp4"):
        index_of(tmp_path, tmp_path, strict=True)


def test_only_one_identity_generators(tmp_path: Path) -> None:
    data = tmp_path / "database" / "data"
    touch(data / "videos" / "TEST" / "C1050--C1050--t1--LIVE.mp4")
    touch(data / "videos" / "TEST" / "C1050--C1050--t2--ORIG.mp4")
    idx = index_of(data, tmp_path)
    assert idx.generators == ("LIVE",)
    assert any("videos/DEV missing" in n for n in idx.notes)
    assert idx.videos["split"].tolist() == ["test", "test"]


def test_hook_registers_dataset() -> None:
    (spec,) = avbench_register_datasets()
    assert spec.name == "avaprintdb"
    assert spec.generators == ("GAGA", "LIVE", "HUNY")
    assert load_object(spec.factory) is build_index
    assert "2603.26934" in spec.citation and "Pedrouzo-Rodriguez" in spec.citation
