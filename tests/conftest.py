"""Shared fixtures: isolated cache, tiny datasets, the CLI runner (helpers live in helpers.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import NVFAIR_SOURCES, NVFAIR_SPLITS, write_video


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's cache."""
    monkeypatch.setenv("AVBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("AVBENCH_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("AVBENCH_PLUGINS", raising=False)


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


@pytest.fixture(scope="session")
def tiny_synthetic(tmp_path_factory) -> Path:
    """A 6-identity synthetic dataset with short videos: enough for end-to-end runs."""
    from avbench.synth.dataset import SynthConfig, synthesize

    path = tmp_path_factory.mktemp("tiny-synth") / "data"
    synthesize(SynthConfig(identities=6, self_per_generator=2, cross_per_generator=2,
                           min_frames=20, max_frames=24), path, workers=1)
    return path
