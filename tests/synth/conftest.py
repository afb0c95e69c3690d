"""Session fixture: the embedded default synthetic dataset, generated once per test session.

Generating it takes one to two minutes on two cores, so every test of its known
answers shares one copy.  It is written into a session temporary cache directory,
passed explicitly: ``tests/conftest.py`` points ``AVBENCH_CACHE_DIR`` at a fresh
folder for each test, so relying on the default cache would regenerate it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class DefaultSynthetic:
    """The default dataset as the tests see it."""

    path: Path  # dataset root (NVFAIR layout)
    index: object  # avbench.data.index.DatasetIndex
    cache_dir: Path  # session cache (index, decoded frames)
    generation_s: float  # wall time of ensure_dataset (the generation itself)
    report: Path  # JSON file the known-answer tests record their measurements in

    def record(self, key: str, value) -> None:
        """Add ``key: value`` to the session's measurement report (printed at the end)."""
        data = json.loads(self.report.read_text()) if self.report.exists() else {}
        data[key] = value
        self.report.write_text(json.dumps(data, indent=1, sort_keys=True))


@pytest.fixture(scope="session")
def default_synthetic(tmp_path_factory) -> DefaultSynthetic:
    """Path and index of ``ensure_dataset(DEFAULT_CONFIG)``, written once per session."""
    from avbench.synth.default import DEFAULT_CONFIG, ensure_dataset
    from avbench.synth.plugin import build_index

    cache_dir = tmp_path_factory.mktemp("synth-cache")
    start = time.perf_counter()
    path = ensure_dataset(DEFAULT_CONFIG, cache_dir)
    generation_s = time.perf_counter() - start
    index = build_index(path, cache_dir=cache_dir)
    report = cache_dir / "known_answers.json"
    out = DefaultSynthetic(path, index, cache_dir, generation_s, report)
    out.record("generation_s", round(generation_s, 1))
    out.record("videos", len(index.videos))
    print(f"\n[default synthetic] generated {len(index.videos)} videos in {generation_s:.1f} s "
          f"-> {path}\n[default synthetic] measurements: {report}")
    return out
