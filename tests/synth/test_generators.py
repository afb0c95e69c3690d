"""Reenactment generators (avbench.synth.generators) and the thin-plate spline behind them."""

from __future__ import annotations

import numpy as np
import pytest

from avbench.synth import motion as M
from avbench.synth.face import BROW_L, BROW_R, neutral_landmarks, random_appearance
from avbench.synth.generators import GENERATORS, REGISTRY, animate, make_target
from avbench.synth.tps import TPS

SIZE = 128
ALL = tuple(REGISTRY)


@pytest.fixture(scope="module")
def targets():
    return [make_target(random_appearance(np.random.default_rng(s)), SIZE) for s in range(3)]


@pytest.fixture(scope="module")
def target(targets):
    return targets[0]


def _still_u8(target) -> np.ndarray:
    return (target.image * 255 + 0.5).astype(np.uint8)


def _motion(channel: str | None = None, value: float = 1.0, n: int = 6) -> np.ndarray:
    m = np.zeros((n, len(M.CHANNELS)), np.float32)
    if channel is not None:
        m[:, M.CHANNELS.index(channel)] = value
    return m


def _outside_features(target) -> np.ndarray:
    """Pixels the feature re-synthesis (eyes, brows, mouth and a margin) never touches."""
    pts = target.neutral[17:]
    margin = 0.25 * target.face_w + 2
    x0, y0 = np.floor(pts.min(0) - margin).astype(int)
    x1, y1 = np.ceil(pts.max(0) + margin).astype(int)
    mask = np.ones((SIZE, SIZE), bool)
    mask[max(0, y0):y1, max(0, x0):x1] = False
    return mask


# --- the registry and output shapes ---------------------------------------------------

def test_registry_has_the_three_generators_and_original():
    assert GENERATORS == ("facevid2vid", "tps", "lia")
    assert set(REGISTRY) == {"facevid2vid", "tps", "lia", "original"}
    assert all(g.name == name for name, g in REGISTRY.items())


def test_target_still_image_and_geometry(target):
    assert target.image.shape == (SIZE, SIZE, 3) and target.image.dtype == np.float32
    assert 0.0 <= target.image.min() and target.image.max() <= 1.0
    np.testing.assert_array_equal(target.neutral, neutral_landmarks(target.app.shape, SIZE))
    assert target.basis.shape == (10, 68, 2)
    # The face is inside the frame and left-right ordered.
    assert (target.neutral > 0).all() and (target.neutral < SIZE).all()
    assert target.neutral[0, 0] < target.neutral[8, 0] < target.neutral[16, 0]
    assert target.face_w == pytest.approx(float(target.neutral[16, 0] - target.neutral[0, 0]))


@pytest.mark.parametrize("name", ALL)
def test_frames_and_landmarks_shapes(target, name):
    motion = M.utterance(M.random_signature(np.random.default_rng(1)), 9, np.random.default_rng(2))
    frames, lm = REGISTRY[name].frames(target, motion, np.random.default_rng(0))
    assert frames.shape == (9, SIZE, SIZE, 3) and frames.dtype == np.uint8
    assert lm.shape == (9, 68, 2) and lm.dtype == np.float32
    assert np.isfinite(lm).all()
    assert frames.std() > 10  # a picture, not a blank


# --- zero motion ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_zero_motion_keeps_neutral_landmarks(targets, name):
    for target in targets:
        _, lm = REGISTRY[name].frames(target, _motion(n=8), np.random.default_rng(0))
        err = np.abs(lm - target.neutral[None])
        if name == "facevid2vid":  # 0.25 px keypoint jitter, spread by the spline
            assert err.mean() < 0.3 and err.max() < 1.5, (err.mean(), err.max())
        else:
            assert err.max() < 0.5, err.max()


def test_zero_motion_frames_stay_close_to_the_still_image(targets):
    """With no motion the warp is the identity and only eyes/brows/mouth are re-drawn:
    on average a frame is within 3 grey levels of the target's still image."""
    bad = {}
    for k, target in enumerate(targets):
        still = _still_u8(target).astype(int)
        for name in ALL:
            frames, _ = REGISTRY[name].frames(target, _motion(n=2), np.random.default_rng(0))
            mad = float(np.abs(frames.astype(int) - still[None]).mean())
            if mad > 3.0:
                bad[(k, name)] = round(mad, 2)
    assert not bad, f"mean |frame - still| > 3 grey levels: {bad}"


def test_zero_motion_original_is_the_still_image_away_from_the_features(targets):
    """'original' with no motion warps by the exact identity (src == dst), so every pixel
    the feature re-synthesis does not touch is the still image's (hair, shoulders,
    background, jaw line).  A dense map that is off by a pixel or two shows here."""
    for k, target in enumerate(targets):
        frames, _ = REGISTRY["original"].frames(target, _motion(n=1), np.random.default_rng(0))
        mask = _outside_features(target)
        diff = np.abs(frames[0].astype(int) - _still_u8(target).astype(int)).max(-1)
        assert diff[mask].max() <= 2, (
            f"target {k}: identity warp moved pixels: max diff {diff[mask].max()} grey levels, "
            f"{(diff[mask] > 20).mean():.1%} of untouched pixels differ by > 20")


# --- thin-plate spline ----------------------------------------------------------------

def test_tps_maps_src_onto_dst():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 128, (30, 2))
    dst = src + rng.normal(0, 3, (30, 2))
    np.testing.assert_allclose(TPS(src, dst, reg=0.0)(src), dst, atol=1e-8)
    np.testing.assert_allclose(TPS(src, dst, reg=1e-9)(src), dst, atol=1e-4)
    # The default regularisation smooths: close, not exact.
    assert np.abs(TPS(src, dst)(src) - dst).max() < 3.0


def test_tps_identity_and_affine_are_reproduced_everywhere():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 128, (20, 2))
    q = rng.uniform(-10, 140, (200, 2))
    np.testing.assert_allclose(TPS(src, src)(q), q, atol=1e-9)  # default reg too
    A, b = np.array([[1.1, 0.2], [-0.1, 0.9]]), np.array([3.0, -2.0])
    np.testing.assert_allclose(TPS(src, src @ A.T + b)(q), q @ A.T + b, atol=1e-9)


def test_tps_output_shape_and_smoothness():
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 128, (10, 2))
    dst = src + rng.normal(0, 2, (10, 2))
    out = TPS(src, dst, reg=0.0)(rng.uniform(0, 128, (7, 2)))
    assert out.shape == (7, 2) and out.dtype == np.float64
    # Moving one control point moves far-away points less than it.
    dst2 = src.copy()
    dst2[0] += (5.0, 0.0)
    t = TPS(src, dst2, reg=0.0)
    far = src[np.argsort(np.linalg.norm(src - src[0], axis=1))[-1]][None]
    assert np.linalg.norm(t(far) - far) < 5.0


def test_tps_stack_is_one_spline_per_index():
    """A stack of splines (one per frame, as the generators fit them) maps like each
    spline fitted alone, whichever side (src or dst) is stacked."""
    rng = np.random.default_rng(3)
    fixed = rng.uniform(0, 128, (12, 2))
    moved = fixed + rng.normal(0, 3, (5, 12, 2))
    q = rng.uniform(0, 128, (9, 2))
    forward, inverse = TPS(fixed, moved), TPS(moved, fixed)
    assert forward(q).shape == inverse(q).shape == (5, 9, 2)
    for k in range(5):
        np.testing.assert_allclose(forward(q)[k], TPS(fixed, moved[k])(q), atol=1e-9)
        np.testing.assert_allclose(inverse(q)[k], TPS(moved[k], fixed)(q), atol=1e-9)


# --- the generators differ ------------------------------------------------------------

@pytest.fixture(scope="module")
def driven(target):
    motion = M.utterance(M.random_signature(np.random.default_rng(1)), 40, np.random.default_rng(2))
    out = {name: REGISTRY[name].frames(target, motion, np.random.default_rng(0)) for name in ALL}
    return motion, out


def test_original_reproduces_animate_exactly(target, driven):
    motion, out = driven
    expected, _ = animate(target, motion)
    np.testing.assert_array_equal(out["original"][1], expected)


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_transfer_motion_lossily(target, driven, name):
    motion, out = driven
    ref = out["original"][1]
    lm = out[name][1]
    err = np.abs(lm - ref)
    assert err.mean() > 0.2, err.mean()  # a different motion representation
    assert err.mean() < 4.0, err.mean()  # ... of the same motion
    # The frames differ too.
    assert np.abs(out[name][0].astype(int) - out["original"][0].astype(int)).mean() > 0.5
    # Landmark trajectories still follow the driver: the lip moves with the jaw channel.
    lip = lm[:, 57, 1]
    assert np.corrcoef(lip, motion[:, M.JAW])[0, 1] > 0.6


def test_generators_are_deterministic_given_the_rng(target, driven):
    motion, out = driven
    for name in ALL:
        frames, lm = REGISTRY[name].frames(target, motion, np.random.default_rng(0))
        np.testing.assert_array_equal(frames, out[name][0])
        np.testing.assert_array_equal(lm, out[name][1])


def test_facevid2vid_jitter_comes_from_the_rng(target):
    g = REGISTRY["facevid2vid"]
    _, a = g.frames(target, _motion(n=3), np.random.default_rng(0))
    _, b = g.frames(target, _motion(n=3), np.random.default_rng(1))
    assert not np.array_equal(a, b)
    _, c = REGISTRY["tps"].frames(target, _motion(n=3), np.random.default_rng(1))
    _, d = REGISTRY["tps"].frames(target, _motion(n=3), np.random.default_rng(2))
    np.testing.assert_array_equal(c, d)  # no jitter: the rng is unused


def test_lia_projects_motion_onto_a_low_dimensional_basis():
    g = REGISTRY["lia"]
    m = M.utterance(M.random_signature(np.random.default_rng(3)), 60, np.random.default_rng(4))
    t = g.transfer_motion(m)
    assert t.shape == m.shape and t.dtype == np.float32
    # Centred, the transferred motion has rank <= latent_dim; the driver's is full rank.
    assert np.linalg.matrix_rank(t - t.mean(0), tol=1e-4) <= g.latent_dim
    assert np.linalg.matrix_rank(m - m.mean(0), tol=1e-4) == len(M.CHANNELS)
    # A constant motion passes unchanged (its mean is kept).
    const = np.tile(m[:1], (10, 1))
    np.testing.assert_allclose(g.transfer_motion(const), const, atol=1e-6)
    # The other generators transfer the motion as is.
    for name in ("facevid2vid", "tps", "original"):
        np.testing.assert_array_equal(REGISTRY[name].transfer_motion(m), m)


# --- channels move the right landmarks ------------------------------------------------

def _displacement(target, name: str, channel: str) -> np.ndarray:
    _, lm = REGISTRY[name].frames(target, _motion(channel, n=8), np.random.default_rng(0))
    return (lm - target.neutral[None]).mean(0)  # (68, 2), jitter averaged over frames


@pytest.mark.parametrize("name", ALL)
def test_jaw_opens_the_mouth_and_leaves_the_brows(targets, name):
    for target in targets:
        d = _displacement(target, name, "jaw")
        assert d[57, 1] > 2.0, d[57, 1]  # lower lip down
        assert d[8, 1] > 2.0, d[8, 1]  # chin down
        assert abs(d[51, 1]) < 1.0  # upper lip about still
        brows = np.linalg.norm(d[17:27], axis=1)
        assert brows.max() < 0.6, brows.max()


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("channel,moved,other", [("brow_l", BROW_L, BROW_R), ("brow_r", BROW_R, BROW_L)])
def test_brow_channel_raises_its_own_brow(targets, name, channel, moved, other):
    for target in targets:
        d = _displacement(target, name, channel)
        assert d[moved, 1].mean() < -2.0, d[moved, 1]  # raised: up is -y
        assert abs(d[other, 1].mean()) < 1.0, d[other, 1]  # the other brow stays about still
        assert np.abs(d[48:68]).max() < 0.5  # the mouth does not move


@pytest.mark.parametrize("name", ALL)
def test_blink_closes_the_upper_lids(targets, name):
    for target in targets:
        d = _displacement(target, name, "blink")
        assert d[[37, 38, 43, 44], 1].min() > 1.5  # upper lids down
        assert np.abs(d[48:68]).max() < 0.5


@pytest.mark.parametrize("name", ALL)
def test_smile_pulls_the_mouth_corners_apart(targets, name):
    for target in targets:
        d = _displacement(target, name, "smile")
        assert d[48, 0] < -2.0 and d[54, 0] > 2.0  # image-left corner left, right corner right
        assert d[48, 1] < 0 and d[54, 1] < 0  # and up


def test_yaw_turns_the_head_and_nose_moves_most(target):
    m = _motion("yaw", 0.1, n=2)
    lm, _ = animate(target, m)
    shift = lm[0, :, 0] - target.neutral[:, 0]
    assert (shift > 0).all()  # positive yaw moves every point to the image right
    assert shift[30] > shift[0] and shift[30] > shift[16]  # parallax: the nose tip most
