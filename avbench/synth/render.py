"""Draw a face image from 68 landmarks and a target's appearance.

The renderer is deliberately simple 2D compositing (OpenCV polygons, blurred
masks, a directional light), but it draws everything a face detector and a
landmark tracker look for: a shaded skin oval with hair around it, eyes with
sclera, iris and lids, brows, a nose with nostrils, lips and a mouth cavity that
darkens as the jaw opens.  Drawing happens at 2x and is area-downsampled, so
sub-pixel landmark motion survives as intensity change.
"""

from __future__ import annotations

import cv2
import numpy as np

from avbench.synth.face import (
    BROW_L, BROW_R, EYE_L, EYE_R, JAW, MOUTH_INNER, MOUTH_OUTER, Appearance,
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
    """Draw eyes, brows and mouth in place, working only on the region around them."""
    pts = np.concatenate([lm[17:], lm_open[36:48]])
    margin = 0.25 * face_w
    h, w = img.shape[:2]
    x0 = max(0, int((pts[:, 0].min() - margin) * S))
    y0 = max(0, int((pts[:, 1].min() - margin) * S))
    x1 = min(w, int((pts[:, 0].max() + margin) * S) + 1)
    y1 = min(h, int((pts[:, 1].max() + margin) * S) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], np.float32) / S
    _draw_features(img[y0:y1, x0:x1], app, lm - off, lm_open - off, gaze, S, face_w)


def _draw_features(img: np.ndarray, app: Appearance, lm: np.ndarray, lm_open: np.ndarray,
                   gaze: tuple[float, float], S: int, face_w: float) -> None:
    """Draw eyes (lids, sclera, iris) and the mouth cavity at their current shape, in place.

    Reenactment generators warp the target's still image and then re-synthesise
    what a warp cannot produce (closing lids, an opening mouth); this is that step.
    ``lm_open`` are the same landmarks with the eyes open: the lid skin covers that
    area before the (possibly closing) eye is drawn.
    """
    for eye in (EYE_R, EYE_L):
        o = lm_open[eye]
        lid = np.zeros(img.shape[:2], np.float32)
        _fill(lid, o.mean(0) + (o - o.mean(0)) * 1.15, S)
        _blend(img, cv2.GaussianBlur(lid, (0, 0), 0.4 * S), tuple(0.9 * c for c in app.skin))
    # Eyes: socket shadow, sclera, iris following gaze, pupil, lid line.
    for eye in (EYE_R, EYE_L):
        e = lm[eye]
        socket = np.zeros(img.shape[:2], np.float32)
        _fill(socket, e.mean(0) + (e - e.mean(0)) * 1.7 + np.array([0, -0.01 * face_w]), S)
        _blend(img, cv2.GaussianBlur(socket, (0, 0), 1.5 * S) * 0.25, (0.1, 0.05, 0.05))
        sclera = np.zeros(img.shape[:2], np.float32)
        _fill(sclera, e, S)
        _blend(img, sclera, (0.93, 0.91, 0.88))
        ew = float(np.linalg.norm(e[3] - e[0]))
        r_iris = 0.22 * ew
        c = e.mean(0) + np.array([gaze[0] * 0.22 * ew, gaze[1] * 0.12 * ew])
        iris = np.zeros(img.shape[:2], np.float32)
        cv2.circle(iris, tuple(int(v * S * 16) for v in c), int(r_iris * S * 16), 1.0, -1, cv2.LINE_AA, 4)
        pupil = np.zeros(img.shape[:2], np.float32)
        cv2.circle(pupil, tuple(int(v * S * 16) for v in c), int(0.45 * r_iris * S * 16), 1.0, -1, cv2.LINE_AA, 4)
        _blend(img, iris * sclera, app.iris)
        _blend(img, pupil * sclera, (0.03, 0.03, 0.03))
        lid = np.zeros(img.shape[:2], np.float32)
        cv2.polylines(lid, [_pts(e[[0, 1, 2, 3]], S)], False, 1.0, max(1, int(0.025 * face_w * S)), cv2.LINE_AA, _SHIFT)
        _blend(img, lid, tuple(0.25 * c for c in app.hair))

    # Brows.
    for brow in (BROW_R, BROW_L):
        b = np.zeros(img.shape[:2], np.float32)
        cv2.polylines(b, [_pts(lm[brow], S)], False, 1.0, max(1, int(0.045 * face_w * S)), cv2.LINE_AA, _SHIFT)
        _blend(img, cv2.GaussianBlur(b, (0, 0), 0.6 * S), tuple(0.8 * c for c in app.hair))

    # Mouth: lips, then the cavity between the inner lip lines.
    lips = np.zeros(img.shape[:2], np.float32)
    _fill(lips, lm[MOUTH_OUTER], S)
    _blend(img, cv2.GaussianBlur(lips, (0, 0), 0.5 * S), app.lips)
    cavity = np.zeros(img.shape[:2], np.float32)
    _fill(cavity, lm[MOUTH_INNER], S)
    _blend(img, cavity, (0.12, 0.03, 0.04))
    teeth = np.zeros(img.shape[:2], np.float32)
    inner = lm[MOUTH_INNER]
    top = np.array([inner[0], inner[1], inner[2], inner[3], inner[4]])
    lower = top + np.array([0, 0.35]) * (inner[6] - inner[2])[1]
    _fill(teeth, np.concatenate([top, lower[::-1]]), S)
    _blend(img, teeth * cavity * 0.8, (0.9, 0.88, 0.82))
    line = np.zeros(img.shape[:2], np.float32)
    cv2.polylines(line, [_pts(lm[[60, 61, 62, 63, 64]], S)], False, 1.0, max(1, int(0.012 * face_w * S)), cv2.LINE_AA, _SHIFT)
    _blend(img, line * 0.6, (0.15, 0.05, 0.05))

