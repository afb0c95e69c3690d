"""Drivers: idiosyncratic facial-motion signatures and their realisations ("utterances").

Each identity gets a :class:`DriverSignature`: per-channel dynamics (resonance
frequency, damping, amplitude), speech rhythm (syllable rate, jaw attack/decay),
blink habits (rate, closing and opening speed), brow asymmetry and lag, head sway
and its coupling to speech, gaze saccades.  :func:`utterance` draws one
realisation of that signature: different clips of one driver differ sample by
sample but share the statistics, which is exactly what a fingerprinting method
must learn.  Mean postures differ only a little between drivers, so a single
frame says almost nothing about who drives (as in the real task).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHANNELS = ("jaw", "smile", "brow_l", "brow_r", "blink", "yaw", "pitch", "roll", "gaze_x", "gaze_y")
JAW, SMILE, BROW_L, BROW_R, BLINK, YAW, PITCH, ROLL, GAZE_X, GAZE_Y = range(len(CHANNELS))
FPS = 25.0


@dataclass(frozen=True)
class Resonator:
    """A damped second-order stochastic oscillator (AR(2) driven by white noise)."""

    freq: float  # resonance frequency in Hz
    damping: float  # pole radius in (0, 1): closer to 1 rings longer
    amp: float  # standard deviation of the output


@dataclass(frozen=True)
class DriverSignature:
    syllable_rate: float  # syllables per second while speaking
    rhythm: float  # gamma shape of syllable intervals: high = metronomic
    jaw_amp: float
    jaw_attack: float  # frames to open
    jaw_decay: float  # frames to close
    speech_fraction: float  # share of time speaking (vs pauses)
    smile: Resonator
    smile_mean: float
    smile_jaw: float  # lip corners follow the jaw
    brow: Resonator
    brow_jaw: float  # brows rise on stressed syllables
    brow_asym: float  # left/right amplitude ratio
    brow_lag: int  # frames the right brow lags the left
    blink_rate: float  # per second
    blink_close: float  # frames
    blink_open: float  # frames
    blink_double: float  # probability of a double blink
    yaw: Resonator
    pitch: Resonator
    roll: Resonator
    nod_jaw: float  # head pitch follows speech
    roll_yaw: float  # head roll coupled to yaw
    saccade_rate: float  # per second
    gaze_spread: float
    gaze_yaw: float  # eyes counter-rotate against head yaw
    posture: tuple[float, float, float]  # small mean yaw, pitch, roll


def random_signature(rng: np.random.Generator) -> DriverSignature:
    """Draw one driver's motor habits."""
    u = rng.uniform
    return DriverSignature(
        syllable_rate=u(2.0, 6.0), rhythm=u(2.0, 14.0), jaw_amp=u(0.5, 0.9),
        jaw_attack=u(1.0, 4.0), jaw_decay=u(2.0, 8.0), speech_fraction=u(0.5, 0.95),
        smile=Resonator(u(0.3, 2.0), u(0.93, 0.99), u(0.10, 0.35)), smile_mean=u(-0.02, 0.03),
        smile_jaw=u(-0.4, 0.4),
        brow=Resonator(u(0.5, 3.5), u(0.93, 0.99), u(0.10, 0.40)), brow_jaw=u(0.0, 0.8),
        brow_asym=float(np.exp(rng.normal(0, 0.4))), brow_lag=int(rng.integers(0, 5)),
        blink_rate=u(0.15, 0.8), blink_close=u(1.5, 4.0), blink_open=u(2.5, 9.0),
        blink_double=u(0.0, 0.35),
        yaw=Resonator(u(0.2, 1.5), u(0.94, 0.995), u(0.05, 0.11)),
        pitch=Resonator(u(0.4, 2.5), u(0.93, 0.99), u(0.03, 0.07)),
        roll=Resonator(u(0.2, 1.5), u(0.94, 0.995), u(0.02, 0.05)),
        nod_jaw=u(-0.12, 0.12), roll_yaw=u(-0.5, 0.5),
        saccade_rate=u(0.3, 2.5), gaze_spread=u(0.15, 0.7), gaze_yaw=u(0.0, 2.0),
        posture=(float(rng.normal(0, 0.01)), float(rng.normal(0, 0.008)), float(rng.normal(0, 0.005))),
    )


def _resonate(r: Resonator, n: int, rng: np.random.Generator, burn: int = 200) -> np.ndarray:
    w = 2 * np.pi * r.freq / FPS
    a1, a2 = 2 * r.damping * np.cos(w), -r.damping**2
    var = (1 - a2) / ((1 + a2) * ((1 - a2) ** 2 - a1**2))  # AR(2) variance for unit noise
    e = rng.normal(0, r.amp / np.sqrt(var), n + burn)
    x = np.zeros(n + burn)
    for t in range(2, n + burn):
        x[t] = a1 * x[t - 1] + a2 * x[t - 2] + e[t]
    return x[burn:]


def _speech(sig: DriverSignature, n: int, rng: np.random.Generator) -> np.ndarray:
    """Jaw opening: syllable pulses in speech bursts, shaped by attack and decay."""
    impulses = np.zeros(n + 64)
    phrase = 2.5 * FPS  # mean phrase length in frames
    pause = phrase * (1 - sig.speech_fraction) / sig.speech_fraction  # so speech takes that share
    t = -rng.uniform(0, 20)
    phrase_end = t + rng.exponential(phrase)
    while t < n + 64:
        t += rng.gamma(sig.rhythm, FPS / sig.syllable_rate / sig.rhythm)
        if t >= phrase_end:
            t = phrase_end + rng.exponential(pause)
            phrase_end = t + rng.exponential(phrase)
            continue
        if 0 <= t < n + 64:
            impulses[int(t)] += sig.jaw_amp * rng.uniform(0.45, 1.15)
    k = np.arange(48, dtype=float)
    kernel = (1 - np.exp(-k / sig.jaw_attack)) * np.exp(-k / sig.jaw_decay)
    kernel /= kernel.max()
    return np.clip(np.convolve(impulses, kernel)[:n], 0.0, 1.0)


def _blinks(sig: DriverSignature, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    t = rng.exponential(FPS / sig.blink_rate) - FPS
    while t < n:
        starts = [t] + ([t + sig.blink_close + sig.blink_open + 2] if rng.random() < sig.blink_double else [])
        for s in starts:
            c, o = sig.blink_close * rng.uniform(0.8, 1.2), sig.blink_open * rng.uniform(0.8, 1.2)
            idx = np.arange(max(0, int(s)), min(n, int(s + c + o + 2)))
            d = idx - s
            closing = np.clip(d / c, 0, 1)
            opening = np.clip(1 - (d - c - 1) / o, 0, 1)
            out[idx] = np.maximum(out[idx], np.where(d <= c + 1, closing, opening) ** 0.7)
        t += rng.exponential(FPS / sig.blink_rate) + 3
    return out


def _saccades(sig: DriverSignature, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((n, 2))
    target = rng.normal(0, sig.gaze_spread, 2)
    pos = target.copy()
    next_jump = rng.exponential(FPS / sig.saccade_rate)
    for t in range(n):
        if t >= next_jump:
            target = np.clip(rng.normal(0, sig.gaze_spread, 2), -1, 1)
            next_jump = t + rng.exponential(FPS / sig.saccade_rate) + 2
        pos += 0.6 * (target - pos)  # saccades are fast: a few frames
        out[t] = pos
    return out


def utterance(sig: DriverSignature, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """One clip of this driver's motion: (n_frames, 10) float32, channels as in :data:`CHANNELS`."""
    n = n_frames
    m = np.zeros((n, len(CHANNELS)))
    jaw = _speech(sig, n, rng)
    m[:, JAW] = jaw
    m[:, SMILE] = sig.smile_mean + _resonate(sig.smile, n, rng) + sig.smile_jaw * (jaw - jaw.mean())
    brow = _resonate(sig.brow, n + sig.brow_lag, rng)
    stress = sig.brow_jaw * np.concatenate([np.zeros(sig.brow_lag), jaw])[: n + sig.brow_lag]
    brow = brow + stress
    left = brow[sig.brow_lag:] * np.sqrt(sig.brow_asym)
    right = brow[: n] / np.sqrt(sig.brow_asym)
    m[:, BROW_L], m[:, BROW_R] = left, right
    m[:, BLINK] = _blinks(sig, n, rng)
    yaw = _resonate(sig.yaw, n, rng)
    m[:, YAW] = sig.posture[0] + yaw
    m[:, PITCH] = sig.posture[1] + _resonate(sig.pitch, n, rng) + sig.nod_jaw * jaw
    m[:, ROLL] = sig.posture[2] + _resonate(sig.roll, n, rng) + sig.roll_yaw * 0.3 * yaw
    gaze = _saccades(sig, n, rng)
    m[:, GAZE_X] = np.clip(gaze[:, 0] - sig.gaze_yaw * yaw, -1, 1)
    m[:, GAZE_Y] = np.clip(gaze[:, 1], -1, 1)
    return m.astype(np.float32)
