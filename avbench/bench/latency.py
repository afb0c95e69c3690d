"""End-to-end verification latency of one video: decode, (landmarks,) embed.

What a deployment pays per query video: decode it, cut the centred evaluation clip,
track landmarks on the clip's frames for a landmark method, and embed the clip (batch
of one).  Comparing a raw-frame method with a landmark method quantifies the F5C
paper's claim of "no per-frame landmark-tracking overhead" (Table II, column RT).
Scoring against an enrolled embedding is one dot product and is left out.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from avbench.data.clips import eval_start, take_clip
from avbench.data.video import decode_gray
from avbench.landmarks.fill import fill_missing
from avbench.specs import InputKind


def _best_ms(fn, repeats: int, device: str):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 1000 * best, out


def verification_latency(method, method_name: str, video: Path, clip_length: int, device: str,
                         extractor=None, repeats: int = 5) -> dict:
    """Best-of-``repeats`` milliseconds per stage for one video (after one untimed run)."""
    method = method.to(device).eval()
    landmark = method.input_kind == InputKind.LANDMARKS
    if landmark and extractor is None:
        raise ValueError(f"{method_name} reads landmarks: pass an extractor")
    decode_ms, frames = _best_ms(lambda: decode_gray(video), repeats, "cpu")
    clip = take_clip(frames, eval_start(len(frames), clip_length), clip_length)
    landmarks_ms = None
    if landmark:
        landmarks_ms, points = _best_ms(lambda: fill_missing(np.asarray(extractor(np.asarray(clip)), np.float32)),
                                        repeats, "cpu")
        x = torch.from_numpy(points)[None].to(device)
    else:
        x = torch.from_numpy(np.ascontiguousarray(clip))[None, :, None].to(device).float().div_(255)
    with torch.inference_mode():
        method.embed(x)  # warm-up (cuDNN, allocator)
        embed_ms, _ = _best_ms(lambda: method.embed(x), repeats, device)
    return {"benchmark": "verification_latency", "method": method_name, "input": method.input_kind.value,
            "device": device, "clip_length": clip_length, "video_frames": len(frames),
            "decode_ms": decode_ms, "landmarks_ms": landmarks_ms, "embed_ms": embed_ms,
            "total_ms": decode_ms + (landmarks_ms or 0.0) + embed_ms}
