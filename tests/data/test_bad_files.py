"""Files no layout can use (broken symlinks, empty files): counted skips naming the file, never a crash."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from avbench.data_check import check_dataset
from avbench.data.index import IndexOptions
from avbench.data.spec import open_dataset
from avbench.data.video import VideoDecodeError, decode_gray
from avbench.errors import DatasetError
from avbench.registry import load_registry
from helpers import write_video

TPS_1002 = "CREMA-D/tps-generated/1002"
DANGLING = f"{TPS_1002}/1002--1002_DFA_ANG_XX--1002.mp4"
LOOP = f"{TPS_1002}/1002--1002_IEO_HAP_LO--1002.mp4"


def _index(root, **options):
    return open_dataset(load_registry(), f"nvfair:{root}", IndexOptions(**options))


def _skips(index) -> dict[str, tuple[str, str]]:
    return {r.path: (r.reason, r.detail) for r in index.skipped.itertuples()}


@pytest.fixture
def linked(tiny_nvfair, tmp_path):
    """tiny_nvfair plus a dangling .mp4 link, a looping one and a good link to a video elsewhere."""
    (tiny_nvfair / DANGLING).symlink_to("gone.mp4")
    (tiny_nvfair / LOOP).symlink_to(os.path.basename(LOOP))  # points at itself
    elsewhere = tmp_path / "other-disk" / "clip.mp4"
    write_video(elsewhere, seed=9)
    good = tiny_nvfair / "RAVDESS/lia-generated/Actor_02/Actor_02--01-01-01-01-01-03-02--Actor_02.mp4"
    good.symlink_to(elsewhere)
    return tiny_nvfair


def test_dangling_and_looping_video_links_are_skips_naming_the_file(linked):
    index = _index(linked)
    assert _skips(index) == {
        DANGLING: ("broken_symlink", "dangling symlink: its target gone.mp4 does not exist"),
        LOOP: ("broken_symlink", f"symlink loop: it points to {os.path.basename(LOOP)}, which leads "
                                 "back to itself"),
    }
    paths = set(index.videos["path"])
    assert DANGLING not in paths and LOOP not in paths
    # a link to a real video is a video like any other
    assert "RAVDESS/lia-generated/Actor_02/Actor_02--01-01-01-01-01-03-02--Actor_02.mp4" in paths
    assert len(index.videos) == 7


def test_data_check_lists_broken_links_and_decodes_the_good_one(linked, tmp_path):
    reg = load_registry()
    report = check_dataset(lambda: open_dataset(reg, f"nvfair:{linked}"), tmp_path / "cache",
                           clip_length=8)
    found = {f.check: f for f in report.findings}
    assert set(found) == {"broken_symlink"}
    assert found["broken_symlink"].count == 2
    assert found["broken_symlink"].example == (f"{DANGLING}: dangling symlink: its target gone.mp4 "
                                               "does not exist")
    assert found["broken_symlink"].advice == "point the link at an existing video, or remove it"
    assert (report.videos, report.usable, report.problems) == (6, 6, 2)  # 5 generated + the good link


def test_strict_index_stops_at_a_broken_link(linked):
    with pytest.raises(DatasetError, match=re.escape(f"{DANGLING}: broken_symlink: dangling symlink")):
        _index(linked, strict=True)


def test_folder_symlink_loops_and_dangling_folder_links_are_skips(tiny_nvfair, tmp_path):
    folder = tiny_nvfair / TPS_1002
    (folder / "self").symlink_to("self", target_is_directory=True)
    (folder / "a").symlink_to("b", target_is_directory=True)
    (folder / "b").symlink_to("a", target_is_directory=True)
    (folder / "up").symlink_to("..", target_is_directory=True)  # a real folder, walked once
    (tiny_nvfair / "CREMA-D" / "lia-generated").symlink_to(tmp_path / "unmounted", target_is_directory=True)
    (tiny_nvfair / "VoxCeleb").symlink_to(tmp_path / "unmounted", target_is_directory=True)
    index = _index(tiny_nvfair)
    loop = "symlink loop: it points to {}, which leads back to itself"
    assert _skips(index) == {
        f"{TPS_1002}/a": ("broken_symlink", loop.format("b")),
        f"{TPS_1002}/b": ("broken_symlink", loop.format("a")),
        f"{TPS_1002}/self": ("broken_symlink", loop.format("self")),
        "CREMA-D/lia-generated": ("broken_symlink", f"dangling symlink: its target {tmp_path / 'unmounted'} "
                                                    "does not exist"),
        "VoxCeleb": ("broken_symlink", f"dangling symlink: its target {tmp_path / 'unmounted'} does not exist"),
    }
    assert len(index.videos) == 6


def test_zero_byte_video_is_skipped_with_its_reason(tiny_nvfair, tmp_path):
    (tiny_nvfair / DANGLING).write_bytes(b"")
    index = _index(tiny_nvfair)
    assert _skips(index) == {DANGLING: ("zero_byte", "empty file (0 bytes)")}
    assert len(index.videos) == 6 and DANGLING not in set(index.videos["path"])
    reg = load_registry()
    report = check_dataset(lambda: open_dataset(reg, f"nvfair:{tiny_nvfair}"), tmp_path / "cache",
                           clip_length=8)
    assert [(f.check, f.count, f.example) for f in report.findings] == [
        ("zero_byte", 1, f"{DANGLING}: empty file (0 bytes)")]
    assert (report.videos, report.usable, report.problems) == (5, 5, 1)


def test_data_index_counts_only_usable_videos(run_cli, tiny_nvfair):
    (tiny_nvfair / DANGLING).write_bytes(b"")
    (tiny_nvfair / LOOP).symlink_to(os.path.basename(LOOP))
    r = run_cli("data", "index", f"nvfair:{tiny_nvfair}", env={"COLUMNS": "300"})
    assert r.returncode == 0, r.stderr
    rows = [re.split(r"\s*│\s*", ln.strip("│ ")) for ln in r.stdout.splitlines() if ln.startswith("│")]
    assert ["total", "2", "3", "1", "6"] in rows  # as without the two bad files
    assert ["tps", "1", "1", "0", "2"] in rows
    assert ["zero_byte", "1", f"{DANGLING}: empty file (0 bytes)"] in rows
    assert ["broken_symlink", "1", f"{LOOP}: symlink loop: it points to {os.path.basename(LOOP)}, "
                                   "which leads back to itself"] in rows
    assert "skipped files (2;" in r.stdout


def test_video_emptied_after_indexing_joins_the_zero_byte_count(tiny_nvfair, tmp_path):
    (tiny_nvfair / DANGLING).write_bytes(b"")
    reg = load_registry()
    _index(tiny_nvfair)
    emptied = f"{TPS_1002}/1002--1002_IEO_FEA_LO--1002.mp4"
    (tiny_nvfair / emptied).write_bytes(b"")  # in place: the folder's time, and the cached index, stay
    report = check_dataset(lambda: open_dataset(reg, f"nvfair:{tiny_nvfair}"), tmp_path / "cache",
                           clip_length=8)
    assert [(f.check, f.count) for f in report.findings] == [("zero_byte", 2)]
    assert (report.videos, report.usable) == (5, 4)


def test_avaprintdb_skips_empty_and_dangling_videos(tmp_path):
    videos = tmp_path / "database" / "data" / "videos"
    for stem in ("C1001--C1001--u1--GAGA", "C1050--C1050--t1--LIVE"):
        folder = videos / ("TEST" if stem.startswith("C1050") else "DEV")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{stem}.mp4").write_bytes(b"x")
    (videos / "DEV" / "C1002--C1002--u2--HUNY.mp4").write_bytes(b"")
    (videos / "TEST" / "C1051--C1051--t2--GAGA.mp4").symlink_to(tmp_path / "gone.mp4")
    index = open_dataset(load_registry(), f"avaprintdb:{tmp_path}")
    assert _skips(index) == {
        "videos/DEV/C1002--C1002--u2--HUNY.mp4": ("zero_byte", "empty file (0 bytes)"),
        "videos/TEST/C1051--C1051--t2--GAGA.mp4": (
            "broken_symlink", f"dangling symlink: its target {tmp_path / 'gone.mp4'} does not exist"),
    }
    assert sorted(index.videos["path"]) == ["videos/DEV/C1001--C1001--u1--GAGA.mp4",
                                            "videos/TEST/C1050--C1050--t1--LIVE.mp4"]


def test_skipped_empty_files_and_links_leave_the_fingerprint_alone(tiny_synthetic, tmp_path):
    reg = load_registry()
    original = open_dataset(reg, f"synthetic:{tiny_synthetic}")
    copy = tmp_path / "copy"
    shutil.copytree(tiny_synthetic, copy, symlinks=True)
    folder = next(copy.rglob("*-generated/*/*.mp4")).parent
    target = folder.name
    (folder / f"{target}--{target}_EMPTY_ANG_XX--{target}.mp4").write_bytes(b"")
    (folder / f"{target}--{target}_GONE_ANG_XX--{target}.mp4").symlink_to("gone.mp4")
    changed = open_dataset(reg, f"synthetic:{copy}")
    assert changed.skip_counts() == {"broken_symlink": 1, "zero_byte": 1}
    assert len(changed.videos) == len(original.videos)
    assert changed.fingerprint == original.fingerprint


def test_run_skips_broken_links_and_empty_files(run_cli, tiny_synthetic, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(tiny_synthetic, copy, symlinks=True)
    n = len(open_dataset(load_registry(), f"synthetic:{tiny_synthetic}").videos)
    folder = next(copy.rglob("*-generated/*/*.mp4")).parent
    target = folder.name
    (folder / f"{target}--{target}_EMPTY_ANG_XX--{target}.mp4").write_bytes(b"")
    (folder / f"{target}--{target}_GONE_ANG_XX--{target}.mp4").symlink_to("gone.mp4")
    loop = folder / f"{target}--{target}_LOOP_ANG_XX--{target}.mp4"
    loop.symlink_to(loop.name)
    r = run_cli("run", "--method", "f5c_featdiff", "--protocol", "overall", "--profile", "smoke",
                "--device", "cpu", "--data", f"synthetic:{copy}", "--db", str(tmp_path / "r.sqlite"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"({n} videos, fingerprint" in r.stdout and "results:" in r.stdout
    assert "skipped files: 3 (broken_symlink 2, zero_byte 1; avbench data check lists them)" in r.stdout


def test_decoding_a_broken_link_says_so(tmp_path):
    link = tmp_path / "v.mp4"
    link.symlink_to("gone.mp4")
    with pytest.raises(VideoDecodeError, match=re.escape(f"{link}: broken symlink to gone.mp4")):
        decode_gray(link)
    link.unlink()
    link.symlink_to(link.name)
    with pytest.raises(VideoDecodeError, match="loops back to itself"):
        decode_gray(link)
