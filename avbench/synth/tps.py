"""Thin-plate splines in 2D: the smooth warp behind every synthetic generator.

A spline may be a stack: ``src`` and ``dst`` of shape ``(..., n, 2)`` fit one spline
per leading index in one batched solve.  A generator needs a spline per frame of
every video; fitting and evaluating them in stacks, instead of in a Python loop over
frames, is one of the things that keep writing the dataset within minutes.
"""

from __future__ import annotations

import numpy as np


def _kernel(d2: np.ndarray) -> np.ndarray:
    """The radial basis ``r^2 log r^2``, which is 0 (its limit) where ``r = 0``."""
    k = np.where(d2 > 0, d2, 1.0)
    np.log(k, out=k)
    k *= d2
    return k


def _squared_distances(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``|p_i - q_j|^2`` for stacks ``p (..., m, 2)`` and ``q (..., n, 2)``: ``(..., m, n)``.

    Differences of coordinates, not ``|p|^2 + |q|^2 - 2 p.q``, so a point on a control
    point is at distance exactly 0; on contiguous x and y planes, which is several times
    faster than broadcasting the interleaved pairs."""
    px, py = np.ascontiguousarray(p[..., 0]), np.ascontiguousarray(p[..., 1])
    qx, qy = np.ascontiguousarray(q[..., 0]), np.ascontiguousarray(q[..., 1])
    d2 = px[..., :, None] - qx[..., None, :]
    dy = py[..., :, None] - qy[..., None, :]
    d2 *= d2
    dy *= dy
    d2 += dy
    return d2


class TPS:
    """A thin-plate spline mapping ``src`` points onto ``dst`` points (or a stack of them).

    ``reg = 0`` interpolates exactly; the small default relaxes it a little, which keeps
    the warp smooth when control points nearly coincide (a closing eye).  Coordinates
    are divided by the largest ``|src|`` of each spline, so the system is equally well
    conditioned at any frame size.
    """

    def __init__(self, src: np.ndarray, dst: np.ndarray, reg: float = 1e-3):
        src = np.asarray(src, np.float64)
        dst = np.asarray(dst, np.float64)
        n = src.shape[-2]
        scale = np.abs(src).max(axis=(-2, -1), keepdims=True)
        self.scale = np.where(scale > 0, scale, 1.0)
        s = src / self.scale
        A = np.zeros(src.shape[:-2] + (n + 3, n + 3))
        A[..., :n, :n] = _kernel(_squared_distances(s, s)) + reg * np.eye(n)
        A[..., :n, n] = A[..., n, :n] = 1.0
        A[..., :n, n + 1:] = s
        A[..., n + 1:, :n] = np.swapaxes(s, -1, -2)
        b = np.zeros(np.broadcast_shapes(src.shape[:-2], dst.shape[:-2]) + (n + 3, 2))
        b[..., :n, :] = dst
        self.src = s
        self.coef = np.linalg.solve(np.broadcast_to(A, b.shape[:-2] + A.shape[-2:]), b)

    def __call__(self, pts: np.ndarray) -> np.ndarray:
        """Map ``pts`` (``(m, 2)``, or a stack matching the splines') through every spline."""
        p = np.asarray(pts, np.float64) / self.scale
        n = self.src.shape[-2]
        K = _kernel(_squared_distances(p, self.src))
        affine = self.coef[..., n:n + 1, :] + p @ self.coef[..., n + 1:, :]
        return K @ self.coef[..., :n, :] + affine
