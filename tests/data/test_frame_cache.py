"""The decoded-frame cache: hits/misses, invalidation, atomic writes, concurrent use."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avbench.data import frame_cache as fc_module
from avbench.data.frame_cache import FrameCache
from avbench.data.video import POLICY_VERSION, VideoDecodeError, decode_gray, write_gray_video
from avbench.paths import default_cache_dir


def make_video(path: Path, n: int = 12, level: int = 60) -> Path:
    frames = np.broadcast_to((level + 8 * np.arange(n))[:, None, None], (n, 32, 32))
    return write_gray_video(path, frames.astype(np.uint8))


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return make_video(tmp_path / "clip.mp4")


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_miss_then_hit(tmp_path: Path, video: Path) -> None:
    cache = FrameCache(tmp_path / "cache")
    first = cache.frames(video)
    assert (cache.hits, cache.misses) == (0, 1)
    second = cache.frames(video)
    assert (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(first, decode_gray(video))
    np.testing.assert_array_equal(second, first)
    # a fresh instance (another run) finds the same entry on disk
    other = FrameCache(tmp_path / "cache")
    other.frames(str(video))
    assert (other.hits, other.misses) == (1, 0)


def test_returns_read_only_memmap(tmp_path: Path, video: Path) -> None:
    arr = FrameCache(tmp_path / "cache", size=64).frames(video)
    assert isinstance(arr, np.memmap)
    assert arr.shape == (12, 64, 64) and arr.dtype == np.uint8
    assert not arr.flags.writeable
    with pytest.raises(ValueError):
        arr[0, 0, 0] = 1


def test_layout_and_no_leftovers(tmp_path: Path, video: Path) -> None:
    root = tmp_path / "cache"
    cache = FrameCache(root)
    cache.frames(video)
    key = cache.key(video)
    assert len(key) == 64
    expected = root / "frames" / f"v{POLICY_VERSION}" / key[:2] / f"{key}.npy"
    assert cache.entry_path(video) == expected
    assert files_under(root) == [expected]  # no temp files, no lock files


def test_size_is_part_of_key(tmp_path: Path, video: Path) -> None:
    a, b = FrameCache(tmp_path / "c", size=128), FrameCache(tmp_path / "c", size=64)
    assert a.key(video) != b.key(video)
    assert a.frames(video).shape[1:] == (128, 128)
    assert b.frames(video).shape[1:] == (64, 64)
    assert b.misses == 1


def test_modified_file_is_redecoded(tmp_path: Path, video: Path) -> None:
    cache = FrameCache(tmp_path / "cache")
    old = np.array(cache.frames(video))
    old_stat = video.stat()
    make_video(video, n=8, level=150)  # new content, new size
    os.utime(video, ns=(old_stat.st_atime_ns, old_stat.st_mtime_ns + 1_000_000_000))
    new = cache.frames(video)
    assert cache.misses == 2
    assert new.shape[0] == 8
    assert new.mean() > old.mean() + 50


def test_touched_file_gets_new_key(tmp_path: Path, video: Path) -> None:
    cache = FrameCache(tmp_path / "cache")
    before = cache.key(video)
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert cache.key(video) != before


def test_corrupt_entry_is_rebuilt(tmp_path: Path, video: Path) -> None:
    cache = FrameCache(tmp_path / "cache")
    entry = cache.entry_path(video)
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"not an npy file")
    np.testing.assert_array_equal(cache.frames(video), decode_gray(video))
    assert cache.misses == 1


def test_failed_write_leaves_nothing(
    tmp_path: Path, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_save(fh: Any, *args: Any, **kwargs: Any) -> None:
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(fc_module.np, "save", broken_save)
    root = tmp_path / "cache"
    with pytest.raises(OSError, match="disk full"):
        FrameCache(root).frames(video)
    assert files_under(root) == []


def test_decode_errors_propagate_and_are_not_cached(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    root = tmp_path / "cache"
    with pytest.raises(VideoDecodeError, match="bad.mp4"):
        FrameCache(root).frames(bad)
    with pytest.raises(VideoDecodeError, match="missing.mp4"):
        FrameCache(root).frames(tmp_path / "missing.mp4")
    assert files_under(root) == []


def test_default_cache_dir_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVBENCH_CACHE_DIR", str(tmp_path / "envcache"))
    assert default_cache_dir() == tmp_path / "envcache"
    assert FrameCache().root == tmp_path / "envcache"
    monkeypatch.delenv("AVBENCH_CACHE_DIR")
    assert default_cache_dir().name.lower() == "avbench"


def _concurrent_worker(root: str, video: str, barrier: Any, results: Any) -> None:
    barrier.wait()  # start both lookups together so they race for the same key
    cache = FrameCache(Path(root))
    arr = cache.frames(video)
    results.put((arr.shape, hashlib.sha256(np.ascontiguousarray(arr)).hexdigest(),
                 cache.hits, cache.misses))


def test_two_processes_same_video(tmp_path: Path) -> None:
    video = make_video(tmp_path / "shared.mp4", n=40)
    root = tmp_path / "cache"
    # spawn, never fork: this process has run FFmpeg (encoding the video), and a forked
    # child can deadlock on a lock held by one of FFmpeg's threads at fork time (seen on
    # Python 3.12).  Spawned children get this process's sys.path, so they can import
    # this module by name.
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_concurrent_worker, args=(str(root), str(video), barrier, results))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    expected = decode_gray(video)
    digest = hashlib.sha256(expected).hexdigest()
    assert [(shape, h) for shape, h, _, _ in got] == [(expected.shape, digest)] * 2
    assert sum(m for *_, m in got) == 1  # the lock kept the second process from decoding
    assert sum(h for _, _, h, _ in got) == 1
    assert len(files_under(root)) == 1
