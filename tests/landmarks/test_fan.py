"""The face_alignment extractor (avbench/landmarks/fan.py): the missing-weights error, and the
real network wherever its weights exist."""

from __future__ import annotations

import pytest

from avbench.errors import NotAvailableError
from avbench.landmarks import fan


def test_missing_weights_that_cannot_be_fetched_name_the_files_and_folder(tmp_path, monkeypatch):
    # Port 9 (discard) on localhost refuses at once: an offline machine, without waiting.
    monkeypatch.setattr(fan, "WEIGHTS", {k: f"http://127.0.0.1:9/{k}" for k in fan.WEIGHTS})
    with pytest.raises(NotAvailableError) as err:
        fan.ensure_weights(tmp_path / "checkpoints")
    msg = str(err.value)
    for name in ("2DFAN4-11f355bf06.pth.tar", "s3fd-619a316812.pth"):
        assert f"{tmp_path / 'checkpoints' / name}   <- http://127.0.0.1:9/{name}" in msg
    assert "$TORCH_HOME/hub/checkpoints" in msg and "--extractor mediapipe" in msg
    assert not list((tmp_path / "checkpoints").glob("*.part"))  # no half files left behind


def test_present_weights_are_not_fetched(tmp_path, monkeypatch):
    monkeypatch.setattr(fan, "WEIGHTS", {k: "http://127.0.0.1:9/x" for k in fan.WEIGHTS})
    for name in fan.WEIGHTS:
        (tmp_path / name).write_bytes(b"x")
    assert fan.ensure_weights(tmp_path) == tmp_path


def test_weights_folder_follows_torch_home(tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    assert fan.weights_dir() == tmp_path / "hub" / "checkpoints"


def test_extractor_fails_cleanly_where_weights_are_missing(tmp_path, monkeypatch):
    pytest.importorskip("face_alignment")
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(fan, "WEIGHTS", {k: f"http://127.0.0.1:9/{k}" for k in fan.WEIGHTS})
    with pytest.raises(NotAvailableError, match="face-alignment's network weights"):
        fan.FaceAlignment2D(device="cpu")


def _have_weights() -> bool:
    try:
        return all((fan.weights_dir() / n).is_file() for n in fan.WEIGHTS)
    except ImportError:
        return False


@pytest.mark.skipif(not _have_weights(), reason="face-alignment weights not on this machine "
                    "(place them as the missing-weights error says to run this test)")
def test_real_network_finds_68_points_on_a_synthetic_face():
    pytest.importorskip("face_alignment")
    import numpy as np

    from avbench.synth.face import random_appearance
    from avbench.synth.generators import REGISTRY, make_target

    target = make_target(random_appearance(np.random.default_rng(0)), 128)
    frames, truth = REGISTRY["original"].frames(target, np.zeros((3, 10), np.float32), np.random.default_rng(0))
    gray = frames.mean(-1).astype(np.uint8)
    out = fan.FaceAlignment2D(device="cpu")(gray)
    assert out.shape == (3, 68, 2) and not np.isnan(out).any()
    assert np.median(np.linalg.norm(out - truth, axis=-1)) < 6.0  # pixels, on a 128-pixel face crop
