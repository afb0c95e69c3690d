"""Helpers shared by tests (importable as ``helpers``: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def make_plugin_dist(site: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str],
                     version: str = "0.0.1") -> Path:
    """Write modules plus a ``.dist-info`` with ``avbench`` entry points into ``site``.

    importlib.metadata discovers a dist-info folder on ``sys.path`` exactly as it would
    for an installed wheel, so this is a real third-party plugin without pip.
    """
    site.mkdir(parents=True, exist_ok=True)
    for name, source in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    eps = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[avbench]\n{eps}\n")
    return site


NVFAIR_SPLITS = """identities in train set:
id001
1001
Actor_01

identities in validation set:
id002

identities in test set:
1002
Actor_02
"""

NVFAIR_SOURCES = """The following subjects are a part of the NVIDIA-VC-subset:
id001
id002

The following subjects are a part of the RAVDESS dataset:
Actor_01
Actor_02

The following subjects are a part of the CREMA-D dataset:
1001
1002
"""


def write_video(path: Path, n_frames: int = 20, size: int = 64, seed: int = 0) -> None:
    from avbench.data.video import write_gray_video

    rng = np.random.default_rng(seed)
    frames = np.clip(rng.normal(128, 40, (n_frames, size, size)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_gray_video(path, frames, fps=25)


def readme_block(lang: str, first_line: str) -> str:
    """The README's one fenced ``lang`` block whose first line is ``first_line``."""
    blocks = re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)
    matches = [b for b in blocks if b.splitlines()[0].strip() == first_line]
    assert len(matches) == 1, f"README must hold exactly one ```{lang} block starting {first_line!r}"
    return matches[0]


class FakeExtractor:
    """A landmark extractor with a known answer, for extraction tests (importable by workers).

    Every frame gives 68 points at (mean intensity, frame index); frames whose index is a
    multiple of 4 have "no face" (NaN), and so does every frame of a black video.  ``calls``
    counts the videos it processed in this process.
    """

    calls = 0

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        type(self).calls += 1
        n = len(frames)
        out = np.zeros((n, 68, 2), np.float32)
        out[..., 0] = frames.reshape(n, -1).mean(1)[:, None]
        out[..., 1] = np.arange(n)[:, None]
        out[::4] = np.nan
        out[frames.reshape(n, -1).max(1) == 0] = np.nan
        return out
