"""Where avbench keeps files between runs (dataset indexes, decoded frames)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

CACHE_DIR_ENV = "AVBENCH_CACHE_DIR"


def default_cache_dir() -> Path:
    """The cache root: ``$AVBENCH_CACHE_DIR`` if set, else the per-user OS cache folder.

    The variable exists so clusters can point the (large) frame cache at scratch
    storage shared by all jobs, and tests can isolate it in a temp folder.  The
    folder is not created here; writers create what they need.
    """
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("avbench"))
