"""Evaluation scoring time as the test set grows: score table -> every headline metric.

The metrics (:func:`avbench.metrics.summarize`: mean per-target AUC, pooled AUC, both
with 1000 cluster-bootstrap resamples, EER, TAR@FAR) are computed from score tables
of NVFAIR-like shape: 51 pairs per target, one in three positive (the synthetic
default's ratio), for growing numbers of targets.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from avbench.metrics import summarize

PAIRS_PER_TARGET = 51


def score_table(n_targets: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_targets * PAIRS_PER_TARGET
    label = (np.arange(n) % 3 == 0).astype(np.int64)
    return pd.DataFrame({"target": np.repeat([f"t{i:05d}" for i in range(n_targets)], PAIRS_PER_TARGET),
                         "label": label, "score": rng.normal(size=n) + label})


def scoring_time(n_targets: int, repeats: int = 3) -> dict:
    """Best-of-``repeats`` seconds of ``summarize`` on a table of ``n_targets`` targets."""
    table = score_table(n_targets)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        summarize(table)
        times.append(time.perf_counter() - start)
    return {"benchmark": "scoring", "targets": n_targets, "pairs": len(table),
            "seconds": min(times), "pairs_per_s": len(table) / min(times)}
