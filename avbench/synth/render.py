"""Draw a face image from 68 landmarks and a target's appearance.

The renderer is deliberately simple 2D compositing (OpenCV polygons, blurred
masks, a directional light), but it draws everything a face detector and a
landmark tracker look for: a shaded skin oval with hair around it, eyes with
sclera, iris and lids, brows, a nose with nostrils, lips and a mouth cavity that
darkens as the jaw opens.  Drawing happens at 2x and is area-downsampled, so
sub-pixel landmark motion survives as intensity change.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from avbench.synth.face import (
    BROW_L,
    BROW_R,
    EYE_L,
    EYE_R,
    JAW,
    MOUTH_INNER,
    MOUTH_OUTER,
    Appearance,
)

SUPERSAMPLE = 2
_SHIFT = 4  # fixed-point bits for sub-pixel polygon coordinates


def _pts(p: np.ndarray, scale: float) -> np.ndarray:
    return np.round(p * scale * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)


def _fill(mask: np.ndarray, p: np.ndarray, scale: float) -> None:
    cv2.fillPoly(mask, [_pts(p, scale)], 1.0, lineType=cv2.LINE_AA, shift=_SHIFT)


def _blend(img: np.ndarray, mask: np.ndarray, colour) -> None:
    """Paint ``colour`` through ``mask`` (alpha in [0, 1]), touching only the mask's box."""
    rows = np.flatnonzero(mask.any(1))
    if not rows.size:
        return
    cols = np.flatnonzero(mask.any(0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    sub = img[box]
    sub += mask[box][..., None] * (np.asarray(colour, np.float32) - sub)


def skin_texture(app: Appearance, size: int) -> np.ndarray:
    """Per-target skin texture in face-centred coordinates (fixed on the face)."""
    rng = np.random.default_rng(app.texture_seed)
    n = rng.normal(0, 1, (size, size)).astype(np.float32)
    fine = cv2.GaussianBlur(n, (0, 0), 0.8)
    coarse = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 16)
    t = fine / (fine.std() + 1e-6) + 2.0 * coarse / (coarse.std() + 1e-6)
    return (t / t.std() * app.texture_strength).astype(np.float32)


def background(app: Appearance, size: int) -> np.ndarray:
    """A vertical gradient with soft blotches: static scenery behind the head."""
    rng = np.random.default_rng(app.texture_seed + 1)
    y = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    a, b = np.asarray(app.background[0], np.float32), np.asarray(app.background[1], np.float32)
    img = np.broadcast_to(a * (1 - y) + b * y, (size, size, 3)).copy()
    blot = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 10)
    img += (blot / (blot.std() + 1e-6) * 0.04)[..., None]
    return img


def render(app: Appearance, lm: np.ndarray, gaze: tuple[float, float], size: int,
           texture: np.ndarray, bg: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """One RGB uint8 frame.

    Args:
        app: the target's appearance.
        lm: (68, 2) landmarks in output pixels (already posed and animated).
        gaze: iris offset in [-1, 1] (fraction of the free space in the eye).
        size: output frame size in pixels.
        texture: :func:`skin_texture` at ``size * SUPERSAMPLE``.
        bg: :func:`background` at ``size * SUPERSAMPLE``.
        similarity: 2x3 map from neutral-face to current-face pixels (moves texture and hair).
    """
    S = SUPERSAMPLE
    big = size * S
    img = bg.copy()
    sim = similarity.astype(np.float64).copy()
    sim[:, 2] *= S
    jaw = lm[JAW]
    centre = jaw.mean(0)
    face_w = float(np.linalg.norm(jaw[16] - jaw[0]))
    brows = np.concatenate([lm[BROW_R], lm[BROW_L]])
    up = brows.mean(0) - lm[8]
    up /= np.linalg.norm(up) + 1e-9
    brow_top = brows.mean(0) + up * 0.35 * face_w
    # Forehead arc from jaw[16] over the top back to jaw[0].
    a0, a1 = jaw[16], jaw[0]
    mid = 0.5 * (a0 + a1)
    arc = [mid + (a0 - mid) * np.cos(t) + (brow_top - mid) * np.sin(t) for t in np.linspace(0.15, np.pi - 0.15, 15)]
    outline = np.concatenate([jaw, np.asarray(arc)])

    # Hair behind the head and neck/shoulders.
    hair_mask = np.zeros((big, big), np.float32)
    head_c = 0.5 * (mid + brow_top)
    rx, ry = 0.62 * face_w, 0.55 * float(np.linalg.norm(lm[8] - brow_top)) + 0.05 * face_w
    angle = float(np.degrees(np.arctan2(up[0], -up[1])))
    if app.hair_style != 2:
        cv2.ellipse(hair_mask, (tuple(int(v * S * 16) for v in head_c)), (int(rx * S * 16), int(ry * S * 16 * (1.15 if app.hair_style == 1 else 0.95))),
                    angle, 0, 360, 1.0, -1, cv2.LINE_AA, 4)
        if app.hair_style == 1:
            pts = np.array([head_c + (-rx, 0), head_c + (rx, 0), head_c + (rx * 0.9, ry * 1.5), head_c + (-rx * 0.9, ry * 1.5)])
            _fill(hair_mask, pts, S)
    neck = np.array([lm[4] + (face_w * 0.08, 0), lm[12] - (face_w * 0.08, 0), (lm[12][0] + 0.05 * face_w, big / S), (lm[4][0] - 0.05 * face_w, big / S)])
    neck_mask = np.zeros_like(hair_mask)
    _fill(neck_mask, neck, S)
    shoulders = np.zeros_like(hair_mask)
    cv2.ellipse(shoulders, (int(centre[0] * S * 16), int((big / S + 0.25 * face_w) * S * 16)), (int(face_w * 1.3 * S * 16), int(0.55 * face_w * S * 16)), 0, 180, 360, 1.0, -1, cv2.LINE_AA, 4)
    _blend(img, np.clip(hair_mask, 0, 1), app.hair)
    _blend(img, shoulders, tuple(0.5 * c + 0.2 for c in app.background[1]))
    _blend(img, neck_mask, tuple(0.82 * c for c in app.skin))

    # Skin with texture that moves with the face, and directional shading.
    face_mask = np.zeros_like(hair_mask)
    _fill(face_mask, outline, S)
    face_soft = cv2.GaussianBlur(face_mask, (0, 0), 1.2 * S)
    tex = cv2.warpAffine(texture, sim, (big, big), borderMode=cv2.BORDER_REFLECT)
    yy, xx = np.mgrid[0:big, 0:big].astype(np.float32)
    rel_x = (xx - centre[0] * S) / (0.5 * face_w * S)
    rel_y = (yy - centre[1] * S) / (0.5 * face_w * S)
    shade = 1.0 + app.light_strength * (rel_x * app.light_dir[0] + rel_y * app.light_dir[1]) * 0.6
    edge = cv2.GaussianBlur(face_mask, (0, 0), 0.12 * face_w * S)
    shade *= 0.75 + 0.25 * edge
    skin = np.asarray(app.skin, np.float32)[None, None] * (shade + tex)[..., None]
    img = img * (1 - face_soft[..., None]) + skin * face_soft[..., None]

    if app.hair_style in (0, 3):  # hair over the forehead
        fringe = np.zeros_like(hair_mask)
        top = np.asarray(arc)
        depth = 0.16 if app.hair_style == 0 else 0.28
        inner = top + (lm[30] - top) * depth
        _fill(fringe, np.concatenate([top, inner[::-1]]), S)
        _blend(img, cv2.GaussianBlur(fringe, (0, 0), 0.6 * S), app.hair)

    # Nose: a soft shadow along the side facing away from the light, and nostrils.
    nose = np.zeros_like(hair_mask)
    side = -np.sign(app.light_dir[0]) or 1.0
    ridge = np.array([lm[27], lm[30], lm[31 if side < 0 else 35]]) + np.array([side * 0.025 * face_w, 0])
    cv2.polylines(nose, [_pts(ridge, S)], False, 1.0, max(1, int(0.03 * face_w * S)), cv2.LINE_AA, _SHIFT)
    _blend(img, cv2.GaussianBlur(nose, (0, 0), 1.5 * S) * 0.35, (0.0, 0.0, 0.0))
    nostrils = np.zeros_like(hair_mask)
    for k in (32, 34):
        c = lm[k] + np.array([0, -0.006 * face_w])
        cv2.ellipse(nostrils, tuple(int(v * S * 16) for v in c), (int(0.022 * face_w * S * 16), int(0.012 * face_w * S * 16)), 0, 0, 360, 1.0, -1, cv2.LINE_AA, 4)
    _blend(img, cv2.GaussianBlur(nostrils, (0, 0), 0.5 * S) * 0.7, tuple(0.3 * c for c in app.skin))

    draw_features(img, app, lm, lm, gaze, S, face_w)

    out = cv2.resize(np.clip(img, 0, 1), (size, size), interpolation=cv2.INTER_AREA)
    return (out * 255 + 0.5).astype(np.uint8)


def draw_features(img: np.ndarray, app: Appearance, lm: np.ndarray, lm_open: np.ndarray,
                  gaze: tuple[float, float], S: int, face_w: float) -> None:
    """Draw eyes (lids, sclera, iris) and the mouth cavity at their current shape, in place.

    Reenactment generators warp the target's still image and then re-synthesise
    what a warp cannot produce (closing lids, an opening mouth); this is that step.
    ``lm_open`` are the same landmarks with the eyes open: the lid skin covers that
    area before the (possibly closing) eye is drawn.  Every shape is drawn in its own
    small box (:class:`_Box`): this runs for every frame of the dataset, and full-size
    masks made it the slowest step of writing it.
    """
    if not img.flags.c_contiguous:
        raise ValueError("draw_features paints in place into a C-contiguous (H, W, 3) image")
    for eye in (EYE_R, EYE_L):
        _lid_skin(img, app, lm_open[eye], S)
    for eye in (EYE_R, EYE_L):
        _eye(img, app, lm[eye], gaze, S, face_w)
    for brow in (BROW_R, BROW_L):
        box = _Box(img, lm[brow], S, _blur_reach(0.6 * S) + 0.03 * face_w * S)
        mask = box.polyline(lm[brow], max(1, int(0.045 * face_w * S)))
        box.blend(img, _blur(mask, 0.6 * S), tuple(0.8 * c for c in app.hair))
    _mouth(img, app, lm, S, face_w)


def _lid_skin(img: np.ndarray, app: Appearance, open_eye: np.ndarray, S: int) -> None:
    """Skin over the open eye's area, so a closing lid has skin above it."""
    centre = _centre(open_eye)
    lid = centre + (open_eye - centre) * 1.15
    box = _Box(img, lid, S, _blur_reach(0.4 * S))
    box.blend(img, _blur(box.polygon(lid), 0.4 * S), tuple(0.9 * c for c in app.skin))


def _eye(img: np.ndarray, app: Appearance, e: np.ndarray, gaze: tuple[float, float], S: int,
         face_w: float) -> None:
    """Socket shadow, sclera, iris following gaze, pupil and lid line of one eye."""
    centre = _centre(e)
    socket = centre + (e - centre) * 1.7 + np.array([0, -0.01 * face_w])
    box = _Box(img, socket, S, _blur_reach(1.5 * S))
    box.blend(img, _blur(box.polygon(socket), 1.5 * S) * 0.25, (0.1, 0.05, 0.05))
    box = _Box(img, e, S, 0.025 * face_w * S)  # the sclera's box holds all that is clipped to it
    sclera = box.polygon(e)
    box.blend(img, sclera, (0.93, 0.91, 0.88))
    ew = math.hypot(*(e[3] - e[0]).tolist())
    r_iris = 0.22 * ew
    c = centre + np.array([gaze[0] * 0.22 * ew, gaze[1] * 0.12 * ew])
    box.blend(img, box.disc(c, r_iris) * sclera, app.iris)
    box.blend(img, box.disc(c, 0.45 * r_iris) * sclera, (0.03, 0.03, 0.03))
    box.blend(img, box.polyline(e[[0, 1, 2, 3]], max(1, int(0.025 * face_w * S))),
              tuple(0.25 * c for c in app.hair))


def _mouth(img: np.ndarray, app: Appearance, lm: np.ndarray, S: int, face_w: float) -> None:
    """Lips, then the cavity between the inner lip lines with teeth and the lip line."""
    box = _Box(img, lm[MOUTH_OUTER], S, _blur_reach(0.5 * S))
    box.blend(img, _blur(box.polygon(lm[MOUTH_OUTER]), 0.5 * S), app.lips)
    inner = lm[MOUTH_INNER]
    box = _Box(img, inner, S, 0.012 * face_w * S)
    cavity = box.polygon(inner)
    box.blend(img, cavity, (0.12, 0.03, 0.04))
    top = inner[:5]
    lower = top + np.array([0, 0.35 * float(inner[6, 1] - inner[2, 1])])
    teeth = box.polygon(np.concatenate([top, lower[::-1]]))
    box.blend(img, teeth * cavity * 0.8, (0.9, 0.88, 0.82))
    line = box.polyline(lm[60:65], max(1, int(0.012 * face_w * S)))
    box.blend(img, line * 0.6, (0.15, 0.05, 0.05))


def _centre(p: np.ndarray) -> np.ndarray:
    """The mean point (``p.mean(0)`` costs twice as much, and this runs per shape per frame)."""
    return p.sum(0) / len(p)


def _blur_reach(sigma: float) -> float:
    """How far (pixels) OpenCV's Gaussian of ``sigma`` spreads a float mask: 4 sigma."""
    return 4 * sigma + 1


def _blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Blur a box's mask as if it lay on an endless zero canvas (the box leaves room)."""
    return cv2.GaussianBlur(mask, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)


class _Box:
    """The part of ``img`` a shape can touch: its points' bounding box at ``S`` x
    supersampling, widened by ``pad`` pixels (line width, blur reach) and 2 more for
    anti-aliasing, clipped to the image.  Shapes are rasterised in the box exactly as
    on the whole image: the box starts on a whole pixel, so the fixed-point vertices
    only shift by an integer."""

    def __init__(self, img: np.ndarray, pts: np.ndarray, S: int, pad: float):
        h, w = img.shape[:2]
        (lo_x, lo_y), (hi_x, hi_y) = pts.min(0).tolist(), pts.max(0).tolist()
        # At least one pixel, even for a shape off the image: OpenCV refuses empty arrays,
        # and a shape outside its box draws nothing.
        self.x0 = min(max(math.floor(lo_x * S - pad - 2), 0), w - 1)
        self.y0 = min(max(math.floor(lo_y * S - pad - 2), 0), h - 1)
        self.x1 = max(self.x0 + 1, min(math.ceil(hi_x * S + pad + 2) + 1, w))
        self.y1 = max(self.y0 + 1, min(math.ceil(hi_y * S + pad + 2) + 1, h))
        self.S = S
        self.origin = np.array([self.x0 << _SHIFT, self.y0 << _SHIFT], np.int32)

    def zeros(self) -> np.ndarray:
        return np.zeros((self.y1 - self.y0, self.x1 - self.x0), np.float32)

    def _fixed(self, p: np.ndarray) -> np.ndarray:
        """Vertices in the box, in fixed point (as :func:`_pts`, which rounds the same way)."""
        return np.rint(p * (self.S << _SHIFT)).astype(np.int32) - self.origin

    def polygon(self, p: np.ndarray) -> np.ndarray:
        mask = self.zeros()
        cv2.fillPoly(mask, [self._fixed(p)], 1.0, lineType=cv2.LINE_AA, shift=_SHIFT)
        return mask

    def polyline(self, p: np.ndarray, thickness: int) -> np.ndarray:
        mask = self.zeros()
        cv2.polylines(mask, [self._fixed(p)], False, 1.0, thickness, cv2.LINE_AA, _SHIFT)
        return mask

    def disc(self, c: np.ndarray, r: float) -> np.ndarray:
        """A filled circle; centre and radius in fixed point, truncated (not rounded)."""
        mask = self.zeros()
        one = self.S << _SHIFT
        centre = (int(c[0] * one) - (self.x0 << _SHIFT), int(c[1] * one) - (self.y0 << _SHIFT))
        cv2.circle(mask, centre, int(r * one), 1.0, -1, cv2.LINE_AA, _SHIFT)
        return mask

    def blend(self, img: np.ndarray, mask: np.ndarray, colour: tuple[float, float, float]) -> None:
        """Paint ``colour`` through ``mask`` (alpha in [0, 1]) onto the box of ``img``.

        The box is handled as rows of interleaved RGB values: numpy broadcasting a
        3-value colour over ``(h, w, 3)`` runs an inner loop of 3, several times slower."""
        h, w = mask.shape
        # A view, not a copy: in a C-contiguous image each row's pixels are contiguous.
        sub = img[self.y0:self.y1, self.x0:self.x1].reshape(h, 3 * w)
        paint = _colour_row(colour, w) - sub
        paint *= np.repeat(mask, 3, axis=1)
        sub += paint


@lru_cache(maxsize=4096)
def _colour_row(rgb: tuple[float, float, float], width: int) -> np.ndarray:
    """A row of ``width`` pixels of one colour, float32 interleaved RGB (cached: a target
    has a few colours and its boxes a few widths).  Read-only, being shared."""
    row = np.tile(np.asarray(rgb, np.float32), width)
    row.flags.writeable = False
    return row
