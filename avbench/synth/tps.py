"""Thin-plate splines in 2D: the smooth warp behind every synthetic generator."""

from __future__ import annotations

import numpy as np


def _kernel(d2: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        k = d2 * np.log(d2)
    return np.nan_to_num(k)


class TPS:
    """A thin-plate spline mapping ``src`` points onto ``dst`` points.

    ``reg = 0`` interpolates exactly; the small default relaxes it a little, which keeps
    the warp smooth when control points nearly coincide (a closing eye).
    """

    def __init__(self, src: np.ndarray, dst: np.ndarray, reg: float = 1e-3):
        src = np.asarray(src, np.float64)
        dst = np.asarray(dst, np.float64)
        n = len(src)
        self.scale = float(np.abs(src).max()) or 1.0
        s = src / self.scale
        K = _kernel(((s[:, None] - s[None]) ** 2).sum(-1)) + reg * np.eye(n)
        P = np.hstack([np.ones((n, 1)), s])
        A = np.zeros((n + 3, n + 3))
        A[:n, :n], A[:n, n:], A[n:, :n] = K, P, P.T
        b = np.zeros((n + 3, 2))
        b[:n] = dst
        self.src = s
        self.coef = np.linalg.solve(A, b)

    def __call__(self, pts: np.ndarray) -> np.ndarray:
        p = np.asarray(pts, np.float64) / self.scale
        K = _kernel(((p[:, None] - self.src[None]) ** 2).sum(-1))
        P = np.hstack([np.ones((len(p), 1)), p])
        return K @ self.coef[: len(self.src)] + P @ self.coef[len(self.src):]
