"""``avbench data prepare``: every video decoded once into the frame cache; failures named."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avbench.data.frame_cache import FrameCache
from avbench.data.prepare import prepare_frames
from avbench.landmarks.extract import extract_landmarks
from avbench.specs import LandmarkExtractorSpec
from helpers import write_video

FAKE = LandmarkExtractorSpec(name="fake", summary="", factory="helpers:FakeExtractor", n_points=68)


@pytest.fixture
def videos(tmp_path):
    root = tmp_path / "data"
    rows = []
    for i, n in enumerate([9, 12, 8, 10]):
        rel = f"tps/v{i}.mp4"
        write_video(root / rel, n_frames=n, seed=i)
        rows.append({"path": rel, "generator": "tps", "landmarks": ""})
    return root, pd.DataFrame(rows)


def test_all_cores_fill_the_cache_once(videos, tmp_path):
    root, df = videos
    progress = []
    report = prepare_frames(root, df, tmp_path / "cache", workers=2,
                            progress=lambda d, n: progress.append((d, n)))
    assert (report.videos, report.decoded, report.cached, report.frames) == (4, 4, 0, 39)
    assert report.failed == [] and progress[-1] == (4, 4)
    cache = FrameCache(tmp_path / "cache")
    assert len(cache.frames(root / df["path"][1])) == 12 and cache.misses == 0  # served from disk
    again = prepare_frames(root, df, tmp_path / "cache", workers=2)
    assert (again.decoded, again.cached, again.frames) == (0, 4, 39)


def test_undecodable_videos_are_counted_and_named(videos, tmp_path):
    root, df = videos
    (root / "tps" / "broken.mp4").write_bytes(b"not a video at all")
    df = pd.concat([df, pd.DataFrame([{"path": "tps/broken.mp4", "generator": "tps", "landmarks": ""}])],
                   ignore_index=True)
    report = prepare_frames(root, df, tmp_path / "cache", workers=2)
    assert (report.decoded, len(report.failed)) == (4, 1)
    assert report.failed[0][0] == "tps/broken.mp4" and "broken.mp4" in report.failed[0][1]


def test_dask_engine_fills_the_same_cache(videos, tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason="the [cluster] extra is not installed")
    tests = Path(__file__).parents[1]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")]))
    root, df = videos
    report = prepare_frames(root, df, tmp_path / "cache", engine="dask", workers=2)
    assert (report.decoded, report.frames, report.failed) == (4, 39, [])
    arrays, lm = extract_landmarks(root, df, FAKE, tmp_path / "cache", workers=2, engine="dask")
    assert sorted(arrays) == [0, 1, 2, 3] and lm.summary()["frames"] == 39
    assert np.isfinite(arrays[1]).all()


def test_cli_prepare_reports_the_cache(run_cli, tiny_synthetic):
    r = run_cli("data", "prepare", f"synthetic:{tiny_synthetic}", "--workers", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "frame cache of synthetic" in r.stdout
    r2 = run_cli("data", "prepare", f"synthetic:{tiny_synthetic}", "--engine", "ray")
    assert r2.returncode != 0 and "--engine 'ray'" in r2.stderr
