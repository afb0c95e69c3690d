"""The board's plots, drawn with matplotlib (Agg) from score tables and entries.

Each function takes plain data and a PNG path and returns the path; none reads
the store.  PNGs are written without a software/date stamp so that publishing
the same results twice gives the same files (a board in git only changes when
its numbers do).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on CI and GPU machines

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import norm  # noqa: E402
from sklearn.metrics import det_curve, roc_curve  # noqa: E402

_PNG = {"Software": None}  # no version stamp: reproducible files


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight", metadata=_PNG)
    plt.close(fig)
    return path


def roc_det(curves: list[tuple[str, pd.DataFrame]], path: Path, title: str) -> Path:
    """ROC (linear) and DET (normal-deviate axes) curves, one line per (label, score table)."""
    fig, (roc_ax, det_ax) = plt.subplots(1, 2, figsize=(11, 4.6))
    ticks = np.array([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99])
    for label, scores in curves:
        y, s = scores["label"].to_numpy(), scores["score"].to_numpy()
        fpr, tpr, _ = roc_curve(y, s)
        roc_ax.plot(fpr, tpr, label=label, lw=1.4)
        dfpr, dfnr, _ = det_curve(y, s)
        clip = (0.0005, 0.9995)
        det_ax.plot(norm.ppf(np.clip(dfpr, *clip)), norm.ppf(np.clip(dfnr, *clip)), lw=1.4)
    roc_ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1)
    roc_ax.set(xlabel="false accept rate", ylabel="true accept rate", title="ROC", xlim=(0, 1), ylim=(0, 1))
    det_ax.set(xlabel="false accept rate", ylabel="false reject rate", title="DET")
    det_ax.set_xticks(norm.ppf(ticks), [f"{t:.3g}" for t in ticks])
    det_ax.set_yticks(norm.ppf(ticks), [f"{t:.3g}" for t in ticks])
    det_ax.plot(norm.ppf([0.001, 0.999]), norm.ppf([0.999, 0.001]), color="0.6", ls=":", lw=1)
    det_ax.set_xlim(norm.ppf(0.0005), norm.ppf(0.9995))
    det_ax.set_ylim(norm.ppf(0.0005), norm.ppf(0.9995))
    for ax in (roc_ax, det_ax):
        ax.grid(alpha=0.3)
    roc_ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    return _save(fig, path)


def auc_distribution(groups: list[tuple[str, np.ndarray]], path: Path, title: str) -> Path:
    """Per-identity (per-target) AUCs of each entry: box plot with the targets as points."""
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(groups) + 2), 4.2))
    data = [np.asarray(v, dtype=float) for _, v in groups]
    ax.boxplot(data, showfliers=False, widths=0.55)
    rng = np.random.default_rng(0)  # fixed jitter: the same results give the same picture
    for i, values in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.18, 0.18, len(values)), values, s=10, alpha=0.6, zorder=3)
    ax.axhline(0.5, color="0.6", ls=":", lw=1)
    ax.set_xticks(range(1, len(groups) + 1), [label for label, _ in groups], rotation=30, ha="right")
    ax.set(ylabel="per-target AUC", ylim=(-0.02, 1.02), title=title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def clip_length_curve(series: list[tuple[str, pd.DataFrame]], path: Path, title: str,
                      reported: list[tuple[str, pd.DataFrame]] = ()) -> Path:
    """AUC against clip length T with 95 % CI bars; reported curves dashed.

    Each frame has columns ``clip_length``, ``auc`` and (measured) ``ci_low``/``ci_high``.
    """
    fig, ax = plt.subplots(figsize=(7.8, 4.4))
    for k, (label, df) in enumerate(series):
        df = df.sort_values("clip_length")
        err = np.vstack([df["auc"] - df["ci_low"], df["ci_high"] - df["auc"]])
        dodge = 1.0 + 0.012 * (k - (len(series) - 1) / 2)  # side by side, so CI bars stay readable
        ax.errorbar(df["clip_length"] * dodge, df["auc"], yerr=np.nan_to_num(err), marker="o",
                    capsize=2, lw=1.2, ms=4, label=label)
    for label, df in reported:
        df = df.sort_values("clip_length")
        ax.plot(df["clip_length"], df["auc"], ls="--", marker="s", label=f"{label} (reported)")
    ax.set_xscale("log", base=2)
    lengths = sorted({int(t) for _, df in [*series, *reported] for t in df["clip_length"]})
    ax.set_xticks(lengths, [str(t) for t in lengths])
    ax.set(xlabel="clip length T (frames)", ylabel="mean per-target AUC", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)
