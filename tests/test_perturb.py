"""The robustness protocol's perturbations: deterministic, documented, and what they claim."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from avbench.perturb import (
    BY_NAME,
    PERTURBATIONS,
    Perturbation,
    apply,
    centred_crop,
    get_perturbation,
    resampled_indices,
)


def smooth_video(n: int = 30, size: int = 64) -> np.ndarray:
    """A moving gradient: what a codec and a rescale keep almost exactly."""
    y, x = np.mgrid[0:size, 0:size]
    return np.stack([((x + y + 2 * t) * 255 / (2 * size + 2 * n)).astype(np.uint8) for t in range(n)])


def test_every_perturbation_is_a_pure_function_of_frames_length_and_path():
    frames = smooth_video()
    for p in PERTURBATIONS:
        first = apply(p, frames, 16, "CREMA-D/tps-generated/1001/a.mp4")
        again = apply(p, frames.copy(), 16, "CREMA-D/tps-generated/1001/a.mp4")
        assert first.dtype == np.uint8 and first.shape[1:] == frames.shape[1:], p.name
        np.testing.assert_array_equal(first, again, err_msg=p.name)
    assert [p.name for p in PERTURBATIONS][0] == "clean" and len(BY_NAME) == len(PERTURBATIONS) == 12


def test_clean_changes_nothing_and_mirroring_twice_is_the_identity():
    frames = smooth_video()
    assert apply(BY_NAME["clean"], frames, 16, "x") is frames
    flipped = apply(BY_NAME["hflip"], frames, 16, "x")
    np.testing.assert_array_equal(flipped[:, :, 0], frames[:, :, -1])
    np.testing.assert_array_equal(apply(BY_NAME["hflip"], flipped, 16, "x"), frames)


def test_frame_rate_keeps_the_nearest_frame_in_time():
    np.testing.assert_array_equal(resampled_indices(10, 15), [0, 2, 3, 5, 7, 8])  # round(i * 5 / 3)
    assert len(resampled_indices(250, 15)) == 150  # 10 s at 25 fps -> 10 s at 15 fps
    frames = np.arange(10, dtype=np.uint8)[:, None, None].repeat(4, 1).repeat(4, 2)
    out = apply(BY_NAME["fps_15"], frames, 8, "x")
    assert list(out[:, 0, 0]) == [0, 2, 3, 5, 7, 8]


def test_crops_keep_the_centred_fraction_of_the_clip_length():
    assert centred_crop(100, 64, 0.5) == slice(34, 66)
    assert centred_crop(100, 64, 0.25) == slice(42, 58)
    assert centred_crop(10, 64, 0.5) == slice(0, 10)  # shorter than the crop: all of it
    track = np.zeros((100, 478, 3), np.float32)  # temporal kinds apply to landmark tracks too
    assert apply(BY_NAME["crop_quarter"], track, 64, "x").shape == (16, 478, 3)


def test_noise_has_its_sigma_and_its_seed_is_the_path():
    frames = np.full((20, 64, 64), 128, np.uint8)
    a = apply(BY_NAME["noise_10"], frames, 16, "a.mp4").astype(float)
    assert abs(a.std() - 10) < 0.2 and abs(a.mean() - 128) < 0.2
    b = apply(BY_NAME["noise_10"], frames, 16, "b.mp4").astype(float)
    assert not np.array_equal(a, b)  # another video, other noise


def test_a_constant_video_survives_rescaling_and_the_codec_degrades_with_crf():
    flat = np.full((12, 64, 64), 90, np.uint8)
    np.testing.assert_array_equal(apply(BY_NAME["downscale_4"], flat, 8, "x"), flat)
    frames = smooth_video()
    errors = [np.abs(apply(BY_NAME[f"h264_crf{c}"], frames, 16, "x").astype(int) - frames).mean()
              for c in (23, 28, 35)]
    assert errors[0] < 2.0 and errors[0] <= errors[1] <= errors[2]
    detail = np.random.default_rng(0).integers(0, 256, (4, 64, 64), dtype=np.uint8)
    assert np.abs(apply(BY_NAME["downscale_2"], detail, 4, "x").astype(int) - detail).mean() > 20


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown perturbation 'blur'; known: clean, h264_crf23"):
        get_perturbation("blur")
    with pytest.raises(ValueError, match=r"acts on frames \(N, H, W\) uint8; got float32"):
        apply(BY_NAME["hflip"], np.zeros((3, 4, 4), np.float32), 8, "x")
    with pytest.raises(ValueError, match="cannot perturb an empty video"):
        apply(BY_NAME["fps_15"], np.zeros((0, 4, 4), np.uint8), 8, "x")
    odd = dataclasses.replace(BY_NAME["h264_crf23"])
    with pytest.raises(ValueError, match="even frame sizes; got 5x5"):
        apply(odd, np.zeros((2, 5, 5), np.uint8), 8, "x")
    with pytest.raises(ValueError, match="unknown kind 'swirl'"):
        apply(Perturbation("swirl", "swirl", 1), np.zeros((2, 4, 4), np.uint8), 8, "x")


def test_any_number_of_threads_perturbs_a_test_set_alike():
    from avbench.perturb import perturbed_arrays

    videos = {f"v{i}": smooth_video(12, 32) for i in range(5)}
    keys = {label: f"CREMA-D/{label}.mp4" for label in videos}
    one = perturbed_arrays(BY_NAME["noise_5"], videos, keys, 8, workers=1)
    four = perturbed_arrays(BY_NAME["noise_5"], videos, keys, 8, workers=4)
    assert list(one) == list(videos)
    for label in videos:
        np.testing.assert_array_equal(one[label], four[label])
