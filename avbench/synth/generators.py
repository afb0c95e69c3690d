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

import cv2
import numpy as np

from avbench.synth import motion as M
from avbench.synth.face import (
    EYE_L, EYE_R, N_LANDMARKS, Appearance,
    neutral_landmarks,
)
from avbench.synth.render import SUPERSAMPLE, background, draw_features, render, skin_texture
from avbench.synth.tps import TPS

GENERATORS = ("facevid2vid", "tps", "lia")
KEYPOINTS_10 = (19, 24, 37, 44, 30, 48, 54, 51, 57, 8)
CONTROL_20 = (0, 4, 8, 12, 16, 17, 21, 22, 26, 37, 41, 44, 46, 30, 48, 54, 51, 57, 62, 66)
_GRID = 16  # the dense warp is evaluated on a coarse grid, then upsampled


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
        size = target.size
        anchors = _anchors(size)
        ctrl = np.arange(N_LANDMARKS) if self.control is None else np.asarray(self.control)
        neutral_c = target.neutral[ctrl].astype(np.float64)
        gy, gx = np.mgrid[0:_GRID, 0:_GRID].astype(np.float64) * (size - 1) / (_GRID - 1)
        grid = np.stack([gx.ravel(), gy.ravel()], 1)
        py, px = np.mgrid[0:size, 0:size].astype(np.float32)
        pixel_grid = np.stack([px, py], -1)
        out = np.empty((len(motion), size, size, 3), np.uint8)
        gt = np.empty((len(motion), N_LANDMARKS, 2), np.float32)
        src_all = np.vstack([neutral_c, anchors])
        for t in range(len(motion)):
            moved = target.neutral[ctrl] + self.gain * (lm_full[t, ctrl] - target.neutral[ctrl])
            if self.jitter:
                moved = moved + rng.normal(0, self.jitter, moved.shape)
            dst = np.vstack([moved, anchors])
            if self.control is None:  # every landmark is carried: no interpolation needed
                lm, lm_open = moved.astype(np.float32), lm_open_full[t]
            else:
                forward = TPS(src_all, dst)
                lm = forward(target.neutral).astype(np.float32)
                lm_open = lm.copy()
                for eye in (EYE_R, EYE_L):
                    lm_open[eye] = forward(target.neutral[eye]) + (lm_open_full[t, eye] - lm_full[t, eye])
            inverse = TPS(dst, src_all)
            # Upsample the (smooth, zero-at-the-border) displacement, not the coordinates,
            # so no motion is exactly the identity whatever the resize convention.
            shift = (inverse(grid) - grid).astype(np.float32).reshape(_GRID, _GRID, 2)
            maps = cv2.resize(shift, (size, size), interpolation=cv2.INTER_LINEAR) + pixel_grid
            img = cv2.remap(target.image, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT)
            draw_features(img, target.app, lm, lm_open, (float(motion[t, M.GAZE_X]), float(motion[t, M.GAZE_Y])),
                          1, target.face_w)
            if self.render_scale < 1:
                small = int(round(size * self.render_scale))
                img = cv2.resize(cv2.resize(img, (small, small), interpolation=cv2.INTER_AREA),
                                 (size, size), interpolation=cv2.INTER_LINEAR)
            if self.blur:
                img = cv2.GaussianBlur(img, (0, 0), self.blur)
            out[t] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
            gt[t] = lm
        return out, gt


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
