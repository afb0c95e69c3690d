"""Count tables of a :class:`DatasetIndex`, for ``avbench data index`` and run logs."""

from __future__ import annotations

import pandas as pd

from avbench.data.index import KINDS, SPLITS, DatasetIndex


def identity_counts(index: DatasetIndex) -> pd.DataFrame:
    """Identities per split: listed in the split definition, and seen in the index."""
    listed = index.identities.groupby("split")["identity"].nunique()
    v = index.videos
    seen = pd.concat([v[["target", "split"]].rename(columns={"target": "identity"}),
                      v[["driver", "split"]].rename(columns={"driver": "identity"})])
    seen_n = seen.drop_duplicates().groupby("split")["identity"].nunique()
    targets = v[~v["is_original"]].groupby("split")["target"].nunique()
    rows = [{"split": s, "listed": int(listed.get(s, 0)), "with videos": int(seen_n.get(s, 0)),
             "as target": int(targets.get(s, 0))} for s in SPLITS]
    return pd.DataFrame(rows)


def video_counts(index: DatasetIndex, by: str) -> pd.DataFrame:
    """Videos per ``by`` (generator, source or split) and kind (self / cross / original)."""
    table = pd.crosstab(index.videos[by], index.videos["kind"])
    table = table.reindex(columns=list(KINDS), fill_value=0)
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return table.reset_index().rename(columns={by: by})


def skip_counts(index: DatasetIndex) -> pd.DataFrame:
    if index.skipped.empty:
        return pd.DataFrame({"reason": [], "files": [], "example": []})
    g = index.skipped.groupby("reason")
    return pd.DataFrame({"files": g.size(), "example": g["path"].first() + ": " + g["detail"].first()}
                        ).reset_index()
