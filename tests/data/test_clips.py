"""Clip sampling (paper Sec. IV-D): exact answers for start positions and padding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avbench.data.clips import eval_start, take_clip, train_start


@pytest.mark.parametrize(
    "n, t, expected",
    [(100, 64, 18), (64, 64, 0), (10, 64, 0), (65, 64, 0), (66, 64, 1), (67, 64, 1), (1, 1, 0)],
)
def test_eval_start(n: int, t: int, expected: int) -> None:
    assert eval_start(n, t) == expected


def test_train_start_covers_exactly_every_window() -> None:
    rng = np.random.default_rng(0)
    draws = [train_start(70, 64, rng) for _ in range(2000)]
    assert set(draws) == set(range(7))  # 0..N-T, both ends included
    assert all(isinstance(d, int) for d in draws)


def test_train_start_short_or_exact_video_is_zero() -> None:
    rng = np.random.default_rng(1)
    assert {train_start(10, 64, rng) for _ in range(200)} == {0}
    assert {train_start(64, 64, rng) for _ in range(200)} == {0}


def test_train_start_reproducible_from_seed() -> None:
    a = [train_start(500, 64, np.random.default_rng(7)) for _ in range(3)]
    assert len(set(a)) == 1


def unseeded_train_start(n: int, t: int) -> int:
    return train_start(n, t, np.random.default_rng())


@pytest.mark.parametrize("fn", [eval_start, unseeded_train_start])
@pytest.mark.parametrize("n, t", [(0, 64), (10, 0), (-1, 5)])
def test_start_rejects_bad_lengths(fn: Any, n: int, t: int) -> None:
    with pytest.raises(ValueError):
        fn(n, t)


def test_take_clip_pads_with_last_frame() -> None:
    frames = np.arange(5).reshape(5, 1, 1) * np.ones((5, 2, 2), dtype=np.int64)
    clip = take_clip(frames, 0, 8)
    assert clip.shape == (8, 2, 2)
    assert clip[:, 0, 0].tolist() == [0, 1, 2, 3, 4, 4, 4, 4]


def test_take_clip_consecutive_window() -> None:
    frames = np.arange(100, dtype=np.uint8)[:, None, None].repeat(3, 1).repeat(3, 2)
    clip = take_clip(frames, eval_start(100, 64), 64)
    assert clip[:, 0, 0].tolist() == list(range(18, 82))
    # a window running past the end is padded the same way
    assert take_clip(frames, 97, 5)[:, 0, 0].tolist() == [97, 98, 99, 99, 99]


def test_take_clip_returns_private_writable_copy() -> None:
    frames = np.zeros((10, 4, 4), np.uint8)
    frames.flags.writeable = False
    clip = take_clip(frames, 2, 4)
    assert clip.flags.writeable and clip.flags.c_contiguous
    assert not np.shares_memory(clip, frames)


def test_take_clip_from_memmap(tmp_path: Path) -> None:
    data = (np.arange(30, dtype=np.uint8)[:, None, None] * np.ones((1, 8, 8), np.uint8))
    np.save(tmp_path / "f.npy", data)
    mm = np.load(tmp_path / "f.npy", mmap_mode="r")
    clip = take_clip(mm, 25, 8)
    assert type(clip) is np.ndarray  # a plain array, detached from the file
    assert clip[:, 0, 0].tolist() == [25, 26, 27, 28, 29, 29, 29, 29]
    np.testing.assert_array_equal(take_clip(mm, 3, 4), data[3:7])


class SpyFrames:
    """Records how it is indexed, to show only the needed rows are read."""

    def __init__(self, data: np.ndarray) -> None:
        self.data, self.shape, self.keys = data, data.shape, []

    def __getitem__(self, key: Any) -> np.ndarray:
        self.keys.append(key)
        return self.data[key]


def test_take_clip_reads_only_needed_rows() -> None:
    spy = SpyFrames(np.zeros((1000, 2, 2), np.uint8))
    take_clip(spy, 100, 16)
    assert spy.keys == [slice(100, 116)]
    spy.keys.clear()
    take_clip(spy, 995, 16)
    assert spy.keys == [slice(995, 1000)]


def test_take_clip_landmarks() -> None:
    lm = np.random.default_rng(0).normal(size=(12, 109, 3)).astype(np.float32)
    clip = take_clip(lm, 10, 4)
    assert clip.shape == (4, 109, 3) and clip.dtype == np.float32
    np.testing.assert_array_equal(clip[:2], lm[10:12])
    np.testing.assert_array_equal(clip[2], lm[11])
    np.testing.assert_array_equal(clip[3], lm[11])


@pytest.mark.parametrize(
    "n, start, t, match",
    [
        (0, 0, 4, "empty"),
        (5, 0, 0, "clip_length"),
        (5, 5, 2, "out of range"),
        (5, -1, 2, "out of range"),
    ],
)
def test_take_clip_errors(n: int, start: int, t: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        take_clip(np.zeros((n, 2, 2)), start, t)
