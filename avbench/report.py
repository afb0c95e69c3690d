"""Tables of stored results: what ``avbench run`` prints at the end."""

from __future__ import annotations

import pandas as pd


def cell_text(metrics: dict) -> str:
    """``0.812 [0.770, 0.851]``; a group paired with another (a perturbation with ``clean``)
    adds its change on a second line: ``Δ -0.031 [-0.052, -0.012] vs clean``."""
    text = (f"{metrics['mean_target_auc']:.3f} "
            f"[{metrics['mean_target_auc_ci_low']:.3f}, {metrics['mean_target_auc_ci_high']:.3f}]")
    paired = metrics.get("vs_paired")
    if paired:
        text += (f"\nΔ {paired['delta']:+.3f} [{paired['ci_low']:+.3f}, {paired['ci_high']:+.3f}] "
                 f"vs {paired['group']}")
    return text


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


def seed_table(rows: list) -> pd.DataFrame:
    """Rows = cells, columns = evaluation groups, values = mean ± sample std of the mean
    per-target AUC over the seeds present (``--seeds``), with the number of seeds."""
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame([{"cell": r.cell, "test": r.test_group, "seed": r.seed, "auc": r.main_score}
                       for r in rows])
    cells = list(dict.fromkeys(df["cell"]))
    tests = list(dict.fromkeys(df["test"]))
    stats = df.groupby(["cell", "test"])["auc"].agg(["mean", "std", "count"])
    text = stats.apply(lambda s: f"{s['mean']:.3f} ± {s['std']:.3f} (n={int(s['count'])})"
                       if s["count"] > 1 else f"{s['mean']:.3f} (n=1)", axis=1)
    return text.unstack("test").reindex(index=cells, columns=tests)
