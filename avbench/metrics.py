"""Verification metrics, computed only from a score table.

A score table (see :mod:`avbench.scores`) holds one row per verification pair with
at least the columns ``target`` (the identity whose appearance both videos render),
``label`` (1 = both videos have the same driver, 0 = different drivers) and
``score`` (higher = more likely the same driver).  Every number avbench reports is
recomputed from such a table, never from a model (bob.bio: score files are the
interface between a model and evaluation), so a stored score file is enough to
recompute or extend the metrics at any time.

The headline metric of NVFAIR's protocol is the *mean per-target AUC* (Prashnani
et al., ECCV 2024): the ROC AUC of each target's pairs, averaged over targets.
Targets without both a positive and a negative pair have no AUC; they are left out
of the mean and counted (``n_targets_skipped`` in :func:`summarize`).

Confidence intervals come from a *cluster bootstrap over targets*
(:func:`bootstrap_ci`): the pairs of one target share videos and are not
independent, so whole targets are resampled with replacement, each carrying all of
its pairs.  A target drawn twice counts twice.

Conventions:

* A pair is *accepted* when ``score >= threshold``.
* ``eer``: the ROC curve (sklearn ``roc_curve``, every threshold kept) is linearly
  interpolated between its two points where FNR - FPR changes sign, and the rate
  at FPR = FNR is returned.
* ``tar_at_far``: the true-accept rate at the most permissive threshold whose
  false-accept rate does not exceed ``far``, i.e. the highest TAR of any ROC
  point with FAR <= ``far``; no interpolation between ROC points.  Tied scores
  are accepted together, so a tie that would push FAR above ``far`` is rejected
  as a whole.  With few negatives the attainable FARs are coarse (multiples of
  1 / n_negative): FAR <= 1 % needs >= 100 negatives to be anything but FAR = 0.
* ``eer_threshold``: the score of the ROC point with the smallest worst error
  max(FAR, FRR) -- one of the two points between which ``eer`` interpolates --
  the nearest a single threshold gets to the EER; ties as :func:`eer_threshold` says.
* ``roc_points`` / ``det_curve``: one row per distinct score plus a first row at
  threshold +inf (nothing accepted), highest threshold first, no point dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

REQUIRED_COLUMNS = ("target", "label", "score")

Statistic = Callable[[pd.DataFrame], float]


# --- validation ----------------------------------------------------------------------

def _check(scores: pd.DataFrame, score: str = "score") -> None:
    """Fail with a clear message on a table metrics cannot be computed from."""
    missing = [c for c in ("target", "label", score) if c not in scores.columns]
    if missing:
        raise ValueError(f"score table lacks column(s) {', '.join(missing)}; "
                         f"it has: {', '.join(map(str, scores.columns))}")
    if scores["target"].isna().any():
        raise ValueError(f"{int(scores['target'].isna().sum())} pairs have no target")
    labels = pd.unique(scores["label"])
    bad = [v for v in labels if v not in (0, 1)]
    if bad:
        raise ValueError(f"label must be 0 or 1 (1 = same driver); found {bad[:5]}")
    values = pd.to_numeric(scores[score], errors="coerce").to_numpy(dtype=float)
    n_bad = int((~np.isfinite(values)).sum())
    if n_bad:
        raise ValueError(f"{n_bad} of {len(values)} scores are NaN, infinite or not numbers")


def _both_classes(labels: np.ndarray, what: str) -> None:
    n_pos = int((labels == 1).sum())
    if n_pos == 0 or n_pos == len(labels):
        raise ValueError(f"{what} needs both positive and negative pairs; got {n_pos} positive "
                         f"and {len(labels) - n_pos} negative")


def _arrays(scores: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    _check(scores)
    return scores["label"].to_numpy(dtype=np.int64), scores["score"].to_numpy(dtype=float)


# --- per-target AUC --------------------------------------------------------------------

def per_target_auc(scores: pd.DataFrame, score: str = "score") -> pd.Series:
    """ROC AUC of each target that has both positive and negative pairs.

    Args:
        scores: a score table (columns ``target``, ``label`` and ``score``).
        score: the name of the score column.

    Returns:
        A float Series named ``auc`` indexed by target (sorted); targets lacking
        positives or negatives are absent (see :func:`skipped_targets`).

    Computed as the Mann-Whitney statistic from within-target average ranks, which
    equals ``sklearn.metrics.roc_auc_score`` per target (ties count one half) and
    is vectorised over targets.
    """
    _check(scores, score)
    codes, targets = pd.factorize(scores["target"], sort=True)
    k = len(targets)
    pos = scores["label"].to_numpy() == 1
    ranks = (pd.Series(scores[score].to_numpy(dtype=float)).groupby(codes, sort=False)
             .rank(method="average").to_numpy())
    n_pos = np.bincount(codes, weights=pos, minlength=k)
    n_neg = np.bincount(codes, minlength=k) - n_pos
    rank_sum = np.bincount(codes, weights=np.where(pos, ranks, 0.0), minlength=k)
    valid = (n_pos > 0) & (n_neg > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    index = pd.Index(targets[valid], name="target")
    return pd.Series(auc[valid], index=index, name="auc", dtype=float)


def skipped_targets(scores: pd.DataFrame) -> list:
    """Targets with no AUC because they lack positive or negative pairs (sorted)."""
    _check(scores)
    counts = scores.groupby("target", sort=True)["label"].agg(["sum", "size"])
    return counts.index[(counts["sum"] == 0) | (counts["sum"] == counts["size"])].tolist()


def mean_target_auc(scores: pd.DataFrame) -> float:
    """The mean of :func:`per_target_auc` over targets that have one (NVFAIR's main score)."""
    aucs = per_target_auc(scores)
    if len(aucs) == 0:
        raise ValueError("no target has both positive and negative pairs; mean per-target AUC "
                         f"is undefined ({scores['target'].nunique()} targets, {len(scores)} pairs)")
    return float(aucs.mean())


# --- pooled metrics --------------------------------------------------------------------

def pooled_auc(scores: pd.DataFrame) -> float:
    """ROC AUC over all pairs of all targets together (``sklearn.metrics.roc_auc_score``)."""
    labels, values = _arrays(scores)
    _both_classes(labels, "pooled AUC")
    return float(roc_auc_score(labels, values))


def _roc(scores: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    labels, values = _arrays(scores)
    _both_classes(labels, what)
    fpr, tpr, _ = roc_curve(labels, values, drop_intermediate=False)
    return fpr, tpr


def eer(scores: pd.DataFrame) -> float:
    """Equal error rate over all pairs: the rate where FAR (FPR) equals FRR (FNR).

    The ROC curve starts at FPR = 0, FNR = 1 (threshold +inf) and ends at FPR = 1,
    FNR = 0, so FNR - FPR goes from +1 to -1; the two neighbouring points where it
    changes sign are interpolated linearly.
    """
    return _eer_of_roc(*_roc(scores, "EER"))


def _eer_of_roc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    diff = (1.0 - tpr) - fpr  # non-increasing along the curve
    i = int(np.argmax(diff <= 0))  # first point at or past the crossing; diff[0] = 1 > 0
    d0, d1 = diff[i - 1], diff[i]
    t = d0 / (d0 - d1)
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def tar_at_far(scores: pd.DataFrame, far: float = 0.01) -> float:
    """True-accept rate at the most permissive threshold with false-accept rate <= ``far``.

    Pairs with ``score >= threshold`` are accepted.  Among all thresholds whose FAR
    (fraction of negatives accepted) is at most ``far``, the one accepting the most
    pairs is used, and its TAR (fraction of positives accepted) returned; no
    interpolation between ROC points (see the module docstring).
    """
    if not 0.0 <= far <= 1.0:
        raise ValueError(f"far must lie in [0, 1]; got {far}")
    return _tar_of_roc(*_roc(scores, "TAR@FAR"), far)


def _tar_of_roc(fpr: np.ndarray, tpr: np.ndarray, far: float = 0.01) -> float:
    return float(tpr[fpr <= far + 1e-12].max())  # tolerance: far = k/n given as a decimal


def eer_threshold(scores: pd.DataFrame) -> float:
    """The score threshold at the EER point: the one a verifier would deploy (accept ``score >= t``).

    :func:`eer` interpolates between two ROC points, but a threshold can only
    realise ROC points.  Of all finite thresholds (the distinct scores), this is
    the one whose worst error, max(FAR, FRR), is smallest; that minimum always
    lies at one of the two points around the FAR = FRR crossing, and its max is
    never below the EER.

    Ties: all pairs with the threshold's score are accepted together (that is
    what ``score >= t`` does), so tied scores move FAR and FRR in one step.  When
    several thresholds have the same worst error, the one with FAR and FRR closest
    to equal wins, and if that ties too, the higher threshold (fewer false
    accepts at equal worst-case risk).  The starting point of the ROC curve
    (threshold +inf, nothing accepted, FRR = 1) is never returned.

    A perfectly separated table gives the lowest positive score (FAR = FRR = 0).
    """
    curve = roc_points(scores).iloc[1:]  # drop the +inf point: not a usable threshold
    fpr, fnr = curve["fpr"].to_numpy(), 1.0 - curve["tpr"].to_numpy()
    order = np.arange(len(curve))  # highest threshold first
    worst, gap = (np.round(x, 12) for x in (np.maximum(fpr, fnr), np.abs(fnr - fpr)))  # 1 - k/n vs j/m
    best = np.lexsort((order, gap, worst))[0]  # the last key sorts first
    return float(curve["threshold"].to_numpy()[best])


def roc_points(scores: pd.DataFrame) -> pd.DataFrame:
    """The ROC curve over all pairs as a table: ``threshold``, ``fpr`` (FAR), ``tpr`` (TAR).

    Every distinct score is a threshold (sklearn ``roc_curve`` with
    ``drop_intermediate=False``), highest first, after a first row at threshold
    +inf where nothing is accepted (FPR = TPR = 0); ``len`` is the number of
    distinct scores + 1.  A row's rates are those of accepting ``score >= threshold``.
    """
    labels, values = _arrays(scores)
    _both_classes(labels, "the ROC curve")
    fpr, tpr, thresholds = roc_curve(labels, values, drop_intermediate=False)
    thresholds = np.asarray(thresholds, dtype=float)
    thresholds[0] = np.inf  # sklearn < 1.3 put max(score) + 1 there
    return pd.DataFrame({"threshold": thresholds, "fpr": fpr, "tpr": tpr})


def det_curve(scores: pd.DataFrame) -> pd.DataFrame:
    """The DET curve over all pairs: ``threshold``, ``fpr`` (FAR), ``fnr`` (FRR = 1 - TAR).

    The same rows as :func:`roc_points` (no point dropped, unlike sklearn's
    ``det_curve``, which keeps only the part before the first perfect rate), so
    both curves of one table share thresholds.  Plot it on normal-deviate axes
    (``scipy.stats.norm.ppf`` of each rate), where the rates 0 and 1 lie at -inf and +inf.
    """
    roc = roc_points(scores)
    return pd.DataFrame({"threshold": roc["threshold"], "fpr": roc["fpr"], "fnr": 1.0 - roc["tpr"]})


# --- cluster bootstrap over targets ------------------------------------------------------

_STATISTICS: dict[str, Statistic] = {
    "mean_target_auc": mean_target_auc,
    "pooled_auc": pooled_auc,
    "eer": eer,
    "tar_at_far": tar_at_far,
}


def _resolve(statistic: str | Statistic) -> Statistic:
    if callable(statistic):
        return statistic
    try:
        return _STATISTICS[statistic]
    except KeyError:
        raise ValueError(f"unknown statistic {statistic!r}; choose one of: "
                         f"{', '.join(_STATISTICS)} (or pass a function)") from None


def _draw_counts(n_targets: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` resamples of ``n_targets`` target positions with replacement, and their counts."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_targets, size=(n, n_targets))
    flat = (draws + n_targets * np.arange(n)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n * n_targets).reshape(n, n_targets).astype(float)
    return draws, counts


def _fast_mean_target_auc(scores: pd.DataFrame, targets: pd.Index,
                          counts: np.ndarray) -> np.ndarray:
    """Mean AUC of each resample: a count-weighted mean of the precomputed per-target AUCs."""
    auc = per_target_auc(scores).reindex(targets).to_numpy(dtype=float)
    valid = np.isfinite(auc)
    num = counts @ np.where(valid, auc, 0.0)
    den = counts @ valid.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _fast_pooled_auc(scores: pd.DataFrame, codes: np.ndarray, n_targets: int,
                     counts: np.ndarray) -> np.ndarray:
    """Pooled AUC of each resample from one K x K table of pairwise wins.

    ``wins[k, l]`` counts (positive of target k, negative of target l) with the
    positive scored higher (ties 1/2).  A resample that draws target k ``c_k``
    times holds ``c_k`` copies of its pairs, so its AUC is
    ``c @ wins @ c / ((c @ n_pos) * (c @ n_neg))``.
    """
    labels, values = _arrays(scores)
    pos = labels == 1
    pos_values, pos_codes = values[pos], codes[pos]
    wins = np.zeros((n_targets, n_targets))
    n_neg = np.bincount(codes[~pos], minlength=n_targets).astype(float)
    n_pos = np.bincount(pos_codes, minlength=n_targets).astype(float)
    for neg_target in range(n_targets):
        neg = np.sort(values[~pos & (codes == neg_target)])
        if len(neg) == 0:
            continue
        below = np.searchsorted(neg, pos_values, side="left")
        ties = np.searchsorted(neg, pos_values, side="right") - below
        wins[:, neg_target] = np.bincount(pos_codes, weights=below + 0.5 * ties, minlength=n_targets)
    num = ((counts @ wins) * counts).sum(axis=1)
    den = (counts @ n_pos) * (counts @ n_neg)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _fast_roc_statistic(scores: pd.DataFrame, codes: np.ndarray, counts: np.ndarray,
                        of_roc: Callable[[np.ndarray, np.ndarray], float]) -> np.ndarray:
    """An ROC-based statistic (EER, TAR@FAR) of each resample without building its table.

    A target drawn ``c`` times contributes ``c`` copies of each of its pairs, which gives
    the ROC curve of pairs weighted by ``c`` (``roc_curve``'s ``sample_weight``).
    """
    labels, values = _arrays(scores)
    out = np.full(len(counts), np.nan)
    for b, weights in enumerate(counts):
        w = weights[codes]
        if not (w[labels == 1].sum() > 0 and w[labels == 0].sum() > 0):
            continue  # no positives or no negatives drawn: undefined, as in the loop
        fpr, tpr, _ = roc_curve(labels, values, sample_weight=w, drop_intermediate=False)
        out[b] = of_roc(fpr, tpr)
    return out


def bootstrap_samples(scores: pd.DataFrame, statistic: str | Statistic = "mean_target_auc",
                      n: int = 1000, seed: int = 0) -> np.ndarray:
    """The statistic on ``n`` cluster-bootstrap resamples of the targets (NaN where undefined).

    Each resample draws as many targets as the table has, uniformly with
    replacement (targets in sorted order, so the result does not depend on row
    order); every drawn target brings all of its pairs.  In the resampled table
    handed to a custom ``statistic`` the ``target`` column holds the draw number
    (0 .. n_targets-1), so a target drawn twice is two targets, and the original
    name is in ``source_target``.

    ``mean_target_auc``, ``pooled_auc``, ``eer`` and ``tar_at_far`` (FAR 1 %; by
    name or the functions of this module) take a fast path with the same draws
    and the same results; any other statistic is called once per resample.  A resample on which the
    statistic raises ``ValueError`` (e.g. no negatives drawn) gives NaN.
    """
    _check(scores)
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    codes, targets = pd.factorize(scores["target"], sort=True)
    n_targets = len(targets)
    if n_targets == 0:
        raise ValueError("the score table is empty: nothing to resample")
    draws, counts = _draw_counts(n_targets, n, seed)
    fn = _resolve(statistic)
    if fn is mean_target_auc:
        return _fast_mean_target_auc(scores, pd.Index(targets), counts)
    if fn is pooled_auc:
        return _fast_pooled_auc(scores, codes, n_targets, counts)
    if fn is eer:
        return _fast_roc_statistic(scores, codes, counts, _eer_of_roc)
    if fn is tar_at_far:
        return _fast_roc_statistic(scores, codes, counts, _tar_of_roc)

    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n_targets + 1))
    rows_of = [order[starts[k]:starts[k + 1]] for k in range(n_targets)]
    sizes = np.diff(starts)
    out = np.full(n, np.nan)
    for b in range(n):
        rows = np.concatenate([rows_of[k] for k in draws[b]])
        sample = scores.iloc[rows].reset_index(drop=True)
        sample["source_target"] = sample["target"]
        sample["target"] = np.repeat(np.arange(n_targets), sizes[draws[b]])
        try:
            out[b] = fn(sample)
        except ValueError:
            pass
    return out


def bootstrap_ci(scores: pd.DataFrame, statistic: str | Statistic = "mean_target_auc",
                 n: int = 1000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile confidence interval of ``statistic`` from a cluster bootstrap over targets.

    Args:
        scores: a score table.
        statistic: a function of a score table returning a float, or the name of
            one of this module's metrics (``mean_target_auc``, ``pooled_auc``,
            ``eer``, ``tar_at_far``).
        n: number of resamples.
        seed: seed of the resampling; the same seed gives the same interval.
        alpha: 1 - coverage (0.05: a 95 % interval).

    Returns:
        ``(low, high)``: the ``alpha/2`` and ``1 - alpha/2`` quantiles of the
        statistic over the resamples where it is defined (see
        :func:`bootstrap_samples`).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}")
    samples = bootstrap_samples(scores, statistic, n=n, seed=seed)
    samples = samples[np.isfinite(samples)]
    if len(samples) == 0:
        raise ValueError("the statistic is undefined on every bootstrap resample")
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


# --- summary -----------------------------------------------------------------------------

def summarize(scores: pd.DataFrame, n_boot: int = 1000, seed: int = 0,
              alpha: float = 0.05) -> dict:
    """Every headline metric of a score table, as a JSON-ready dict of plain numbers.

    Keys: ``mean_target_auc`` with ``mean_target_auc_ci_low``/``_high``,
    ``pooled_auc`` with ``pooled_auc_ci_low``/``_high`` (cluster bootstrap over
    targets, ``n_boot`` resamples, same draws for both), ``eer``, ``tar_at_far1``
    (TAR at FAR <= 1 %), ``n_targets`` (targets with a per-target AUC),
    ``n_targets_skipped`` (targets lacking positives or negatives), ``n_pairs``,
    ``n_positive``, ``n_negative``, and the interval's settings ``ci_level``,
    ``bootstrap_n``, ``bootstrap_seed``.
    """
    _check(scores)
    aucs = per_target_auc(scores)
    mean_low, mean_high = bootstrap_ci(scores, "mean_target_auc", n=n_boot, seed=seed, alpha=alpha)
    pooled_low, pooled_high = bootstrap_ci(scores, "pooled_auc", n=n_boot, seed=seed, alpha=alpha)
    n_pos = int((scores["label"] == 1).sum())
    return {
        "mean_target_auc": mean_target_auc(scores),
        "mean_target_auc_ci_low": mean_low,
        "mean_target_auc_ci_high": mean_high,
        "pooled_auc": pooled_auc(scores),
        "pooled_auc_ci_low": pooled_low,
        "pooled_auc_ci_high": pooled_high,
        "eer": eer(scores),
        "tar_at_far1": tar_at_far(scores, 0.01),
        "n_targets": len(aucs),
        "n_targets_skipped": int(scores["target"].nunique() - len(aucs)),
        "n_pairs": len(scores),
        "n_positive": n_pos,
        "n_negative": int(len(scores) - n_pos),
        "ci_level": float(1 - alpha),
        "bootstrap_n": int(n_boot),
        "bootstrap_seed": int(seed),
    }


# --- paired comparison of two methods ------------------------------------------------------

def paired_bootstrap(aucs_a: pd.Series, aucs_b: pd.Series, n: int = 1000, seed: int = 0,
                     alpha: float = 0.05) -> dict:
    """Difference of mean per-target AUC, A - B, with a paired cluster-bootstrap CI.

    Both methods were scored on the same targets, so their per-target AUCs are
    paired: each resample draws targets with replacement and takes the difference
    of the two means over the *same* draw.  The shared target difficulty cancels,
    which makes the interval much narrower than comparing two independent CIs.

    Args:
        aucs_a, aucs_b: per-target AUC Series indexed by target
            (:func:`per_target_auc`); only targets present in both are compared.
        n, seed, alpha: resamples, their seed, 1 - coverage.

    Returns:
        ``delta`` (mean A - mean B over the shared targets), ``ci_low``/``ci_high``,
        ``p_not_better`` (fraction of resamples with delta <= 0: a one-sided
        bootstrap p-value for "A beats B"), ``n_targets`` (shared),
        ``n_only_a``/``n_only_b`` (targets scored by one method only, left out),
        ``ci_level``, ``bootstrap_n``, ``bootstrap_seed``.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}")
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    shared = aucs_a.index.intersection(aucs_b.index).sort_values()
    if len(shared) == 0:
        raise ValueError("the two score tables share no target with a per-target AUC; "
                         "they were not scored on the same test set")
    diff = (aucs_a.reindex(shared) - aucs_b.reindex(shared)).to_numpy(dtype=float)
    _, counts = _draw_counts(len(shared), n, seed)
    samples = counts @ diff / len(shared)
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return {
        "delta": float(diff.mean()),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_not_better": float((samples <= 0).mean()),
        "n_targets": len(shared),
        "n_only_a": int(len(aucs_a.index.difference(shared))),
        "n_only_b": int(len(aucs_b.index.difference(shared))),
        "ci_level": float(1 - alpha),
        "bootstrap_n": int(n),
        "bootstrap_seed": int(seed),
    }


def seed_mean_target_aucs(tables: list[pd.DataFrame]) -> pd.Series:
    """Per-target AUC averaged over several seeds' score tables of one cell.

    Used for multi-seed entries: the seed-averaged AUC of each target is the unit
    the cluster bootstrap resamples.  A target missing from some seeds is averaged
    over the seeds that scored it.
    """
    if not tables:
        raise ValueError("no score tables given")
    return pd.concat([per_target_auc(t) for t in tables], axis=1).mean(axis=1).rename("auc")


def bootstrap_mean_ci(aucs: pd.Series, n: int = 1000, seed: int = 0,
                      alpha: float = 0.05) -> tuple[float, float]:
    """Percentile CI of the mean of given per-target AUCs (cluster bootstrap over targets);
    the same draws as :func:`bootstrap_ci` on a table with these targets."""
    values = aucs.sort_index().to_numpy(dtype=float)
    if len(values) == 0:
        raise ValueError("no per-target AUCs to resample")
    _, counts = _draw_counts(len(values), n, seed)
    low, high = np.quantile(counts @ values / len(values), [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


# --- per-group (fairness) breakdown ---------------------------------------------------------

def group_breakdown(aucs: pd.Series, group_of: pd.Series, n: int = 1000, seed: int = 0,
                    alpha: float = 0.05) -> dict:
    """Mean per-target AUC per group of targets (a source corpus, a demographic group) and the
    largest gap between two groups, each with a 95 % cluster-bootstrap CI.

    Targets are resampled with replacement *within* each group (a stratified bootstrap: every
    resample keeps each group's size), so a group's interval is its own and the gap's interval
    is that of the difference between the two groups that are furthest apart in the point
    estimate (the best minus the worst).  A CI of the gap that excludes 0 says the method does
    not work equally well for both populations on this test set.

    Args:
        aucs: per-target AUC (:func:`per_target_auc`), indexed by target.
        group_of: each target's group, indexed by target; targets without a group are left out
            and counted (``targets_without_group``).

    Returns:
        ``groups``: {group: {auc, ci_low, ci_high, n_targets, targets}} and, with two groups or more,
        ``largest_gap``: {high, low, gap, ci_low, ci_high}; ``targets_without_group``.
    """
    known = group_of.reindex(aucs.index)
    missing = int(known.isna().sum() + (known == "").sum())
    aucs, known = aucs[known.notna() & (known != "")], known[known.notna() & (known != "")]
    groups, samples = {}, {}
    for k, name in enumerate(sorted(set(known))):
        values = aucs[known == name].sort_index().to_numpy(dtype=float)
        _, counts = _draw_counts(len(values), n, seed + k)
        samples[name] = counts @ values / len(values)
        low, high = np.quantile(samples[name], [alpha / 2, 1 - alpha / 2])
        groups[name] = {"auc": float(values.mean()), "ci_low": float(low), "ci_high": float(high),
                        "n_targets": len(values),
                        # who is in the group: the board recomputes several seeds' breakdown from these
                        "targets": sorted(str(t) for t in aucs[known == name].index)}
    result = {"groups": groups, "targets_without_group": missing}
    if len(groups) >= 2:
        best = max(groups, key=lambda g: groups[g]["auc"])
        worst = min(groups, key=lambda g: groups[g]["auc"])
        diff = samples[best] - samples[worst]
        low, high = np.quantile(diff, [alpha / 2, 1 - alpha / 2])
        result["largest_gap"] = {"high": best, "low": worst,
                                 "gap": groups[best]["auc"] - groups[worst]["auc"],
                                 "ci_low": float(low), "ci_high": float(high)}
    return result
