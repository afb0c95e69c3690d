"""The contact sheet: its layout, that it shows the dataset's frames, and the CLI flag."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from avbench.synth.dataset import SynthConfig, make_plan, render_video
from avbench.synth.preview import (
    GAP,
    HEADER_H,
    LABEL_W,
    ROWS_PER_BLOCK,
    SCALE,
    TITLE_H,
    choose_rows,
    contact_sheet,
)

CONFIG = SynthConfig(identities=6)
CELL = CONFIG.size * SCALE
BLOCK_H = TITLE_H + ROWS_PER_BLOCK * (CELL + GAP)


@pytest.fixture(scope="module")
def sheet(tmp_path_factory) -> np.ndarray:
    path = contact_sheet(CONFIG, tmp_path_factory.mktemp("preview") / "sub" / "preview.png")
    assert path.name == "preview.png" and path.is_file()
    img = cv2.imread(str(path))
    assert img is not None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def first_frame(img: np.ndarray, block: int, row: int, col: int = 0) -> np.ndarray:
    y = HEADER_H + block * BLOCK_H + TITLE_H + row * (CELL + GAP) + GAP // 2
    x = LABEL_W + col * (CELL + GAP)
    return img[y:y + CELL, x:x + CELL].astype(np.float64)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_size_is_the_layout(sheet):
    height = HEADER_H + 3 * BLOCK_H  # three blocks of four rows (3 generators + original in c)
    width = LABEL_W + 6 * (CELL + GAP)
    assert sheet.shape == (height, width, 3)


def test_frames_per_row_and_frame_size(tmp_path):
    config = SynthConfig(identities=6, size=64, min_frames=8, max_frames=10)
    img = cv2.imread(str(contact_sheet(config, tmp_path / "p.png", frames_per_row=3)))
    cell = 64 * SCALE
    height = HEADER_H + 3 * (TITLE_H + ROWS_PER_BLOCK * (cell + GAP))
    assert img.shape == (height, LABEL_W + 3 * (cell + GAP), 3)


def test_not_blank(sheet):
    assert sheet.std() > 30
    for block, row in itertools.product(range(3), range(ROWS_PER_BLOCK)):
        assert first_frame(sheet, block, row).std() > 10  # every cell holds a face


def test_shows_the_datasets_frames(sheet):
    """The first cell is frame 0 of the video the dataset renders, upscaled by SCALE."""
    plan = make_plan(CONFIG)
    row = choose_rows(plan)[0][0]
    assert row.in_dataset and row.video in plan.videos
    frames, _ = render_video(CONFIG, plan.identities, row.video, {})
    expected = cv2.resize(frames[0], (CELL, CELL), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(first_frame(sheet, 0, 0), expected)


def test_rows_compare_what_the_titles_say():
    plan = make_plan(CONFIG)
    a, b, c = choose_rows(plan)
    assert len(a) == len(b) == ROWS_PER_BLOCK
    assert len({(r.video.driver, r.video.clip, r.video.generator) for r in a}) == 1
    assert len({r.video.target for r in a}) == ROWS_PER_BLOCK
    assert a[0].video.target == a[0].video.driver  # self first
    assert len({r.video.target for r in b}) == 1
    assert len({r.video.driver for r in b}) == ROWS_PER_BLOCK
    assert b[0].video.target == b[0].video.driver
    assert [r.video.generator for r in c] == [*CONFIG.generators, "original"]
    assert len({(r.video.target, r.video.driver, r.video.clip) for r in c}) == 1
    for r in (*a, *b, *c):  # a row is marked a dataset file exactly when it is one
        assert r.in_dataset == (r.video in plan.videos)
    assert c[-1].in_dataset  # the original is always a file


def test_appearance_and_motion_are_separated(sheet):
    pairs = list(itertools.combinations(range(ROWS_PER_BLOCK), 2))
    diff_a = [mad(first_frame(sheet, 0, i), first_frame(sheet, 0, j)) for i, j in pairs]
    diff_b = [mad(first_frame(sheet, 1, i), first_frame(sheet, 1, j)) for i, j in pairs]
    diff_c = [mad(first_frame(sheet, 2, i), first_frame(sheet, 2, j)) for i, j in pairs]
    assert min(diff_a) > 15, diff_a  # different targets look different
    assert max(diff_b) < min(diff_a), (diff_b, diff_a)  # one target, whoever drives
    assert max(diff_c) < min(diff_a), (diff_c, diff_a)  # one target, whichever generator


def test_cli_writes_preview(tmp_path):
    out = tmp_path / "synth"
    env = {**os.environ, "AVBENCH_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}
    p = subprocess.run([sys.executable, "-m", "avbench", "data", "synth", "--out", str(out),
                        "--identities", "6", "--preview", "--workers", "1"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
                       check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    img = cv2.imread(str(out / "preview.png"))
    assert img is not None and img.shape == (HEADER_H + 3 * BLOCK_H, LABEL_W + 6 * (CELL + GAP), 3)
    assert "preview.png" in p.stdout
