"""Where this process stands in a multi-process launch, known before torch is imported.

Fabric's DDP launcher and ``torchrun`` start one process per device and set ``RANK`` /
``LOCAL_RANK``; the CLI reads them so that only rank 0 prints plans, progress and
tables, while ``avbench list`` and friends stay free of a torch import.
"""

from __future__ import annotations

import os


def process_rank() -> int:
    """This process's global rank as the launcher set it (0 outside distributed runs)."""
    for var in ("RANK", "LOCAL_RANK"):
        if var in os.environ:
            return int(os.environ[var])
    return 0
