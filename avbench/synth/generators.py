"""Reenactment generators: transfer a driver's motion onto a target, lossily.

Every generator follows the structure of real one-shot reenactment models: take
the target's still image, estimate a motion representation from the driver,
warp the still image with a dense field derived from it, then re-synthesise what
a warp cannot (eyes closing, the mouth opening).  They differ in the motion
representation, which is what makes cross-generator transfer a real test:

* ``facevid2vid``: 10 sparse keypoints, slightly jittered, as in keypoint-based
  models; detail between keypoints (brow asymmetry, lip shape) is interpolated away.
* ``tps``: 20 control points and a thin-plate-spline warp, smoothing local detail
  and damping amplitude a little; mild blur.
* ``lia``: the motion is projected onto a 6-dimensional latent basis shared by all
  identities (losing brow asymmetry, head roll and gaze) and smoothed in time before
  rendering at reduced resolution.
* ``original``: the real (driving) video, all motion transferred exactly.

The ground-truth landmarks of a frame are the target's landmarks moved by the
same transfer that moved its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from avbench.synth import motion as M
from avbench.synth.face import (
    EYE_L,
    EYE_R,
    N_LANDMARKS,
    Appearance,
    neutral_landmarks,
)
from avbench.synth.render import SUPERSAMPLE, background, draw_features, render, skin_texture
from avbench.synth.tps import TPS

GENERATORS = ("facevid2vid", "tps", "lia")
KEYPOINTS_10 = (19, 24, 37, 44, 30, 48, 54, 51, 57, 8)
CONTROL_20 = (0, 4, 8, 12, 16, 17, 21, 22, 26, 37, 41, 44, 46, 30, 48, 54, 51, 57, 62, 66)
_GRID = 16  # the dense warp is evaluated on a coarse grid, then upsampled
_CHUNK = 8  # frames whose splines are fitted together: their arrays stay in the CPU cache


@dataclass
class Target:
    """A target's still image and the geometry motion is applied to."""

    app: Appearance
    size: int
    neutral: np.ndarray  # (68, 2)
    image: np.ndarray  # (size, size, 3) float32 in [0, 1]
    basis: np.ndarray  # (n_channels, 68, 2) displacement per unit of each expression channel
    depth: np.ndarray  # (68,) how far each point sticks out (parallax under head rotation)
    face_w: float


def make_target(app: Appearance, size: int) -> Target:
    lm = neutral_landmarks(app.shape, size)
    big = size * SUPERSAMPLE
    img = render(app, lm, (0.0, 0.0), size, skin_texture(app, big), background(app, big),
                 np.array([[1.0, 0, 0], [0, 1.0, 0]]))
    face_w = float(lm[16, 0] - lm[0, 0])
    h = float(lm[8, 1] - lm[19:25, 1].mean())
    basis = np.zeros((len(M.CHANNELS), N_LANDMARKS, 2), np.float32)
    # Jaw: lower lip, inner lower lip and chin go down; corners a little in.
    lower_outer, lower_inner = [55, 56, 57, 58, 59], [65, 66, 67]
    basis[M.JAW, lower_outer, 1] = 0.13 * h
    basis[M.JAW, lower_inner, 1] = 0.14 * h
    basis[M.JAW, [49, 50, 51, 52, 53, 61, 62, 63], 1] = -0.012 * h
    basis[M.JAW, 3:14, 1] = 0.10 * h * np.sin(np.linspace(0.2, np.pi - 0.2, 11))
    basis[M.JAW, [48, 60], 0], basis[M.JAW, [54, 64], 0] = 0.02 * face_w, -0.02 * face_w
    # Smile: mouth corners out and up, upper lip lifts.
    basis[M.SMILE, [48, 60], 0], basis[M.SMILE, [54, 64], 0] = -0.06 * face_w, 0.06 * face_w
    basis[M.SMILE, [48, 54, 60, 64], 1] = -0.05 * h
    basis[M.SMILE, [49, 53, 59, 55], 1] = -0.025 * h
    # Brows: raised most in the middle.
    arch = np.array([0.7, 0.9, 1.0, 0.9, 0.7])
    basis[M.BROW_R, list(range(17, 22)), 1] = -0.08 * h * arch
    basis[M.BROW_L, list(range(22, 27)), 1] = -0.08 * h * arch
    # Blink: upper lids down onto the lower lids.
    for up, low in ((37, 41), (38, 40), (43, 47), (44, 46)):
        basis[M.BLINK, up] = 0.92 * (lm[low] - lm[up])
    depth = np.full(N_LANDMARKS, 0.35, np.float32)
    depth[0:17] = 0.05 + 0.25 * np.sin(np.linspace(0, np.pi, 17))
    depth[27:36] = np.array([0.6, 0.75, 0.9, 1.0, 0.8, 0.85, 0.9, 0.85, 0.8])
    depth[48:68] = 0.6
    return Target(app, size, lm, img.astype(np.float32) / 255.0, basis, depth, face_w)


def animate(target: Target, motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks (T, 68, 2) of the target moving with ``motion``, and with eyes open."""
    expr = target.neutral[None] + np.einsum("tc,cpk->tpk", motion[:, :M.YAW], target.basis[:M.YAW])
    no_blink = motion.copy()
    no_blink[:, M.BLINK] = 0
    expr_open = target.neutral[None] + np.einsum("tc,cpk->tpk", no_blink[:, :M.YAW], target.basis[:M.YAW])
    return _pose(target, expr, motion), _pose(target, expr_open, motion)


def _pose(target: Target, pts: np.ndarray, motion: np.ndarray) -> np.ndarray:
    yaw, pitch, roll = motion[:, M.YAW, None], motion[:, M.PITCH, None], motion[:, M.ROLL, None]
    c = target.neutral.mean(0)
    w = target.face_w
    x = pts[..., 0] - c[0] + yaw * (0.25 + 0.55 * target.depth) * w
    y = pts[..., 1] - c[1] + pitch * (0.2 + 0.5 * target.depth) * w
    x = x * (1 - 0.25 * yaw**2)  # foreshortening
    cos, sin = np.cos(roll), np.sin(roll)
    return np.stack([c[0] + cos * x - sin * y, c[1] + sin * x + cos * y], -1).astype(np.float32)


def _anchors(size: int) -> np.ndarray:
    t = np.linspace(0, size, 5)
    edge = [(v, 0) for v in t] + [(v, size) for v in t] + [(0, v) for v in t[1:-1]] + [(size, v) for v in t[1:-1]]
    return np.asarray(edge, np.float64)


def _with_anchors(points: np.ndarray, size: int) -> np.ndarray:
    """``points`` (``(k, 2)`` or a stack ``(T, k, 2)``) followed by the frame-border anchors,
    which pin the warp to the identity at the border (the background does not move)."""
    anchors = _anchors(size)
    return np.concatenate([points, np.broadcast_to(anchors, points.shape[:-2] + anchors.shape)], -2)


@dataclass(frozen=True)
class Generator:
    name: str
    control: tuple[int, ...] | None  # landmark indices the motion is carried by; None = all
    jitter: float = 0.0  # keypoint noise in pixels (per-frame detection noise)
    gain: float = 1.0  # amplitude of transferred deformation
    latent_dim: int = 0  # > 0: project motion onto this many latent directions
    latent_smooth: float = 0.0  # EMA factor on the latent trajectory
    blur: float = 0.0  # output blur sigma (pixels)
    render_scale: float = 1.0  # < 1: render smaller and upsample

    def transfer_motion(self, motion: np.ndarray) -> np.ndarray:
        if not self.latent_dim:
            return motion
        basis = _latent_basis(self.latent_dim)
        mean = motion.mean(0, keepdims=True)
        z = (motion - mean) @ basis
        for t in range(1, len(z)):
            z[t] = self.latent_smooth * z[t - 1] + (1 - self.latent_smooth) * z[t]
        return (mean + z @ basis.T).astype(np.float32)

    def frames(self, target: Target, motion: np.ndarray, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
        """Render the target driven by ``motion``: RGB uint8 (T, H, W, 3) and landmarks (T, 68, 2)."""
        motion = self.transfer_motion(motion)
        lm_full, lm_open_full = animate(target, motion)
        moved = self._carried(target, lm_full, rng)
        lm, lm_open = self._landmarks(target, moved, lm_full, lm_open_full)
        shifts = _inverse_shifts(target, moved, self._control())
        out = np.empty((len(motion), target.size, target.size, 3), np.uint8)
        for t in range(len(motion)):
            img = _warp(target, shifts[t])
            gaze = (float(motion[t, M.GAZE_X]), float(motion[t, M.GAZE_Y]))
            draw_features(img, target.app, lm[t], lm_open[t], gaze, 1, target.face_w)
            out[t] = self._finish(img)
        return out, lm

    def _control(self) -> np.ndarray:
        return np.arange(N_LANDMARKS) if self.control is None else np.asarray(self.control)

    def _carried(self, target: Target, lm_full: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The control points this generator's motion representation keeps, per frame
        ``(T, k, 2)``: damped by ``gain`` and, like a keypoint detector, noisy."""
        ctrl = self._control()
        neutral = target.neutral[ctrl]
        moved = neutral + self.gain * (lm_full[:, ctrl] - neutral)
        if self.jitter:
            moved = moved + rng.normal(0, self.jitter, moved.shape)
        return moved

    def _landmarks(self, target: Target, moved: np.ndarray, lm_full: np.ndarray,
                   lm_open_full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ground-truth landmarks ``(T, 68, 2)`` and the same with eyes open.

        With sparse control points the landmarks move as the warp moves the pixels
        under them (the forward spline), so they stay on the rendered face; the open
        eyes add back only the lid motion the blink channel took away."""
        if self.control is None:  # every landmark is carried: no interpolation needed
            return moved.astype(np.float32), lm_open_full
        src = _with_anchors(target.neutral[self._control()].astype(np.float64), target.size)
        lm = TPS(src, _with_anchors(moved, target.size))(target.neutral).astype(np.float32)
        lm_open = lm.copy()
        for eye in (EYE_R, EYE_L):
            lm_open[:, eye] += lm_open_full[:, eye] - lm_full[:, eye]
        return lm, lm_open

    def _finish(self, img: np.ndarray) -> np.ndarray:
        """What the generator's decoder does to a frame (lower resolution, blur), as uint8."""
        size = img.shape[0]
        if self.render_scale < 1:
            small = int(round(size * self.render_scale))
            img = cv2.resize(cv2.resize(img, (small, small), interpolation=cv2.INTER_AREA),
                             (size, size), interpolation=cv2.INTER_LINEAR)
        if self.blur:
            img = cv2.GaussianBlur(img, (0, 0), self.blur)
        return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)


def _inverse_shifts(target: Target, moved: np.ndarray, ctrl: np.ndarray) -> np.ndarray:
    """Per frame, where each output pixel samples the still image from, as a displacement
    on a coarse ``_GRID`` x ``_GRID`` grid ``(T, _GRID, _GRID, 2)``: one spline per frame
    from the moved control points (and fixed frame anchors) back to the neutral ones,
    fitted a few frames at a time."""
    size = target.size
    src = _with_anchors(target.neutral[ctrl].astype(np.float64), size)
    dst = _with_anchors(moved, size)
    gy, gx = np.mgrid[0:_GRID, 0:_GRID].astype(np.float64) * (size - 1) / (_GRID - 1)
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    shift = np.concatenate([TPS(dst[i:i + _CHUNK], src)(grid) - grid
                            for i in range(0, len(dst), _CHUNK)])
    return shift.astype(np.float32).reshape(len(moved), _GRID, _GRID, 2)


def _warp(target: Target, shift: np.ndarray) -> np.ndarray:
    """The still image warped by one frame's coarse displacement.

    The (smooth, zero-at-the-border) displacement is upsampled, not the coordinates,
    so no motion is exactly the identity whatever the resize convention."""
    size = target.size
    maps = cv2.resize(shift, (size, size), interpolation=cv2.INTER_LINEAR) + _pixel_grid(size)
    return cv2.remap(target.image, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)


@lru_cache(maxsize=4)
def _pixel_grid(size: int) -> np.ndarray:
    py, px = np.mgrid[0:size, 0:size].astype(np.float32)
    return np.stack([px, py], -1)


def _latent_basis(dim: int) -> np.ndarray:
    """A fixed orthonormal basis of ``dim`` motion directions (the same for every video).

    Like a learned latent motion space it keeps the dominant, symmetric motions (jaw,
    lip corners, both brows together, blinks, head yaw and pitch) and loses the rest
    (brow asymmetry, head roll, gaze); a little mixing between directions stands for
    imperfect disentanglement.
    """
    directions = np.zeros((len(M.CHANNELS), 6))
    directions[M.JAW, 0] = directions[M.SMILE, 1] = 1.0
    directions[[M.BROW_L, M.BROW_R], 2] = np.sqrt(0.5)
    directions[M.BLINK, 3] = directions[M.YAW, 4] = directions[M.PITCH, 5] = 1.0
    mixing = np.random.default_rng(20240).normal(0, 0.08, directions.shape)
    q, _ = np.linalg.qr(directions + mixing)
    return q[:, :dim]


REGISTRY: dict[str, Generator] = {
    "facevid2vid": Generator("facevid2vid", control=KEYPOINTS_10, jitter=0.25),
    "tps": Generator("tps", control=CONTROL_20, gain=0.9, blur=0.6),
    "lia": Generator("lia", control=None, latent_dim=6, latent_smooth=0.35, render_scale=0.75),
    "original": Generator("original", control=None),
}
