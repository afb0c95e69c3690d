"""What a frame without a detected face becomes (the fill policy), in one place.

Extractors return NaN rows for frames where no face was found ("failure to acquire");
those frames are counted and reported, never dropped, because dropping frames would
shorten clips and change their timing.  Policy ``interpolate`` (version 1): each
missing frame takes, per coordinate, the linear interpolation between the nearest
detected frames before and after it; missing frames before the first or after the
last detection repeat that detection.  A video with no detection in any frame cannot
be filled: it is skipped and reported.
"""

from __future__ import annotations

import numpy as np

POLICY = "interpolate"
POLICY_VERSION = 1


def missing_frames(landmarks: np.ndarray) -> np.ndarray:
    """(N,) bool: frames without a face (any NaN coordinate)."""
    return np.isnan(landmarks.reshape(len(landmarks), -1)).any(axis=1)


def fill_missing(landmarks: np.ndarray) -> np.ndarray:
    """(N, P, C) with NaN rows -> (N, P, C) without; raises ValueError if every frame is missing."""
    miss = missing_frames(landmarks)
    if not miss.any():
        return landmarks
    if miss.all():
        raise ValueError("no face was detected in any frame")
    n = len(landmarks)
    flat = landmarks.reshape(n, -1)
    t = np.arange(n)
    good = ~miss
    out = flat.copy()
    for k in range(flat.shape[1]):  # np.interp holds the ends constant: the policy above
        out[miss, k] = np.interp(t[miss], t[good], flat[good, k])
    return out.reshape(landmarks.shape).astype(landmarks.dtype)


__all__ = ["POLICY", "POLICY_VERSION", "fill_missing", "missing_frames"]
