"""Target faces: 68-point geometry and appearance, independent of any motion.

A target is what a reenactment generator renders *onto*: face shape and
proportions, skin tone and texture, hair, background and lighting.  Nothing here
moves; :mod:`avbench.synth.motion` says how a driver moves, and
:mod:`avbench.synth.generators` transfers that motion onto a target.

Landmarks follow the 68-point iBUG layout (jaw 0-16, brows 17-26, nose 27-35,
eyes 36-47, mouth 48-67) in image coordinates of a ``size`` x ``size`` frame, with
x to the right and y down.  Index 36 is the outer corner of the eye on the image
left (the subject's right eye).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_LANDMARKS = 68
JAW = slice(0, 17)
BROW_R, BROW_L = slice(17, 22), slice(22, 27)  # image left, image right
NOSE_BRIDGE, NOSTRILS = slice(27, 31), slice(31, 36)
EYE_R, EYE_L = slice(36, 42), slice(42, 48)
MOUTH_OUTER, MOUTH_INNER = slice(48, 60), slice(60, 68)


@dataclass(frozen=True)
class FaceShape:
    """Proportions of a face, as fractions of the frame size."""

    width: float = 0.50  # jaw width at ear level
    height: float = 0.56  # brow line to chin
    chin: float = 0.55  # 0 = pointed, 1 = square jaw
    eye_spacing: float = 0.40  # between eye centres, as a fraction of width
    eye_width: float = 0.19  # as a fraction of width
    eye_open: float = 0.38  # eye height / eye width
    brow_height: float = 0.09  # brow above the eye, as a fraction of height
    nose_length: float = 0.30  # as a fraction of height
    mouth_width: float = 0.40  # as a fraction of width
    mouth_y: float = 0.70  # mouth line, as a fraction of height below the brows
    lip_thickness: float = 0.045  # as a fraction of height
    centre_y: float = 0.53  # face centre, as a fraction of frame height


@dataclass(frozen=True)
class Appearance:
    """Everything a target looks like, drawn once per target."""

    shape: FaceShape
    skin: tuple[float, float, float]  # RGB in [0, 1]
    lips: tuple[float, float, float]
    hair: tuple[float, float, float]
    iris: tuple[float, float, float]
    background: tuple[tuple[float, float, float], tuple[float, float, float]]  # gradient ends
    hair_style: int  # 0 short, 1 long, 2 bald-ish, 3 fringe
    light_dir: tuple[float, float]  # unit vector in the image plane, towards the light
    light_strength: float  # 0 = flat, 0.5 = strong side light
    texture_seed: int
    texture_strength: float  # amplitude of skin texture in grey levels / 255


def random_appearance(rng: np.random.Generator) -> Appearance:
    """Draw a target: every attribute independent of every other and of any driver."""
    shape = FaceShape(
        width=rng.uniform(0.46, 0.56), height=rng.uniform(0.52, 0.60), chin=rng.uniform(0.3, 0.8),
        eye_spacing=rng.uniform(0.37, 0.44), eye_width=rng.uniform(0.17, 0.21),
        eye_open=rng.uniform(0.32, 0.42), brow_height=rng.uniform(0.07, 0.11),
        nose_length=rng.uniform(0.26, 0.34), mouth_width=rng.uniform(0.34, 0.46),
        mouth_y=rng.uniform(0.66, 0.74), lip_thickness=rng.uniform(0.035, 0.055),
        centre_y=rng.uniform(0.51, 0.55),
    )
    tone = rng.uniform(0.25, 0.95)  # dark to light skin
    skin = (0.30 + 0.62 * tone, 0.20 + 0.55 * tone * rng.uniform(0.85, 1.0), 0.14 + 0.50 * tone * rng.uniform(0.75, 1.0))
    lips = tuple(float(np.clip(c * f, 0, 1)) for c, f in zip(skin, (0.85, 0.55, 0.58)))
    hair_v = rng.uniform(0.05, 0.6)
    hair = (hair_v * rng.uniform(0.8, 1.3), hair_v * rng.uniform(0.6, 1.0), hair_v * rng.uniform(0.4, 0.8))
    iris_v = rng.uniform(0.15, 0.5)
    iris = (iris_v * rng.uniform(0.6, 1.2), iris_v * rng.uniform(0.6, 1.2), iris_v * rng.uniform(0.6, 1.4))
    bg1 = tuple(rng.uniform(0.2, 0.9, 3))
    bg2 = tuple(np.clip(np.array(bg1) + rng.normal(0, 0.15, 3), 0, 1))
    angle = rng.uniform(0, 2 * np.pi)
    return Appearance(
        shape=shape, skin=tuple(map(float, skin)), lips=lips,
        hair=tuple(float(np.clip(c, 0, 1)) for c in hair),
        iris=tuple(float(np.clip(c, 0, 1)) for c in iris),
        background=(tuple(map(float, bg1)), tuple(map(float, bg2))),
        hair_style=int(rng.integers(0, 4)), light_dir=(float(np.cos(angle)), float(np.sin(angle))),
        light_strength=float(rng.uniform(0.1, 0.4)), texture_seed=int(rng.integers(2**31)),
        texture_strength=float(rng.uniform(0.02, 0.06)),
    )


def neutral_landmarks(shape: FaceShape, size: int) -> np.ndarray:
    """The target's resting face: (68, 2) float32 pixel coordinates, frontal pose."""
    s = float(size)
    w, h = shape.width * s, shape.height * s
    cx, cy = 0.5 * s, shape.centre_y * s
    brow_y = cy - 0.42 * h
    pts = np.zeros((N_LANDMARKS, 2), np.float64)

    # Jaw: from the image-left ear level, round the chin, to the image-right ear level.
    top_y = brow_y + 0.22 * h
    chin_y = brow_y + 1.0 * h
    for i in range(17):
        t = i / 16.0  # 0..1 left to right
        a = np.pi * (1.0 - t)  # pi..0
        x = np.cos(a)
        # A superellipse-like profile: square jaws keep their width lower down.
        depth = np.sin(a) ** (0.6 + 0.8 * (1 - shape.chin))
        pts[i] = (cx + 0.5 * w * x * (1 - 0.12 * depth * (1 - shape.chin)), top_y + (chin_y - top_y) * depth)

    eye_dx = 0.5 * shape.eye_spacing * w
    eye_y = brow_y + shape.brow_height * h + 0.03 * h
    ew = shape.eye_width * w
    eh = shape.eye_open * ew
    for base, sign in ((36, -1), (42, 1)):
        ex = cx + sign * eye_dx
        outer, inner = ex + sign * 0.5 * ew, ex - sign * 0.5 * ew
        first, last = (outer, inner) if sign < 0 else (inner, outer)
        xs = np.linspace(first, last, 4)
        pts[base + 0] = (first, eye_y)
        pts[base + 1] = (xs[1], eye_y - 0.5 * eh)
        pts[base + 2] = (xs[2], eye_y - 0.5 * eh)
        pts[base + 3] = (last, eye_y)
        pts[base + 4] = (xs[2], eye_y + 0.45 * eh)
        pts[base + 5] = (xs[1], eye_y + 0.45 * eh)

    for base, sign in ((17, -1), (22, 1)):
        ex = cx + sign * eye_dx
        xs = np.linspace(ex - 0.65 * ew, ex + 0.65 * ew, 5)
        if sign < 0:
            xs = xs  # left to right in the image for both brows
        arch = np.array([0.2, 0.8, 1.0, 0.8, 0.3]) if sign > 0 else np.array([0.3, 0.8, 1.0, 0.8, 0.2])
        for k in range(5):
            pts[base + k] = (xs[k], brow_y - 0.035 * h * arch[k])

    nose_top = eye_y - 0.01 * h
    nose_tip = nose_top + shape.nose_length * h
    for k in range(4):
        pts[27 + k] = (cx, nose_top + (nose_tip - nose_top) * k / 3)
    nw = 0.11 * w
    for k, dx in enumerate((-1.0, -0.5, 0.0, 0.5, 1.0)):
        pts[31 + k] = (cx + dx * nw, nose_tip + 0.035 * h * (1 - 0.5 * abs(dx)))

    mouth_y = brow_y + shape.mouth_y * h
    mw = 0.5 * shape.mouth_width * w
    lt = shape.lip_thickness * h
    outer = [(-1.0, 0.0), (-0.6, -0.55), (-0.2, -0.8), (0.0, -0.7), (0.2, -0.8), (0.6, -0.55),
             (1.0, 0.0), (0.6, 0.75), (0.25, 1.0), (0.0, 1.05), (-0.25, 1.0), (-0.6, 0.75)]
    for k, (dx, dy) in enumerate(outer):
        pts[48 + k] = (cx + dx * mw, mouth_y + dy * lt)
    inner = [(-0.85, 0.0), (-0.35, -0.12), (0.0, -0.1), (0.35, -0.12), (0.85, 0.0),
             (0.35, 0.12), (0.0, 0.1), (-0.35, 0.12)]
    for k, (dx, dy) in enumerate(inner):
        pts[60 + k] = (cx + dx * mw, mouth_y + dy * lt)
    return pts.astype(np.float32)
