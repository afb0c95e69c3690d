"""Decode policy and error reporting of avbench.data.video, on tiny generated videos."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from avbench.data.video import (
    VideoDecodeError,
    VideoInfo,
    decode_gray,
    probe,
    write_gray_video,
)

N, H, W = 20, 48, 64
RAMP = 20 + 10 * np.arange(N)  # per-frame brightness 20, 30, ..., 210
TOL = 3.0  # grey levels; H.264 at CRF 18 is lossy but close on flat frames


def ramp_frames(h: int = H, w: int = W) -> np.ndarray:
    return np.broadcast_to(RAMP[:, None, None], (N, h, w)).astype(np.uint8)


@pytest.fixture(scope="module")
def ramp_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gray_video(tmp_path_factory.mktemp("video") / "ramp.mp4", ramp_frames())


def frame_means(frames: np.ndarray) -> np.ndarray:
    return frames.reshape(len(frames), -1).mean(axis=1)


def test_decode_shape_dtype_and_order(ramp_video: Path) -> None:
    frames = decode_gray(ramp_video)
    assert frames.shape == (N, 128, 128)
    assert frames.dtype == np.uint8
    # every frame, in presentation order (B-frames are reordered by the decoder)
    np.testing.assert_allclose(frame_means(frames), RAMP, atol=TOL)


def test_size_and_max_frames(ramp_video: Path) -> None:
    full = decode_gray(ramp_video)
    first5 = decode_gray(ramp_video, max_frames=5)
    assert first5.shape == (5, 128, 128)
    np.testing.assert_array_equal(first5, full[:5])
    assert decode_gray(ramp_video, size=32).shape == (N, 32, 32)
    assert decode_gray(ramp_video, max_frames=1000).shape == (N, 128, 128)
    with pytest.raises(ValueError):
        decode_gray(ramp_video, max_frames=0)


@pytest.mark.parametrize("h, w", [(48, 64), (64, 48)], ids=["landscape", "portrait"])
def test_non_square_is_centre_cropped(tmp_path: Path, h: int, w: int) -> None:
    frames = np.full((4, h, w), 128, np.uint8)
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    # white marker strips outside the central square; they must not survive the crop
    marked = np.full_like(frames, 255)
    marked[:, top : top + side, left : left + side] = 128
    video = write_gray_video(tmp_path / "strips.mp4", marked)
    decoded = decode_gray(video)
    assert decoded.shape == (4, 128, 128)
    assert int(decoded.max()) <= 128 + 8, "side-strip marker leaked into the crop"
    assert int(decoded.min()) >= 128 - 8


def test_rgb_input_and_probe(tmp_path: Path, ramp_video: Path) -> None:
    rgb = np.repeat(ramp_frames()[..., None], 3, axis=-1)
    video = write_gray_video(tmp_path / "rgb.mp4", rgb, fps=30)
    np.testing.assert_allclose(frame_means(decode_gray(video)), RAMP, atol=TOL)
    assert probe(video) == VideoInfo(n_frames=N, fps=30.0, width=W, height=H)
    assert probe(ramp_video) == VideoInfo(n_frames=N, fps=25.0, width=W, height=H)


def test_mpeg4_encoder_round_trip(tmp_path: Path) -> None:
    video = write_gray_video(tmp_path / "m4.mp4", ramp_frames(), codec="mpeg4")
    np.testing.assert_allclose(frame_means(decode_gray(video)), RAMP, atol=TOL)


@pytest.mark.parametrize(
    "frames",
    [
        np.zeros((2, 47, 64), np.uint8),  # odd height: yuv420p needs even sizes
        np.zeros((2, 48, 64), np.float32),
        np.zeros((0, 48, 64), np.uint8),
        np.zeros((2, 48, 64, 4), np.uint8),
    ],
    ids=["odd", "float", "empty", "rgba"],
)
def test_write_rejects_bad_frames(tmp_path: Path, frames: np.ndarray) -> None:
    with pytest.raises(ValueError):
        write_gray_video(tmp_path / "bad.mp4", frames)


# --- errors: each names the file ---------------------------------------------------


def assert_decode_error(path: Path, match: str, chained: bool) -> None:
    for fn in (decode_gray, probe):
        with pytest.raises(VideoDecodeError, match=match) as info:
            fn(path)
        assert path.name in str(info.value)
        if chained:
            assert isinstance(info.value.__cause__, av.error.FFmpegError)


def test_missing_file(tmp_path: Path) -> None:
    assert_decode_error(tmp_path / "nope.mp4", "not found", chained=False)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    assert_decode_error(path, "empty", chained=False)


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 20)
    assert_decode_error(path, "cannot decode", chained=True)


def test_truncated_mp4(tmp_path: Path, ramp_video: Path) -> None:
    path = tmp_path / "truncated.mp4"
    path.write_bytes(ramp_video.read_bytes()[:300])
    assert_decode_error(path, "cannot decode", chained=True)


def test_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "audio_only.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        silence = np.zeros((1, 800), np.int16)
        frame = av.AudioFrame.from_ndarray(silence, format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    assert_decode_error(path, "no video stream", chained=False)


def test_garbage_packets(tmp_path: Path, ramp_video: Path) -> None:
    """A valid container whose compressed data is zeroed fails inside the decoder."""
    data = bytearray(ramp_video.read_bytes())
    at = data.find(b"mdat")
    box_size = int.from_bytes(data[at - 4 : at], "big")
    data[at + 4 : at - 4 + box_size] = bytes(box_size - 8)
    path = tmp_path / "zeroed.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(VideoDecodeError, match="cannot decode") as info:
        decode_gray(path)
    assert path.name in str(info.value)
    assert isinstance(info.value.__cause__, av.error.FFmpegError)


def test_zero_frames(tmp_path: Path) -> None:
    """Header (moov first, 'faststart') intact but no media data: demuxes to nothing."""
    full = tmp_path / "faststart.mp4"
    with av.open(str(full), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4")
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for img in ramp_frames()[:5]:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = full.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    path = tmp_path / "no_media.mp4"
    path.write_bytes(data[: data.find(b"mdat") + 4])
    with pytest.raises(VideoDecodeError, match="0 frames") as info:
        decode_gray(path)
    assert path.name in str(info.value)
