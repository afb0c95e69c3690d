"""The embedded default dataset: made once per machine, cached, then just indexed.

``avbench run`` without ``--data`` uses it.  It lives in the cache directory under
a name that includes the synthesis version and the configuration, so a new
avbench that changes the data makes a new folder instead of reusing stale files.
A file lock makes concurrent first runs wait for one writer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from filelock import FileLock

from avbench.paths import default_cache_dir
from avbench.synth.dataset import SYNTH_VERSION, SynthConfig, synthesize

DEFAULT_CONFIG = SynthConfig()


def dataset_dir(config: SynthConfig = DEFAULT_CONFIG, cache_dir: Path | None = None) -> Path:
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:8]
    name = f"{config.layout}-v{SYNTH_VERSION}-n{config.identities}-s{config.seed}-{digest}"
    return (cache_dir or default_cache_dir()) / "synthetic" / name


def ensure_dataset(config: SynthConfig = DEFAULT_CONFIG, cache_dir: Path | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   workers: int | None = None) -> Path:
    """The folder of the default (or given) synthetic dataset, writing it if missing."""
    path = dataset_dir(config, cache_dir)
    if (path / "synth_manifest.json").exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not (path / "synth_manifest.json").exists():
            synthesize(config, path, workers=workers, progress=progress)
    return path
