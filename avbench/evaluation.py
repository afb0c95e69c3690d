"""NVFAIR's verification protocol: which videos are evaluated, which pairs, per-target AUC.

For each target identity, positives are pairs of its self-reenactments and
negatives pair a self-reenactment with a cross-reenactment rendered on the same
target; the headline score is the AUC averaged over targets (Prashnani et al.,
ECCV 2024; the F5C paper, Sec. IV-B).  Pairs are built from the index alone, so a
score file (pairs plus scores) is all that metrics need; the metrics themselves
live in :mod:`avbench.metrics`.

Pairing reads the index's ``kind``: ``self`` and ``cross`` videos are paired,
``original`` ones (real videos) are not.

**Originals.**  avbench leaves real videos out by default.  The reference
evaluation (the F5C paper's public code, after NVFAIR) keeps them: an original is
driven by its own identity, so it is a self video of that identity in training,
validation and in every test set that is not filtered by generator.
:func:`select_videos` with ``originals=True`` does that: it adds the split's
originals of the selection's targets with ``kind`` set to ``self`` (``is_original``
and ``generator == "original"`` still tell them apart, also in score files), so
validation and test pairing treat them as the reference does with no other
switch.  Protocols ask for it per cell and per evaluation group
(:class:`avbench.specs.Cell`, :class:`avbench.specs.EvalGroup`).

**Shared driving video (a shortcut check).**  Two videos *share a driving video*
when they were rendered from the same real recording: the same driver and the same
non-empty ``driving_video`` (NVFAIR: the middle part of
``<target>--<driving video>--<driver>.mp4``; an original's own file name).  Such a
positive pair shows the same motion sequence twice -- an original and its
self-reenactment, or two generators' self-reenactments of one utterance -- so a
model can match it without knowing anything about its driver.
``drop_shared_driving_video`` leaves those positive pairs out; the difference
between an evaluation with and without them measures how much of an AUC such pairs
carry.  Negative pairs never share one (their drivers differ).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from avbench.errors import DatasetError
from avbench.metrics import per_target_auc  # re-exported: metrics has the one implementation

if TYPE_CHECKING:
    from avbench.data.index import DatasetIndex
    from avbench.specs import EvalGroup

__all__ = ["cosine_scores", "evaluation_pairs", "per_target_auc", "checked_pairs", "select_videos",
           "shares_driving_video", "verification_pairs"]


def select_videos(index: DatasetIndex, split: str, generators, originals: bool = False) -> pd.DataFrame:
    """The videos of one split and these generators, in the index's row order.

    ``originals``: also the split's real videos of every identity that is a target in
    that selection, as self videos (``kind`` ``self``; ``is_original`` stays True).
    Originals of other identities are left out, since they would make target groups
    without negatives.
    """
    videos = index.select(split, generators)
    if not originals:
        return videos
    real = index.videos[(index.videos["split"] == split) & index.videos["is_original"]]
    real = real[real["target"].isin(set(videos["target"]))].assign(kind="self")
    return pd.concat([videos, real]).sort_index(kind="stable")


def shares_driving_video(pairs: pd.DataFrame, videos: pd.DataFrame) -> np.ndarray:
    """For each pair (columns ``a``, ``b``: row labels of ``videos``), whether its two videos
    were made from one driving video: same driver, same non-empty ``driving_video``."""
    a = videos.loc[pairs["a"].to_numpy()]
    b = videos.loc[pairs["b"].to_numpy()]
    same = ((a["driver"].to_numpy() == b["driver"].to_numpy())
            & (a["driving_video"].to_numpy() == b["driving_video"].to_numpy())
            & (a["driving_video"].to_numpy() != ""))
    return np.asarray(same, dtype=bool)


def verification_pairs(videos: pd.DataFrame, drop_shared_driving_video: bool = False) -> pd.DataFrame:
    """All per-target pairs of an index selection: columns a, b (row labels), target, label.

    ``drop_shared_driving_video``: leave out positive pairs whose videos share a driving
    video (see the module docstring).  Every self video must then name its driving
    video, otherwise the check could not tell and a DatasetError says which videos lack one.
    """
    rows = []
    paired = videos[videos["kind"].isin(("self", "cross"))]
    for target, group in paired.groupby("target", sort=True):
        selfs = group.index[group["kind"] == "self"].tolist()
        cross = group.index[group["kind"] == "cross"].tolist()
        for i, a in enumerate(selfs):
            rows += [(a, b, target, 1) for b in selfs[i + 1:]]
            rows += [(a, b, target, 0) for b in cross]
    pairs = pd.DataFrame(rows, columns=["a", "b", "target", "label"])
    if not drop_shared_driving_video or pairs.empty:
        return pairs
    unnamed = paired[(paired["kind"] == "self") & (paired["driving_video"] == "")]
    if len(unnamed):
        raise DatasetError(
            f"the shared-driving-video check needs the driving video of every self video, but "
            f"{len(unnamed)} have none (e.g. {unnamed['path'].iloc[0]}): this dataset's layout does "
            "not name it; evaluate this dataset with a protocol without the check")
    drop = shares_driving_video(pairs, videos) & (pairs["label"].to_numpy() == 1)
    return pairs[~drop].reset_index(drop=True)


def evaluation_pairs(videos: pd.DataFrame, group: EvalGroup) -> tuple[pd.DataFrame, dict]:
    """The pairs of one evaluation group's test videos, and what they rest on (stored in a
    row's ``metrics["data"]``): ``test_originals`` (real videos among them) and
    ``positives_dropped_shared_driving_video``."""
    pairs = verification_pairs(videos, drop_shared_driving_video=group.drop_shared_driving_video)
    dropped = 0
    if group.drop_shared_driving_video:
        dropped = int((verification_pairs(videos)["label"] == 1).sum() - (pairs["label"] == 1).sum())
    return pairs, {"test_originals": int(videos["is_original"].sum()),
                   "positives_dropped_shared_driving_video": dropped}


def checked_pairs(videos: pd.DataFrame, group: EvalGroup, dataset: str) -> tuple[pd.DataFrame, dict]:
    """:func:`evaluation_pairs` of a test group, refused when they lack positives or negatives
    (no AUC exists then): what ``avbench run`` and ``avbench evaluate`` score."""
    pairs, pairing = evaluation_pairs(videos, group)
    if pairs["label"].nunique() != 2:
        from avbench.errors import DatasetError

        raise DatasetError(
            f"the test videos of {', '.join(group.generators)} in {dataset} give "
            f"{len(pairs)} pairs without both positives and negatives: each test target "
            "needs two self-reenactments and a cross-reenactment")
    return pairs, pairing


def cosine_scores(pairs: pd.DataFrame, features: dict) -> np.ndarray:
    """Cosine similarity of the feature vectors of each pair's two videos."""
    a = np.stack([features[i] for i in pairs["a"]]).astype(np.float64)
    b = np.stack([features[i] for i in pairs["b"]]).astype(np.float64)
    a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-12
    b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-12
    return (a * b).sum(1)
