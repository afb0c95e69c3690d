"""Temporal clip sampling, as in the avatar-fingerprinting paper (Sec. IV-D).

A clip is ``T`` *consecutive* frames -- no striding -- because the methods model
frame-to-frame facial dynamics at the video's native rate.  Training draws a
random window so every epoch sees different motion; evaluation takes the
centred window so scores are deterministic and comparable across methods (or, for the
``multi_clip`` protocol, ``k`` windows spread evenly over the video: :func:`spread_starts`).
Videos shorter than ``T`` are padded by repeating the last frame (a "frozen"
tail adds no spurious motion), so every clip has exactly ``T`` frames.

These helpers work on anything indexed by time on its first axis: decoded
frames ``(N, H, W)``, landmark tracks ``(N, P, C)``, and read-only memmaps of
either from :class:`avbench.data.frame_cache.FrameCache`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["train_start", "eval_start", "spread_starts", "take_clip"]


def _check_lengths(n_frames: int, clip_length: int) -> None:
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1 (a video has at least one frame), got {n_frames}")
    if clip_length < 1:
        raise ValueError(f"clip_length must be >= 1, got {clip_length}")


def train_start(n_frames: int, clip_length: int, rng: np.random.Generator) -> int:
    """Draw a start uniformly over every window that fits, both ends included.

    Including ``N - T`` matters: without it the last frame of a video could
    never be trained on.  The caller's generator is used so runs are
    reproducible from the experiment seed.
    """
    _check_lengths(n_frames, clip_length)
    return int(rng.integers(0, max(0, n_frames - clip_length), endpoint=True))


def eval_start(n_frames: int, clip_length: int) -> int:
    """Centre the window (floor when the slack is odd) for deterministic evaluation."""
    _check_lengths(n_frames, clip_length)
    return max(0, n_frames - clip_length) // 2


def spread_starts(n_frames: int, clip_length: int, clips: int) -> list[int]:
    """The starts of ``clips`` evaluation windows spread evenly over the video.

    One clip is the centred window (:func:`eval_start`), so a single-clip evaluation is
    exactly the one every protocol makes.  For ``k >= 2`` clips, with slack ``S = max(0, N - T)``,
    clip ``i`` (``0 <= i < k``) starts at ``i * S / (k - 1)`` rounded half up: the first
    window opens the video and the last one closes it, so together they cover all of it
    and any two videos are sampled at the same relative positions.  Starts repeat when the
    video has fewer than ``k`` distinct windows (``S < k - 1``); a video no longer than ``T``
    gives ``k`` copies of its one padded clip.  Repeats are kept rather than dropped, so
    every video is ``k`` clips with even weights over its span and a mean over them never
    favours the part of a short video where windows happen to be distinct.
    """
    _check_lengths(n_frames, clip_length)
    if isinstance(clips, bool) or not isinstance(clips, int) or clips < 1:
        raise ValueError(f"clips must be a whole number >= 1, got {clips!r}")
    if clips == 1:
        return [eval_start(n_frames, clip_length)]
    slack, gaps = max(0, n_frames - clip_length), clips - 1
    return [(2 * i * slack + gaps) // (2 * gaps) for i in range(clips)]  # round half up, in integers


def take_clip(frames: Any, start: int, clip_length: int) -> np.ndarray:
    """Return exactly ``clip_length`` consecutive frames from ``start`` as a new array.

    Only the needed rows are read (one basic slice), so a memmapped cache is
    never loaded whole.  The result is a private, writable copy rather than a
    view: callers can hand it to ``torch.from_numpy`` or augment it in place
    without touching (or being refused by) the read-only cache file.  A window
    running past the end is padded by repeating the last frame.
    """
    n_frames = int(frames.shape[0])
    if n_frames == 0:
        raise ValueError("cannot take a clip from an empty sequence (N == 0)")
    if clip_length < 1:
        raise ValueError(f"clip_length must be >= 1, got {clip_length}")
    if not 0 <= start < n_frames:
        raise ValueError(f"start {start} out of range for a sequence of {n_frames} frames")
    stop = min(start + clip_length, n_frames)
    clip = np.array(frames[start:stop])  # copies just these rows; plain ndarray, not memmap
    missing = clip_length - clip.shape[0]
    if missing:
        clip = np.concatenate([clip, np.repeat(clip[-1:], missing, axis=0)], axis=0)
    return clip
