"""A contact sheet of the synthetic dataset: a human check of what it contains.

Numbers cannot tell you that the synthetic data is *right*; a look can.  The
benchmark only makes sense if appearance (who the target is) and motion (who
drives) are separated, and if the generators transfer motion differently.  The
sheet puts exactly those comparisons side by side, one video per row, a few
frames evenly spaced in time:

a. **same driver, different targets**: one driver's utterance rendered by one
   generator onto four targets; the faces differ, the motion (mouth, blinks,
   head pose) is visibly the same in every column.
b. **same target, different drivers**: one target driven by itself, then by three
   other drivers; the face stays the same, the motion differs.
c. **each generator**: one identity self-reenacted with one of its utterances by
   every generator, and its original (the real driving video): the same face and
   motion, with each generator's own losses (jitter, smoothing, blur).

Frames are rendered on the fly with the dataset's own seeds (:func:`make_plan`,
:func:`render_video`), so rows that are files of the dataset show exactly its
frames, before video compression.  Rows are chosen among the dataset's videos
where possible; a row that is not a file of the dataset (needed to complete a
comparison, e.g. a generator self-reenacting with another generator's
utterance) is marked ``*`` and rendered as that file would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from avbench.synth.dataset import (
    Identity,
    Plan,
    SynthConfig,
    Video,
    _video,
    make_plan,
    render_video,
)

SCALE = 2  # frames are upscaled this much (nearest) so the sheet is readable
LABEL_W = 232  # left margin with each row's label
HEADER_H = 40  # strip at the top with the config
TITLE_H = 30  # strip above each block with its title
GAP = 4  # pixels between frames and between rows
ROWS_PER_BLOCK = 4
BLOCK_TITLES = ("same driver, different targets", "same target, different drivers",
                "each generator")

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BG = (32, 32, 32)  # RGB
_TITLE_BG = (60, 70, 90)
_TEXT = (235, 235, 235)
_DIM = (170, 170, 170)


@dataclass(frozen=True)
class Row:
    video: Video
    in_dataset: bool

    def label(self) -> list[str]:
        v = self.video
        kind = "self" if v.target == v.driver else "cross"
        lines = [f"drv {v.driver} -> tgt {v.target}", f"({v.generator}) clip {v.clip}, {kind}"]
        if not self.in_dataset:
            lines.append("* not a dataset file")
        return lines


def contact_sheet(config: SynthConfig, path: Path, frames_per_row: int = 6) -> Path:
    """Render the three comparison blocks for ``config`` and write them to ``path`` (PNG)."""
    if frames_per_row < 1:
        raise ValueError("frames_per_row must be at least 1")
    path = Path(path)
    plan = make_plan(config)
    blocks = choose_rows(plan)
    cache: dict = {}
    cell = config.size * SCALE
    width = LABEL_W + frames_per_row * (cell + GAP)
    parts = [_header(config, plan, width)]
    for title, rows in zip(BLOCK_TITLES, blocks):
        parts.append(_strip(title, width, TITLE_H, _TITLE_BG, 0.6, 2))
        for row in rows:
            frames, _ = render_video(config, plan.identities, row.video, cache)
            parts.append(_row(row, frames, frames_per_row, cell, width))
    sheet = np.vstack(parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    return path


def choose_rows(plan: Plan) -> tuple[list[Row], list[Row], list[Row]]:
    """The videos of the three blocks, taken from the plan where it has them."""
    config, ids = plan.config, plan.identities
    gen = "facevid2vid" if "facevid2vid" in config.generators else config.generators[0]
    planned = {(v.target, v.driver, v.clip, v.generator) for v in plan.videos}

    def row(target: Identity, driver: Identity, clip: int, generator: str) -> Row:
        return Row(_video(config, target, driver, clip, generator),
                   (target.name, driver.name, clip, generator) in planned)

    def others(first: Identity, exclude: set[str]) -> list[Identity]:
        """Identities of ``first``'s split, then the rest, skipping ``exclude``."""
        pool = [i for i in ids.values() if i.name not in exclude]
        return sorted(pool, key=lambda i: i.split != first.split)

    mine = [v for v in plan.videos if v.generator == gen]

    # a: the (driver, clip) the dataset renders onto the most targets (self first).
    by_utt: dict[tuple[str, int], set[str]] = {}
    for v in mine:
        by_utt.setdefault((v.driver, v.clip), set()).add(v.target)
    (drv_name, clip), tgts = max(by_utt.items(), key=lambda kv: (len(kv[1]), -kv[0][1], kv[0][0]))
    driver = ids[drv_name]
    targets = sorted(tgts, key=lambda t: (t != drv_name, t))[:ROWS_PER_BLOCK]
    targets += [i.name for i in others(driver, set(targets))][:ROWS_PER_BLOCK - len(targets)]
    block_a = [row(ids[t], driver, clip, gen) for t in targets]

    # b: the target the dataset drives by the most drivers, self first, another identity than a's.
    by_tgt: dict[str, dict[str, int]] = {}
    for v in mine:
        by_tgt.setdefault(v.target, {}).setdefault(v.driver, v.clip)
    tgt_name = max((t for t in by_tgt if t != drv_name),
                   key=lambda t: (len(by_tgt[t]), t in by_tgt[t], t))
    target = ids[tgt_name]
    drivers = sorted(by_tgt[tgt_name].items(),
                     key=lambda kv: (kv[0] != tgt_name, kv[0]))[:ROWS_PER_BLOCK]
    used = {d for d, _ in drivers}
    drivers += [(i.name, 0) for i in others(target, used)][:ROWS_PER_BLOCK - len(drivers)]
    block_b = [row(target, ids[d], k, gen) for d, k in drivers]

    # c: a self-reenactment by every generator and the original: same face, same motion.
    # A third face (from the test split where possible), so no row repeats one of a or b.
    shown = {drv_name, tgt_name, *targets, *used}
    fresh = [i for i in ids.values() if i.name not in shown] or list(ids.values())
    third = min(fresh, key=lambda i: (i.split != "test", i.name))
    block_c = [row(third, third, 0, g) for g in (*config.generators, "original")]
    return block_a, block_b, block_c


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color=_TEXT,
          thick: int = 1) -> None:
    cv2.putText(img, text, org, _FONT, scale, color, thick, cv2.LINE_AA)


def _strip(text: str, width: int, height: int, bg, scale: float, thick: int) -> np.ndarray:
    img = np.empty((height, width, 3), np.uint8)
    img[:] = bg
    (_, th), _ = cv2.getTextSize(text, _FONT, scale, thick)
    _text(img, text, (8, (height + th) // 2), scale, _TEXT, thick)
    return img


def _header(config: SynthConfig, plan: Plan, width: int) -> np.ndarray:
    img = np.empty((HEADER_H, width, 3), np.uint8)
    img[:] = _BG
    _text(img, f"avbench synthetic dataset: {config.identities} identities, seed {config.seed}, "
               f"layout {config.layout}, {len(plan.videos)} videos, {config.size}x{config.size} px",
          (8, 16), 0.5)
    _text(img, "each row: one video, frames evenly spaced in time (first to last); "
               "* = rendered for this sheet only, not a file of the dataset", (8, 33), 0.4, _DIM)
    return img


def _row(row: Row, frames: np.ndarray, n: int, cell: int, width: int) -> np.ndarray:
    img = np.empty((cell + GAP, width, 3), np.uint8)
    img[:] = _BG
    idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
    for j, t in enumerate(idx):
        big = cv2.resize(frames[t], (cell, cell), interpolation=cv2.INTER_NEAREST)
        x = LABEL_W + j * (cell + GAP)
        img[GAP // 2:GAP // 2 + cell, x:x + cell] = big
    lines = row.label() + [f"{len(frames)} frames"]
    if n <= 6:
        lines.append(f"shown: {', '.join(map(str, idx))}")
    img[:, :LABEL_W] = _label(lines, cell + GAP)
    return img


def _label(lines: list[str], height: int) -> np.ndarray:
    """A row's label, drawn on its own strip so that no line, however long, reaches
    into the frames beside it."""
    img = np.empty((height, LABEL_W, 3), np.uint8)
    img[:] = _BG
    for i, line in enumerate(lines):
        _text(img, line, (6, 22 + 18 * i), 0.42, _TEXT if i < 2 else _DIM)
    return img


__all__ = ["GAP", "HEADER_H", "LABEL_W", "ROWS_PER_BLOCK", "SCALE", "TITLE_H", "choose_rows",
           "contact_sheet"]
