"""NVFAIR's verification protocol: per-target pairs and per-target AUC.

For each target identity, positives are pairs of its self-reenactments and
negatives pair a self-reenactment with a cross-reenactment rendered on the same
target; the headline score is the AUC averaged over targets (Prashnani et al.,
ECCV 2024; the F5C paper, Sec. IV-B).  Pairs are built from the index alone, so a
score file (pairs plus scores) is all that metrics need; the metrics themselves
live in :mod:`avbench.metrics`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from avbench.metrics import per_target_auc  # re-exported: metrics has the one implementation

__all__ = ["cosine_scores", "per_target_auc", "verification_pairs"]


def verification_pairs(videos: pd.DataFrame) -> pd.DataFrame:
    """All per-target pairs of an index selection: columns a, b (row labels), target, label."""
    rows = []
    for target, group in videos[~videos["is_original"]].groupby("target", sort=True):
        selfs = group.index[group["kind"] == "self"].tolist()
        cross = group.index[group["kind"] == "cross"].tolist()
        for i, a in enumerate(selfs):
            rows += [(a, b, target, 1) for b in selfs[i + 1:]]
            rows += [(a, b, target, 0) for b in cross]
    return pd.DataFrame(rows, columns=["a", "b", "target", "label"])


def cosine_scores(pairs: pd.DataFrame, features: dict) -> np.ndarray:
    """Cosine similarity of the feature vectors of each pair's two videos."""
    a = np.stack([features[i] for i in pairs["a"]]).astype(np.float64)
    b = np.stack([features[i] for i in pairs["b"]]).astype(np.float64)
    a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-12
    b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-12
    return (a * b).sum(1)
