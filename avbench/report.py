"""Tables of stored results: what ``avbench run`` prints at the end."""

from __future__ import annotations

import pandas as pd


def cell_text(metrics: dict) -> str:
    return (f"{metrics['mean_target_auc']:.3f} "
            f"[{metrics['mean_target_auc_ci_low']:.3f}, {metrics['mean_target_auc_ci_high']:.3f}]")


def protocol_table(rows: list) -> pd.DataFrame:
    """Rows = trained cells, columns = evaluation groups, values = mean per-target AUC [95% CI].

    For ``cross_gen`` this is the 3x3 matrix of the paper's Tables IV-V (rows: training
    generator); for ``per_gen`` one row with the overall and per-generator columns.
    """
    records = [{"cell": r.cell, "test": r.test_group, "auc": cell_text(r.metrics)} for r in rows]
    if not records:
        return pd.DataFrame()
    df = pd.DataFrame(records)
    cells = list(dict.fromkeys(df["cell"]))
    tests = list(dict.fromkeys(df["test"]))
    return df.pivot(index="cell", columns="test", values="auc").reindex(index=cells, columns=tests)
