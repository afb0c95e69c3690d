"""Shared fixtures: isolated cache, throwaway plugin distributions, tiny datasets, CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's cache."""
    monkeypatch.setenv("AVBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("AVBENCH_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("AVBENCH_PLUGINS", raising=False)


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


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(tmp_path):
    """Run ``python -m avbench ...`` in a subprocess, with extra dirs on PYTHONPATH."""

    def run(*args: str, pythonpath: list[Path] = (), env: dict[str, str] | None = None) -> CliResult:
        e = dict(os.environ)
        e["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), e.get("PYTHONPATH", "")])
        e["COLUMNS"] = "200"  # keep Rich tables on one line per row
        e.update(env or {})
        p = subprocess.run([sys.executable, "-m", "avbench", *args], capture_output=True,
                           text=True, env=e, cwd=tmp_path, timeout=300)
        return CliResult(p.returncode, p.stdout, p.stderr)

    return run


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


@pytest.fixture
def tiny_nvfair(tmp_path) -> Path:
    """A decodable NVFAIR-layout tree: 2 test identities with self and cross videos."""
    root = tmp_path / "NVFAIR-v2-release"
    root.mkdir()
    (root / "train_val_test_splits.txt").write_text(NVFAIR_SPLITS)
    (root / "subject_sources.txt").write_text(NVFAIR_SOURCES)
    files = [
        "CREMA-D/tps-generated/1002/1002--1002_IEO_FEA_LO--1002.mp4",
        "CREMA-D/tps-generated/1002/1002--01-01-01-01-01-01-02--Actor_02.mp4",
        "RAVDESS/lia-generated/Actor_02/Actor_02--01-01-01-01-01-02-02--Actor_02.mp4",
        "RAVDESS/facevid2vid-generated/Actor_02/Actor_02--1002_ITS_ANG_HI--1002.mp4",
        "NVIDIA-VC-subset/lia-generated/id001/id001--1001_DFA_ANG_XX--1001.mp4",
        "CREMA-D/originals/1002/1002_IEO_FEA_LO.mp4",
    ]
    for i, rel in enumerate(files):
        write_video(root / rel, seed=i)
    return root
