"""The fill policy for frames without a face (avbench/landmarks/fill.py): known answers."""

from __future__ import annotations

import numpy as np
import pytest

from avbench.landmarks.fill import fill_missing, missing_frames


def test_interpolates_inside_and_holds_at_the_ends():
    x = np.full((6, 1, 2), np.nan, np.float32)
    x[1] = [[0.0, 10.0]]
    x[4] = [[3.0, 40.0]]
    out = fill_missing(x)
    assert missing_frames(x).tolist() == [True, False, True, True, False, True]
    np.testing.assert_allclose(out[:, 0, 0], [0, 0, 1, 2, 3, 3])
    np.testing.assert_allclose(out[:, 0, 1], [10, 10, 20, 30, 40, 40])
    assert out.dtype == np.float32 and not np.isnan(out).any()


def test_complete_video_is_returned_unchanged():
    x = np.random.default_rng(0).normal(size=(5, 3, 2)).astype(np.float32)
    assert fill_missing(x) is x


def test_one_nan_coordinate_makes_the_frame_missing():
    x = np.zeros((3, 2, 2), np.float32)
    x[1, 0, 1] = np.nan
    assert missing_frames(x).tolist() == [False, True, False]
    assert fill_missing(x)[1, 0, 1] == 0.0


def test_no_face_anywhere_cannot_be_filled():
    with pytest.raises(ValueError, match="no face was detected in any frame"):
        fill_missing(np.full((4, 2, 2), np.nan, np.float32))
