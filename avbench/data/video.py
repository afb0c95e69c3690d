"""Decode talking-head videos into the grayscale frame stacks every method consumes.

Decode policy (bump :data:`POLICY_VERSION` whenever any step changes, so cached
decodes made under the old policy are never reused):

1. **Every frame, in presentation order** -- no striding and no frame-rate
   conversion.  Fingerprinting methods learn from frame-to-frame facial motion;
   dropping or duplicating frames would change that motion signal, and clip
   sampling (:mod:`avbench.data.clips`) is defined on consecutive frames.
2. **Luma only** -- PyAV converts to format ``"gray"``.  Identity-of-the-driver
   cues are motion, not colour, and luma keeps the stored cache small.  swscale
   expands limited-range (16-235) luma to full range (0-255) on the way, so
   limited- and full-range sources land on the same scale.
3. **Centre-crop to a square on the shorter side** -- methods expect square
   inputs, and cropping (rather than squashing) keeps the face's aspect ratio.
   NVFAIR and AVAPrintDB already ship square, face-centred crops, so for them
   this is a no-op.
4. **Resize to ``size`` x ``size`` (default 128) with area interpolation**
   (swscale ``AREA``) -- area averaging is the alias-free choice when shrinking,
   which is the common case (source crops are larger than 128 px).

All frames go through the same path (crop, then swscale), even when a step is
a no-op, so there is one code path to reason about.

:func:`write_gray_video` encodes with ``libx264`` (yuv420p, CRF 18).  If the
installed PyAV build lacks libx264 it falls back to FFmpeg's native ``mpeg4``
encoder at a high bit rate; both are decodable by any FFmpeg.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from avbench.errors import DatasetError

__all__ = [
    "POLICY_VERSION",
    "DEFAULT_SIZE",
    "VideoDecodeError",
    "VideoInfo",
    "decode_gray",
    "probe",
    "write_gray_video",
]

POLICY_VERSION = 1
"""Version of the decode policy above; part of every frame-cache key."""

DEFAULT_SIZE = 128

_ENCODER = "libx264" if "libx264" in av.codecs_available else "mpeg4"


class VideoDecodeError(DatasetError):
    """A video could not be turned into frames; the message names the file and the cause."""


@dataclass(frozen=True)
class VideoInfo:
    """Container-level facts about a video, read without decoding it.

    ``n_frames`` comes from container metadata and may be an estimate
    (duration x frame rate) when the container does not record a frame count;
    only :func:`decode_gray` gives the exact number.
    """

    n_frames: int
    fps: float
    width: int
    height: int


PathLike = str | os.PathLike[str]


@contextmanager
def _open_video(path: PathLike) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """Open the first video stream, turning every failure into a VideoDecodeError.

    Checks the common failures (missing/empty file) up front because FFmpeg's own
    messages for them are vague ("Invalid data found" for an empty file).  Errors
    raised while the caller decodes inside the ``with`` body are wrapped here too,
    so the callers stay free of error handling.
    """
    p = Path(path)
    if not p.exists():
        if p.is_symlink():
            raise VideoDecodeError(f"{p}: broken symlink to {os.readlink(p)} (its target is "
                                   "missing, or the link loops back to itself)")
        raise VideoDecodeError(f"{p}: file not found")
    if not p.is_file():
        raise VideoDecodeError(f"{p}: not a regular file")
    if p.stat().st_size == 0:
        raise VideoDecodeError(f"{p}: file is empty (0 bytes)")
    try:
        with av.open(str(p), mode="r") as container:
            if not container.streams.video:
                raise VideoDecodeError(f"{p}: no video stream in container")
            yield container, container.streams.video[0]
    except av.error.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise VideoDecodeError(f"{p}: cannot decode: {reason} ({type(exc).__name__})") from exc


def _to_square_gray(frame: av.VideoFrame, size: int) -> np.ndarray:
    # threads=1: PyAV >= 19 converts images on worker threads by default, and a process
    # forked after that (DataLoader workers) deadlocks on their locks.
    luma = frame.to_ndarray(format="gray", threads=1)
    h, w = luma.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = np.ascontiguousarray(luma[top : top + side, left : left + side])
    resized = av.VideoFrame.from_ndarray(crop, format="gray").reformat(
        width=size, height=size, interpolation="AREA", threads=1
    )
    return resized.to_ndarray()


def decode_gray(
    path: PathLike, size: int = DEFAULT_SIZE, max_frames: int | None = None
) -> np.ndarray:
    """Decode ``path`` under the module's policy into a ``(N, size, size)`` uint8 array.

    ``max_frames`` stops decoding early (the first ``max_frames`` frames), for
    previews and tests; it does not stride.
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    frames: list[np.ndarray] = []
    with _open_video(path) as (container, stream):
        for frame in container.decode(stream):
            frames.append(_to_square_gray(frame, size))
            if max_frames is not None and len(frames) >= max_frames:
                break
    if not frames:
        raise VideoDecodeError(f"{Path(path)}: video stream decoded to 0 frames")
    return np.stack(frames)


def probe(path: PathLike) -> VideoInfo:
    """Read frame count, rate and size from metadata, for listings and sanity checks."""
    with _open_video(path) as (container, stream):
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        n_frames = int(stream.frames or 0)
        if n_frames == 0 and fps > 0:
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / av.time_base
            else:
                seconds = 0.0
            n_frames = round(seconds * fps)
        ctx = stream.codec_context
        return VideoInfo(n_frames=n_frames, fps=fps, width=ctx.width, height=ctx.height)


def write_gray_video(
    path: PathLike,
    frames: np.ndarray,
    fps: int | Fraction = 25,
    *,
    crf: int = 18,
    preset: str = "medium",
    codec: str | None = None,
    threads: int = 0,
) -> Path:
    """Encode frames into an mp4 that :func:`decode_gray` (or any player) can read.

    Accepts ``(N, H, W)`` gray or ``(N, H, W, 3)`` RGB uint8.  H and W must be
    even because yuv420p subsamples chroma by two.  ``codec`` overrides the
    default encoder (libx264, or mpeg4 where the PyAV build lacks it); ``crf`` and
    ``preset`` only apply to libx264.  ``threads`` is the encoder's thread count
    (0: FFmpeg's choice, which depends on the machine's cores).  x264's output
    depends on its thread count, so ``threads=1`` writes the same bytes on every
    machine; it is also the fastest choice for small frames when every core
    already runs its own encoder.
    """
    arr = np.asarray(frames)
    if arr.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {arr.dtype}")
    if arr.ndim == 3:
        fmt = "gray"
    elif arr.ndim == 4 and arr.shape[-1] == 3:
        fmt = "rgb24"
    else:
        raise ValueError(f"frames must be (N,H,W) or (N,H,W,3), got shape {arr.shape}")
    n, height, width = arr.shape[:3]
    if n == 0:
        raise ValueError("frames is empty (N == 0)")
    if height % 2 or width % 2:
        raise ValueError(f"frame height and width must be even for yuv420p, got {height}x{width}")

    codec = codec or _ENCODER
    out = Path(path)
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if threads:
            stream.codec_context.thread_count = threads
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": preset}
        else:
            stream.bit_rate = 8_000_000
        for img in arr:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format=fmt)
            for packet in stream.encode(frame.reformat(format="yuv420p", threads=1)):
                container.mux(packet)
        for packet in stream.encode():  # flush delayed (B-)frames
            container.mux(packet)
    return out
