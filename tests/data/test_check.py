"""``avbench data check``: every kind of bad file counted in one table, with what to do."""

from __future__ import annotations

import shutil

import pytest

from avbench.data_check import check_dataset
from avbench.data.spec import open_dataset
from avbench.registry import load_registry


def _broken_copy(tiny_synthetic, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(tiny_synthetic, root)
    videos = sorted(p for p in root.rglob("*.mp4") if "-generated" in str(p))
    videos[0].write_bytes(b"")  # zero-byte
    videos[1].write_bytes(videos[2].read_bytes()[:3000])  # truncated
    (videos[3].parent / "not-a-rule.mp4").write_bytes(videos[3].read_bytes())  # no layout rule
    return root, len(videos)


def test_check_counts_every_problem(tiny_synthetic, tmp_path):
    root, n = _broken_copy(tiny_synthetic, tmp_path)
    reg = load_registry()
    report = check_dataset(lambda: open_dataset(reg, f"synthetic:{root}"), tmp_path / "cache", clip_length=22)
    found = {f.check: f for f in report.findings}
    assert found["zero_byte"].count == 1
    assert found["zero_byte"].example.endswith(": empty file (0 bytes)")
    assert found["undecodable"].count == 1 and "re-download" in found["undecodable"].advice
    assert found["unparsable_name"].count == 1 and "not-a-rule.mp4" in found["unparsable_name"].example
    assert found["shorter_than_T"].count > 0  # the fixture's videos have 20-24 frames
    assert (report.videos, report.usable) == (n - 1, n - 2)  # the empty file is no video: not indexed
    # the empty video's landmark file is left without an indexed video (not_a_video, as for any
    # skipped video); short videos are usable: reported, not a problem
    assert found["not_a_video"].count == 1
    assert ".npy: landmark file without" in found["not_a_video"].example
    assert report.problems == 4


@pytest.mark.parametrize("text, message", [
    ("identities in train set:\n1002\nidentities in test set:\n1001\n", "missing split list(s): val"),
    ("identities in train set:\n1002\nidentities in val set:\n1003\nidentities in test set:\n1002\n", "1002"),
])
def test_broken_split_file_is_the_one_finding(tiny_nvfair, tmp_path, text, message):
    (tiny_nvfair / "train_val_test_splits.txt").write_text(text)
    reg = load_registry()
    report = check_dataset(lambda: open_dataset(reg, f"nvfair:{tiny_nvfair}"), tmp_path / "cache")
    assert [f.check for f in report.findings] == ["split_files"] and report.problems == 1
    assert "train_val_test_splits.txt" in report.findings[0].example or "split" in report.findings[0].example
    assert message in report.findings[0].example


def test_cli_check_exits_1_on_problems(run_cli, tiny_synthetic, tmp_path):
    root, _ = _broken_copy(tiny_synthetic, tmp_path)
    r = run_cli("data", "check", f"synthetic:{root}", "--clip-length", "8")
    assert r.returncode == 1, r.stderr[-2000:]
    assert "zero_byte" in r.stdout and "undecodable" in r.stdout
    ok = run_cli("data", "check", f"synthetic:{tiny_synthetic}", "--clip-length", "8")
    assert ok.returncode == 0 and "nothing to do" in ok.stdout


def test_landmark_check_counts_videos_and_frames_without_a_face(tiny_synthetic, tmp_path):
    import numpy as np

    root = tmp_path / "data"
    shutil.copytree(tiny_synthetic, root)
    shipped = sorted(p for p in root.rglob("*.npy") if "-generated" in str(p))
    faceless, half = np.load(shipped[0]), np.load(shipped[1])
    faceless[:] = np.nan  # no face in any frame
    half[: len(half) // 2] = np.nan
    np.save(shipped[0], faceless)
    np.save(shipped[1], half)
    reg = load_registry()
    report = check_dataset(lambda: open_dataset(reg, f"synthetic:{root}"), tmp_path / "cache",
                           clip_length=8, extractor=reg.landmark_extractors.get("dataset"))
    found = {f.check: f for f in report.findings}
    assert found["no_face"].count == 1 and shipped[0].stem in found["no_face"].example
    assert found["frames_without_face"].count == len(half) // 2
    assert f"{len(half) // 2} of {len(half)} frames (dataset); 1 video(s)" in found["frames_without_face"].example
    assert report.usable == report.videos - 1 and report.problems == 1  # filled frames are usable


def test_cli_check_as_json(run_cli, tiny_synthetic, tmp_path):
    import json

    root, _ = _broken_copy(tiny_synthetic, tmp_path)
    r = run_cli("data", "check", f"synthetic:{root}", "--clip-length", "8", "--json")
    assert r.returncode == 1, r.stderr[-2000:]
    got = json.loads(r.stdout)
    assert got["problems"] is True and got["usable"] < got["videos"]
    checks = {f["check"]: f for f in got["findings"]}
    assert {"zero_byte", "undecodable"} <= set(checks)
    assert checks["zero_byte"]["count"] >= 1 and checks["zero_byte"]["first_example"]
