"""The mediapipe extractor (avbench/landmarks/mediapipe.py) on rendered faces and on blank frames."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from avbench.landmarks.layouts import layout_for  # noqa: E402
from avbench.landmarks.mediapipe import MediaPipeFaceMesh  # noqa: E402


@pytest.fixture(scope="module")
def face_frames():
    from avbench.synth.face import random_appearance
    from avbench.synth.generators import REGISTRY, make_target
    from avbench.synth.motion import random_signature, utterance

    rng = np.random.default_rng(3)
    target = make_target(random_appearance(rng), 128)
    motion = utterance(random_signature(rng), 12, rng)
    frames, truth = REGISTRY["original"].frames(target, motion, rng)
    return frames.mean(-1).astype(np.uint8), truth


def test_finds_478_points_on_every_frame_of_a_rendered_face(face_frames):
    gray, truth = face_frames
    out = MediaPipeFaceMesh()(gray)
    assert out.shape == (12, 478, 3) and out.dtype == np.float32
    assert not np.isnan(out).any()
    # The nose tip (mesh 4) lands near the ground-truth nose tip (iBUG 30), in pixels.
    assert np.median(np.linalg.norm(out[:, 4, :2] - truth[:, 30], axis=-1)) < 8.0
    assert layout_for(out.shape[1]).select(out).shape == (12, 109, 3)


def test_blank_frames_give_nan_rows_not_fewer_rows(face_frames):
    gray, _ = face_frames
    frames = gray.copy()
    frames[5:8] = 0
    out = MediaPipeFaceMesh()(frames)
    assert out.shape[0] == 12
    missing = np.isnan(out).any(axis=(1, 2))
    assert missing[5:8].all() and not missing[:5].any()
