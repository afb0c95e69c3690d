"""Deterministic perturbations of test videos, applied at evaluation time (the ``robustness``
protocol).

A perturbation maps one video's decoded frames -- ``(N, H, W)`` uint8 grayscale, exactly what a
frame method sees and what a landmark extractor reads -- to perturbed frames.  Temporal
perturbations (frame rate, crops) are operations on the time axis and are applied to whatever a
method reads (frames, or a landmark track); spatial and codec perturbations change pixels, so a
landmark method's landmarks are extracted again from the perturbed frames (cached separately,
under the perturbation's name).

Every perturbation is a pure function of the frames, the model's clip length ``T`` and the
video's dataset-relative path (the seed of the noise), so a perturbed test set is the same on
every machine and in every run, whatever the order the videos are processed in.  They are data
(:data:`PERTURBATIONS`: name, kind, strength), not classes.

What each kind does:

- ``h264``: re-encoded with libx264 (PyAV, one thread, preset ``medium``, the given CRF,
  yuv420p, 25 fps) and decoded again: the codec's blocking and smoothing, as a re-upload would
  add.  CRF 23 is x264's default, 28 a visibly compressed stream, 35 a heavily compressed one.
- ``downscale``: area-averaged to 1/f of the size, then bilinearly back to the original size:
  the detail a low-resolution copy has lost.
- ``fps``: resampled from the dataset's 25 fps to the given rate by taking, for output frame
  ``i``, the source frame nearest in time (``round(i * 25 / fps)``): motion between frames grows
  and a clip of T frames spans more time.
- ``noise``: i.i.d. Gaussian noise of the given standard deviation in grey levels (0-255),
  rounded and clipped to uint8, drawn from a generator seeded by the video's path.
- ``crop``: only the centred ``ceil(f * T)`` frames of the video remain (the centre of the
  evaluation window); the evaluation clip then repeats its last frame to T frames, as for any
  video shorter than T (:func:`avbench.data.clips.take_clip`).
- ``hflip``: mirrored left to right.
- ``none``: the frames unchanged (the ``clean`` reference every other group is paired with).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SOURCE_FPS = 25  # the frame rate of NVFAIR's and the synthetic dataset's videos


@dataclass(frozen=True)
class Perturbation:
    """One perturbation and strength: ``name`` is its test group's name on the board."""

    name: str
    kind: str  # none | h264 | downscale | fps | noise | crop | hflip
    strength: float = 0.0  # CRF, downscale factor, frame rate, noise sigma, crop fraction
    summary: str = ""

    @property
    def temporal(self) -> bool:
        """Whether it acts on the time axis only (then it applies to landmark tracks as they are)."""
        return self.kind in ("none", "fps", "crop")


PERTURBATIONS: tuple[Perturbation, ...] = (
    Perturbation("clean", "none", 0, "the test videos as they are"),
    Perturbation("h264_crf23", "h264", 23, "re-encoded with H.264 at CRF 23 (x264's default)"),
    Perturbation("h264_crf28", "h264", 28, "re-encoded with H.264 at CRF 28"),
    Perturbation("h264_crf35", "h264", 35, "re-encoded with H.264 at CRF 35 (heavy compression)"),
    Perturbation("downscale_2", "downscale", 2, "downscaled to 1/2, then back to full size"),
    Perturbation("downscale_4", "downscale", 4, "downscaled to 1/4, then back to full size"),
    Perturbation("fps_15", "fps", 15, "resampled from 25 to 15 frames per second"),
    Perturbation("noise_5", "noise", 5, "Gaussian noise, sigma 5 grey levels"),
    Perturbation("noise_10", "noise", 10, "Gaussian noise, sigma 10 grey levels"),
    Perturbation("crop_half", "crop", 0.5, "only the centred T/2 frames, padded to T"),
    Perturbation("crop_quarter", "crop", 0.25, "only the centred T/4 frames, padded to T"),
    Perturbation("hflip", "hflip", 0, "mirrored left to right"),
)
BY_NAME = {p.name: p for p in PERTURBATIONS}


def get_perturbation(name: str) -> Perturbation:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(BY_NAME)}") from None


def seed_of(key: str, perturbation: Perturbation) -> int:
    """A 64-bit seed from the video's dataset-relative path and the perturbation's name."""
    digest = hashlib.sha256(f"{perturbation.name}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def apply(perturbation: Perturbation, frames: np.ndarray, clip_length: int, key: str) -> np.ndarray:
    """The perturbed frames of one video: ``frames`` (N, H, W) uint8 (or, for temporal kinds, any
    array indexed by time first, e.g. an (N, P, C) landmark track); ``key`` seeds the noise."""
    frames = np.asarray(frames)
    if len(frames) == 0:
        raise ValueError("cannot perturb an empty video (0 frames)")
    kind, strength = perturbation.kind, perturbation.strength
    if kind == "none":
        return frames
    if kind == "fps":
        return frames[resampled_indices(len(frames), strength)]
    if kind == "crop":
        return frames[centred_crop(len(frames), clip_length, strength)]
    _check_frames(frames, perturbation)
    if kind == "hflip":
        return np.ascontiguousarray(frames[:, :, ::-1])
    if kind == "noise":
        rng = np.random.default_rng(seed_of(key, perturbation))
        noisy = frames.astype(np.float32) + rng.normal(0.0, strength, frames.shape).astype(np.float32)
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if kind == "downscale":
        return downscaled(frames, int(strength))
    if kind == "h264":
        return reencoded(frames, int(strength))
    raise ValueError(f"perturbation {perturbation.name!r}: unknown kind {kind!r}")


def _check_frames(frames: np.ndarray, perturbation: Perturbation) -> None:
    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise ValueError(f"perturbation {perturbation.name!r} acts on frames (N, H, W) uint8; got "
                         f"{frames.dtype} {frames.shape}")


def resampled_indices(n_frames: int, fps: float) -> np.ndarray:
    """Source frame of each output frame when ``n_frames`` at 25 fps are shown at ``fps``: the
    nearest in time, ``round(i * 25 / fps)``, for as many output frames as the duration holds."""
    count = max(1, math.floor(n_frames * fps / SOURCE_FPS))
    idx = np.rint(np.arange(count) * (SOURCE_FPS / fps)).astype(np.int64)
    return np.minimum(idx, n_frames - 1)


def centred_crop(n_frames: int, clip_length: int, fraction: float) -> slice:
    """The centred ``ceil(fraction * T)`` frames of the evaluation window (all of a shorter video)."""
    keep = max(1, math.ceil(fraction * clip_length))
    if keep >= n_frames:
        return slice(0, n_frames)
    start = (n_frames - keep) // 2
    return slice(start, start + keep)


def downscaled(frames: np.ndarray, factor: int) -> np.ndarray:
    """Area-averaged to 1/``factor`` of each side, then bilinearly back to the original size."""
    import torch
    import torch.nn.functional as F

    n, h, w = frames.shape
    x = torch.from_numpy(np.array(frames, dtype=np.float32))[:, None]  # a private copy: the cache is read-only
    small = F.interpolate(x, size=(max(1, h // factor), max(1, w // factor)), mode="area")
    back = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return back[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()


def reencoded(frames: np.ndarray, crf: int) -> np.ndarray:
    """Encoded to H.264 (libx264, CRF ``crf``, one thread) in memory and decoded back to gray."""
    import av

    n, h, w = frames.shape
    if h % 2 or w % 2:
        raise ValueError(f"H.264 with yuv420p needs even frame sizes; got {w}x{h}")
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=SOURCE_FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.thread_count = 1  # x264's output then depends on nothing but its input and options
        stream.options = {"crf": str(crf), "preset": "medium"}
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="gray")
            container.mux(stream.encode(picture.reformat(format="yuv420p")))
        container.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer, mode="r") as container:
        decoded = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    if len(decoded) != n:
        raise ValueError(f"H.264 round trip returned {len(decoded)} frames for {n}")
    return np.stack(decoded).astype(np.uint8)


def perturbed_arrays(perturbation: Perturbation, arrays: dict, keys: dict, clip_length: int,
                     progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> dict:
    """``arrays`` (label -> time-first array) with ``perturbation`` applied to each; ``keys``
    gives each label's dataset-relative path (the noise seed).

    Videos are perturbed on ``workers`` threads (default: one per core): the codec, numpy and
    torch release the GIL, and every video's result depends on that video alone, so the output
    is the same for any number of threads."""
    from concurrent.futures import ThreadPoolExecutor

    labels = list(arrays)
    workers = workers or max(1, min(16, os.cpu_count() or 1))
    out = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = pool.map(lambda label: apply(perturbation, arrays[label], clip_length, keys[label]), labels)
        for k, (label, result) in enumerate(zip(labels, done)):
            out[label] = result
            if progress:
                progress(k + 1, len(labels))
    return out


__all__ = ["PERTURBATIONS", "Perturbation", "apply", "get_perturbation", "perturbed_arrays"]
