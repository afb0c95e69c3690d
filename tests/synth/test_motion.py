"""Driver signatures and utterances (avbench.synth.motion): shapes, ranges, determinism,
and that the statistics a fingerprinting method must learn (blink rate, syllable rate)
are the ones the signature says."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from avbench.synth import motion as M

FPS = 25


def _sig(seed: int, **changes) -> M.DriverSignature:
    sig = M.random_signature(np.random.default_rng(seed))
    return dataclasses.replace(sig, **changes) if changes else sig


def _utt(sig: M.DriverSignature, n: int, seed: int) -> np.ndarray:
    return M.utterance(sig, n, np.random.default_rng(seed))


def _onsets(x: np.ndarray, thr: float = 0.5) -> int:
    """Upward crossings of ``thr``: one per blink (or per syllable peak)."""
    return int(np.sum((x[1:] >= thr) & (x[:-1] < thr)))


def _peaks(x: np.ndarray, thr: float = 0.1) -> int:
    """Local maxima above ``thr``: one per jaw opening."""
    d = np.diff(x)
    return int(np.sum((d[:-1] > 0) & (d[1:] <= 0) & (x[1:-1] > thr)))


def _pause_share(jaw: np.ndarray, thr: float = 0.02, min_len: int = 12) -> float:
    """Share of frames in stretches of >= ``min_len`` frames (0.5 s) with the jaw closed."""
    total = run = 0
    for closed in np.append(jaw < thr, False):
        if closed:
            run += 1
        else:
            total += run if run >= min_len else 0
            run = 0
    return total / len(jaw)


# --- shape, ranges, determinism -------------------------------------------------------

def test_channels_are_the_documented_ten():
    assert M.CHANNELS == ("jaw", "smile", "brow_l", "brow_r", "blink", "yaw", "pitch", "roll",
                          "gaze_x", "gaze_y")
    assert (M.JAW, M.BLINK, M.GAZE_X, M.GAZE_Y) == (0, 4, 8, 9)
    assert M.FPS == 25.0


@pytest.mark.parametrize("n", [2, 37, 250])
def test_utterance_shape_and_dtype(n):
    m = _utt(_sig(0), n, 1)
    assert m.shape == (n, 10)
    assert m.dtype == np.float32
    assert np.isfinite(m).all()


def test_channel_ranges_over_many_drivers():
    for seed in range(12):
        m = _utt(_sig(seed), 25 * 20, 100 + seed)
        jaw, blink = m[:, M.JAW], m[:, M.BLINK]
        gaze = m[:, [M.GAZE_X, M.GAZE_Y]]
        assert jaw.min() >= 0.0 and jaw.max() <= 1.0, seed
        assert blink.min() >= 0.0 and blink.max() <= 1.0, seed
        assert gaze.min() >= -1.0 and gaze.max() <= 1.0, seed
        # The channels are actually used: a 20 s clip talks, blinks and looks around.
        assert jaw.max() > 0.3, seed
        assert blink.max() > 0.9, seed  # at least one blink closes the eye
        assert gaze.std(0).min() > 0.01, seed
        # Head pose stays small (radians-ish fractions), never wild.
        assert np.abs(m[:, [M.YAW, M.PITCH, M.ROLL]]).max() < 0.6, seed


def test_same_seed_same_signature_and_utterance():
    a = M.random_signature(np.random.default_rng(7))
    b = M.random_signature(np.random.default_rng(7))
    assert a == b
    np.testing.assert_array_equal(_utt(a, 300, 3), _utt(b, 300, 3))


def test_two_utterances_of_one_driver_differ_sample_wise():
    sig = _sig(4)
    u1, u2 = _utt(sig, 500, 1), _utt(sig, 500, 2)
    for ch in range(len(M.CHANNELS)):
        assert not np.allclose(u1[:, ch], u2[:, ch], atol=1e-3), M.CHANNELS[ch]
    # ... but not by a constant offset: the jaw signals are not even correlated.
    assert abs(np.corrcoef(u1[:, M.JAW], u2[:, M.JAW])[0, 1]) < 0.5


def test_signatures_of_two_identities_differ():
    a, b = M.random_signature(np.random.default_rng(1)), M.random_signature(np.random.default_rng(2))
    assert a != b
    fa, fb = dataclasses.asdict(a), dataclasses.asdict(b)
    differing = [k for k in fa if fa[k] != fb[k]]
    # Every drawn scalar differs (continuous draws); brow_lag is an integer in 0..4.
    assert len(differing) >= len(fa) - 1, differing


def test_signature_fields_lie_in_their_drawn_ranges():
    for seed in range(50):
        s = M.random_signature(np.random.default_rng(seed))
        assert 2.0 <= s.syllable_rate <= 6.0
        assert 0.15 <= s.blink_rate <= 0.8
        assert 0.0 <= s.blink_double <= 0.35
        assert 0.5 <= s.speech_fraction <= 0.95
        assert s.brow_lag in range(5)
        for r in (s.smile, s.brow, s.yaw, s.pitch, s.roll):
            assert 0.0 < r.damping < 1.0 and r.freq > 0 and r.amp > 0


# --- blink statistics -----------------------------------------------------------------

def _expected_blinks(rate: float, seconds: float) -> float:
    # Inter-blink gaps are Exp(mean FPS / rate) + 3 frames.
    return seconds / (1.0 / rate + 3.0 / FPS)


@pytest.mark.parametrize("rate", [0.2, 0.6])
def test_blink_count_follows_blink_rate(rate):
    seconds = 600
    counts = []
    for seed in (11, 12, 13):
        sig = _sig(seed, blink_rate=rate, blink_double=0.0)
        counts.append(_onsets(_utt(sig, FPS * seconds, 500 + seed)[:, M.BLINK]))
    expected = _expected_blinks(rate, seconds)
    for c in counts:
        assert 0.75 * expected <= c <= 1.2 * expected, (counts, expected)


def test_blink_rate_orders_drivers():
    slow = _onsets(_utt(_sig(21, blink_rate=0.2, blink_double=0.0), FPS * 600, 1)[:, M.BLINK])
    fast = _onsets(_utt(_sig(21, blink_rate=0.7, blink_double=0.0), FPS * 600, 1)[:, M.BLINK])
    assert 2.4 <= fast / slow <= 4.0, (slow, fast)


def test_double_blinks_add_blinks():
    single = _onsets(_utt(_sig(5, blink_rate=0.3, blink_double=0.0), FPS * 600, 9)[:, M.BLINK])
    double = _onsets(_utt(_sig(5, blink_rate=0.3, blink_double=1.0), FPS * 600, 9)[:, M.BLINK])
    assert 1.5 <= double / single <= 2.2, (single, double)


def test_blink_count_of_drawn_drivers_matches_their_rate():
    """Unmodified signatures: the onset count of a 10-minute utterance is within
    [0.7, 1.15] of what blink_rate and blink_double predict (overlapping blinks merge,
    hence the lower bound)."""
    seconds = 600
    for seed in range(6):
        sig = _sig(seed)
        n = _onsets(_utt(sig, FPS * seconds, 1000 + seed)[:, M.BLINK])
        expected = _expected_blinks(sig.blink_rate, seconds) * (1 + sig.blink_double)
        assert 0.7 * expected <= n <= 1.15 * expected, (seed, n, expected)


# --- speech rhythm --------------------------------------------------------------------

@pytest.mark.parametrize("rate", [2.5, 5.0])
def test_jaw_openings_follow_syllable_rate(rate):
    """With short attack/decay each syllable is its own jaw peak: a driver who speaks 95%
    of the time opens the jaw 0.75..1.0 times per syllable period."""
    seconds = 300
    for seed in (0, 3):
        sig = _sig(seed, syllable_rate=rate, jaw_attack=1.5, jaw_decay=3.0, rhythm=12.0,
                   speech_fraction=0.95)
        jaw = _utt(sig, FPS * seconds, 2000 + seed)[:, M.JAW]
        per_s = _peaks(jaw) / seconds
        assert 0.75 * rate <= per_s <= 1.0 * rate, (seed, per_s)


def test_faster_talker_opens_the_jaw_more_often():
    shape = {"jaw_attack": 1.5, "jaw_decay": 3.0, "rhythm": 12.0, "speech_fraction": 0.95}
    slow = _peaks(_utt(_sig(8, syllable_rate=2.5, **shape), FPS * 300, 4)[:, M.JAW])
    fast = _peaks(_utt(_sig(8, syllable_rate=5.0, **shape), FPS * 300, 4)[:, M.JAW])
    assert 1.7 <= fast / slow <= 2.3, (slow, fast)


def test_speech_fraction_sets_the_share_of_pauses():
    """``speech_fraction`` is documented as the share of time speaking (vs pauses): a
    driver at 0.5 must pause (jaw closed for >= 0.5 s) a sizeable share of the time, one
    at 0.95 hardly ever."""
    shape = {"syllable_rate": 4.0, "jaw_attack": 1.5, "jaw_decay": 3.0, "rhythm": 12.0}
    half = np.mean([_pause_share(_utt(_sig(s, speech_fraction=0.5, **shape), FPS * 300, s)[:, M.JAW])
                    for s in range(4)])
    most = np.mean([_pause_share(_utt(_sig(s, speech_fraction=0.95, **shape), FPS * 300, s)[:, M.JAW])
                    for s in range(4)])
    assert most < 0.05, most
    assert half >= 0.25, f"speech_fraction=0.5 pauses only {half:.1%} of the time"
