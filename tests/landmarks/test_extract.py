"""Landmark extraction (avbench/landmarks/extract.py): caching, counting, filling, reporting."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from avbench.data.video import write_gray_video
from avbench.landmarks.extract import LandmarkCache, extract_landmarks
from avbench.specs import LandmarkExtractorSpec
from helpers import FakeExtractor, write_video

FAKE = LandmarkExtractorSpec(name="fake", summary="", factory="helpers:FakeExtractor", n_points=68)


@pytest.fixture
def videos(tmp_path):
    root = tmp_path / "data"
    rows = []
    for i, (gen, n) in enumerate([("tps", 9), ("tps", 12), ("lia", 8)]):
        rel = f"{gen}/v{i}.mp4"
        write_video(root / rel, n_frames=n, seed=i)
        rows.append({"path": rel, "generator": gen, "landmarks": ""})
    return root, pd.DataFrame(rows, index=[10, 11, 12])


def test_counts_fills_and_reports(videos, tmp_path):
    root, df = videos
    FakeExtractor.calls = 0
    arrays, report = extract_landmarks(root, df, FAKE, tmp_path / "cache", workers=1)
    assert FakeExtractor.calls == 3
    assert sorted(arrays) == [10, 11, 12]
    assert [(r.frames, r.missing, r.cached) for r in report.records] == [(9, 3, False), (12, 3, False),
                                                                        (8, 2, False)]
    a = arrays[10]
    assert a.shape == (9, 68, 2) and not np.isnan(a).any()
    assert a[:, 0, 1].tolist() == [1, 1, 2, 3, 4, 5, 6, 7, 7]  # frame 0 held, 4 interpolated, 8 held
    table = report.by_generator()
    assert table.loc["tps", "videos"] == 2 and table.loc["tps", "frames"] == 21
    assert table.loc["tps", "missing"] == 6
    assert table.loc["tps", "failure_rate"] == pytest.approx(6 / 21)
    assert table.loc["lia", "failure_rate"] == pytest.approx(2 / 8)
    assert table["extracted_fps"].gt(0).all()
    s = report.summary()
    assert (s["extractor"], s["videos"], s["frames"], s["missing_frames"]) == ("fake", 3, 29, 8)
    assert s["skipped_videos"] == []


def test_second_run_is_served_from_the_cache(videos, tmp_path):
    root, df = videos
    extract_landmarks(root, df, FAKE, tmp_path / "cache", workers=1)
    FakeExtractor.calls = 0
    again, report = extract_landmarks(root, df, FAKE, tmp_path / "cache", workers=1)
    assert FakeExtractor.calls == 0
    assert all(r.cached for r in report.records)
    assert np.isnan(report.by_generator()["extracted_fps"]).all()  # nothing was extracted
    assert report.summary()["extracted_fps"] is None
    assert report.summary()["per_generator"]["tps"]["extracted_fps"] is None
    assert again[11].shape == (12, 68, 2)


def test_cache_is_keyed_by_video_and_extractor_version(videos, tmp_path):
    root, df = videos
    cache_root = tmp_path / "cache"
    extract_landmarks(root, df, FAKE, cache_root, workers=1)
    video = root / df.at[10, "path"]
    path_v1 = LandmarkCache(cache_root, FAKE).path(video)
    v2 = LandmarkExtractorSpec(name="fake", summary="", factory="helpers:FakeExtractor", version="2")
    assert LandmarkCache(cache_root, v2).path(video) != path_v1  # a new version re-extracts
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a touched video, too
    assert LandmarkCache(cache_root, FAKE).path(video) != path_v1
    FakeExtractor.calls = 0
    extract_landmarks(root, df, FAKE, cache_root, workers=1)
    assert FakeExtractor.calls == 1


def test_video_without_any_face_is_skipped_and_reported(videos, tmp_path):
    root, df = videos
    write_gray_video(root / "lia/black.mp4", np.zeros((6, 64, 64), np.uint8), fps=25)
    df = pd.concat([df, pd.DataFrame([{"path": "lia/black.mp4", "generator": "lia", "landmarks": ""}], index=[13])])
    arrays, report = extract_landmarks(root, df, FAKE, tmp_path / "cache", workers=1)
    assert 13 not in arrays and len(arrays) == 3
    assert [r.path for r in report.skipped] == ["lia/black.mp4"]
    assert "no face was detected in any frame (6 frames)" in report.skipped[0].skipped
    assert report.by_generator().loc["lia", "skipped_videos"] == 1
    assert report.summary()["skipped_videos"] == ["lia/black.mp4"]


def test_worker_processes_give_the_same_landmarks(videos, tmp_path):
    root, df = videos
    inline, _ = extract_landmarks(root, df, FAKE, tmp_path / "c1", workers=1)
    parallel, report = extract_landmarks(root, df, FAKE, tmp_path / "c2", workers=2)
    assert sorted(parallel) == sorted(inline)
    for k in inline:
        np.testing.assert_array_equal(parallel[k], inline[k])
    assert [r.missing for r in report.records] == [3, 3, 2]


def test_progress_is_reported_per_video(videos, tmp_path):
    root, df = videos
    seen = []
    extract_landmarks(root, df, FAKE, tmp_path / "cache", workers=1, progress=lambda d, n: seen.append((d, n)))
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)


def test_dataset_landmarks_are_read_from_the_index(tmp_path):
    root = tmp_path / "data"
    (root / "x").mkdir(parents=True)
    lm = np.random.default_rng(0).normal(size=(7, 109, 3)).astype(np.float32)
    lm[2] = np.nan
    np.save(root / "x/a.npy", lm)
    df = pd.DataFrame([{"path": "x/a.mp4", "generator": "tps", "landmarks": "x/a.npy"},
                       {"path": "x/b.mp4", "generator": "tps", "landmarks": ""}])
    spec = LandmarkExtractorSpec(name="dataset", summary="", factory="", source="dataset")
    arrays, report = extract_landmarks(root, df, spec, tmp_path / "cache")
    assert list(arrays) == [0] and arrays[0].shape == (7, 109, 3)
    np.testing.assert_allclose(arrays[0][2], (lm[1] + lm[3]) / 2, rtol=1e-6)
    assert report.records[0].missing == 1
    assert report.skipped[0].skipped == "the dataset ships no landmark file for it"
