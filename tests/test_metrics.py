"""Known answers and properties of avbench.metrics (all computed from score tables)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from avbench import evaluation, metrics
from avbench.metrics import (
    bootstrap_ci,
    bootstrap_samples,
    eer,
    mean_target_auc,
    per_target_auc,
    pooled_auc,
    skipped_targets,
    summarize,
    tar_at_far,
)


def table(groups: dict[str, tuple[list[float], list[float]]]) -> pd.DataFrame:
    """A score table from {target: (positive scores, negative scores)}."""
    rows = [(t, 1, s) for t, (pos, neg) in groups.items() for s in pos]
    rows += [(t, 0, s) for t, (pos, neg) in groups.items() for s in neg]
    return pd.DataFrame(rows, columns=["target", "label", "score"])


def synthetic(n_targets: int, pairs: int = 200, shift: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Gaussian scores; positives of target t shifted by shift * (0.2, 0.65, 1.1, 1.55, 2)[t % 5],
    so per-target AUCs spread alike in any run of 5 consecutive targets."""
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(n_targets):
        label = np.arange(pairs) % 4 == 0  # 1 positive in 4, as in NVFAIR-like pair sets
        s = rng.normal(size=pairs) + shift * label * (0.2 + 0.45 * (t % 5))
        frames.append(pd.DataFrame({"target": f"t{t:03d}", "label": label.astype(int), "score": s}))
    return pd.concat(frames, ignore_index=True)


PERFECT = table({"A": ([0.9, 0.8], [0.2, 0.1]), "B": ([0.7, 0.6], [0.3, 0.0])})


# --- known answers ----------------------------------------------------------------------

def test_perfect_separator():
    assert per_target_auc(PERFECT).tolist() == [1.0, 1.0]
    assert mean_target_auc(PERFECT) == 1.0
    assert pooled_auc(PERFECT) == 1.0
    assert eer(PERFECT) == 0.0
    assert tar_at_far(PERFECT, 0.0) == 1.0
    assert tar_at_far(PERFECT, 0.01) == 1.0


def test_reversed_separator():
    reversed_ = PERFECT.assign(score=-PERFECT["score"])
    assert mean_target_auc(reversed_) == 0.0
    assert pooled_auc(reversed_) == 0.0
    assert eer(reversed_) == 1.0
    assert tar_at_far(reversed_, 0.01) == 0.0


def test_hand_computed_per_target_aucs():
    # A: positive 0.9 beats both negatives, 0.8 beats 0.1 only -> 3 of 4 pairs -> 0.75.
    # B: positive 0.5 ties negative 0.5 (1/2) and beats 0.4; 0.3 beats neither -> 1.5/4.
    # C: one positive below its one negative -> 0.
    scores = table({"A": ([0.9, 0.8], [0.85, 0.1]),
                    "B": ([0.5, 0.3], [0.5, 0.4]),
                    "C": ([0.1], [0.2])})
    aucs = per_target_auc(scores)
    assert aucs.index.tolist() == ["A", "B", "C"]
    assert aucs["A"] == 0.75
    assert aucs["B"] == 0.375
    assert aucs["C"] == 0.0
    assert mean_target_auc(scores) == pytest.approx((0.75 + 0.375 + 0.0) / 3)
    assert aucs.name == "auc"


def test_per_target_auc_matches_sklearn_and_evaluation_reexports_it():
    scores = synthetic(6, pairs=50, seed=3)
    expected = {t: roc_auc_score(g["label"], g["score"]) for t, g in scores.groupby("target")}
    got = per_target_auc(scores)
    assert got.to_dict() == pytest.approx(expected, abs=1e-12)
    assert evaluation.per_target_auc is metrics.per_target_auc


def test_eer_hand_cases():
    # On an ROC point: positives 0.9 0.6 0.4, negatives 0.7 0.3 0.2; accepting >= 0.6 takes
    # 2 of 3 positives (FNR 1/3) and 1 of 3 negatives (FPR 1/3).
    assert eer(table({"A": ([0.9, 0.6, 0.4], [0.7, 0.3, 0.2])})) == pytest.approx(1 / 3)
    # Interpolated: (FPR, FNR) is (0, 1/3) at threshold 0.8 and (1/2, 1/3) at 0.7, so
    # FNR - FPR goes 1/3 -> -1/6 there; the crossing is at FPR = FNR = 1/3.
    assert eer(table({"A": ([0.9, 0.8, 0.5], [0.7, 0.2])})) == pytest.approx(1 / 3)
    # Interpolated across a positive/negative tie at 0.5, where both rates move at once:
    # (FPR, FNR) goes (0, 1/2) -> (1/2, 0); the segment crosses FPR = FNR at 1/4.
    assert eer(table({"A": ([0.9, 0.5], [0.5, 0.1])})) == pytest.approx(0.25)


def test_tar_at_far_hand_case():
    # 4 positives, 10 negatives; accepted when score >= threshold.
    pos = [0.95, 0.9, 0.6, 0.3]
    neg = [0.92, 0.8, 0.5, 0.4, 0.2, 0.1, 0.05, 0.04, 0.03, 0.02]
    scores = table({"A": (pos, neg)})
    assert tar_at_far(scores, 0.0) == 0.25  # threshold 0.95: only the top positive
    assert tar_at_far(scores, 0.01) == 0.25  # FAR 1 % < 1/10: still no negative may pass
    assert tar_at_far(scores, 0.1) == 0.5  # threshold 0.9: 0.92 is the one false accept
    assert tar_at_far(scores, 0.2) == 0.75  # threshold 0.6: 0.92 and 0.8 accepted
    assert tar_at_far(scores, 0.39) == 0.75  # 0.3 needs FAR 4/10
    assert tar_at_far(scores, 0.4) == 1.0
    assert tar_at_far(scores, 1.0) == 1.0


def test_tar_at_far_does_not_split_a_tie():
    # The positive 0.5 ties a negative: accepting it accepts the negative too (FAR 1/2).
    scores = table({"A": ([0.9, 0.5], [0.5, 0.1])})
    assert tar_at_far(scores, 0.0) == 0.5
    assert tar_at_far(scores, 0.5) == 1.0


def test_targets_without_both_labels_are_excluded_and_counted():
    scores = table({"A": ([0.9, 0.8], [0.85, 0.1]), "only_pos": ([0.3, 0.2], []),
                    "only_neg": ([], [0.99]), "B": ([0.9], [0.1])})
    assert per_target_auc(scores).index.tolist() == ["A", "B"]
    assert skipped_targets(scores) == ["only_neg", "only_pos"]
    assert mean_target_auc(scores) == pytest.approx((0.75 + 1.0) / 2)
    summary = summarize(scores, n_boot=200)
    assert summary["n_targets"] == 2
    assert summary["n_targets_skipped"] == 2
    assert summary["n_pairs"] == 9  # skipped targets' pairs still count (pooled metrics use them)
    assert summary["n_positive"] == 5
    assert summary["n_negative"] == 4


def test_summarize_keys_and_values():
    scores = synthetic(10, seed=1)
    s = summarize(scores)
    for key in ("mean_target_auc", "mean_target_auc_ci_low", "mean_target_auc_ci_high",
                "pooled_auc", "pooled_auc_ci_low", "pooled_auc_ci_high", "eer", "tar_at_far1",
                "n_targets", "n_targets_skipped", "n_pairs", "n_positive", "n_negative"):
        assert key in s
    assert all(type(v) in (int, float) for v in s.values())  # JSON-ready plain numbers
    assert s["mean_target_auc"] == pytest.approx(mean_target_auc(scores))
    assert s["pooled_auc"] == pytest.approx(roc_auc_score(scores["label"], scores["score"]))
    assert s["mean_target_auc_ci_low"] <= s["mean_target_auc"] <= s["mean_target_auc_ci_high"]
    assert s["pooled_auc_ci_low"] <= s["pooled_auc"] <= s["pooled_auc_ci_high"]
    assert (s["n_targets"], s["n_targets_skipped"], s["n_pairs"]) == (10, 0, 2000)
    assert s["n_positive"] + s["n_negative"] == s["n_pairs"]


def test_bad_tables_fail_clearly():
    with pytest.raises(ValueError, match="lacks column"):
        mean_target_auc(PERFECT.drop(columns="label"))
    with pytest.raises(ValueError, match="label must be 0 or 1"):
        mean_target_auc(PERFECT.assign(label=2))
    with pytest.raises(ValueError, match="NaN"):
        pooled_auc(PERFECT.assign(score=np.nan))
    with pytest.raises(ValueError, match="both positive and negative"):
        eer(PERFECT[PERFECT["label"] == 1])
    with pytest.raises(ValueError, match="no target has both"):
        mean_target_auc(PERFECT[PERFECT["label"] == 0])


# --- bootstrap ----------------------------------------------------------------------------

def test_bootstrap_ci_contains_estimate_and_is_deterministic():
    scores = synthetic(10, seed=2)
    est = mean_target_auc(scores)
    low, high = bootstrap_ci(scores, mean_target_auc, n=1000, seed=7)
    assert low < est < high
    assert bootstrap_ci(scores, mean_target_auc, n=1000, seed=7) == (low, high)
    assert bootstrap_ci(scores.sample(frac=1, random_state=0), "mean_target_auc",
                        n=1000, seed=7) == pytest.approx((low, high), abs=1e-12)  # row order
    assert bootstrap_ci(scores, mean_target_auc, n=1000, seed=8) != (low, high)


def test_bootstrap_ci_narrows_with_more_targets():
    # Same spread of per-target AUCs; 16x the targets should give ~1/4 of the width.
    few = bootstrap_ci(synthetic(5, seed=4), "mean_target_auc", n=1000)
    many = bootstrap_ci(synthetic(80, seed=4), "mean_target_auc", n=1000)
    assert many[1] - many[0] < 0.5 * (few[1] - few[0])


@pytest.mark.parametrize("name", ["mean_target_auc", "pooled_auc", "eer", "tar_at_far"])
def test_fast_bootstrap_paths_equal_the_generic_loop(name):
    scores = synthetic(7, pairs=30, seed=5)
    scores["score"] = scores["score"].round(1)  # ties: weighted ROC must group them like copies
    fn = getattr(metrics, name)
    fast = bootstrap_samples(scores, name, n=60, seed=3)
    slow = bootstrap_samples(scores, lambda df: fn(df), n=60, seed=3)  # not recognised: loop
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_bootstrap_resamples_whole_targets():
    # Two targets with all-positive and all-negative AUCs: every resample's mean AUC is
    # k/n for the number k of times target "hi" was drawn, so only 0, 1/2, 1 can occur.
    scores = table({"hi": ([0.9], [0.1]), "lo": ([0.1], [0.9])})
    samples = bootstrap_samples(scores, "mean_target_auc", n=500, seed=0)
    assert set(np.round(samples, 12)) == {0.0, 0.5, 1.0}


def test_bootstrap_other_metrics_and_generic_statistics():
    scores = synthetic(6, pairs=60, seed=6)
    low, high = bootstrap_ci(scores, "eer", n=100)
    assert low <= eer(scores) <= high
    low, high = bootstrap_ci(scores, lambda df: tar_at_far(df, 0.05), n=100)
    assert 0.0 <= low <= high <= 1.0
    with pytest.raises(ValueError, match="unknown statistic 'auc'"):
        bootstrap_ci(scores, "auc")


def test_bootstrap_is_fast():
    scores = synthetic(10, pairs=200, seed=0)
    start = time.perf_counter()
    bootstrap_ci(scores, "mean_target_auc", n=1000)
    bootstrap_ci(scores, "pooled_auc", n=1000)
    assert time.perf_counter() - start < 0.5


# --- properties -----------------------------------------------------------------------------

score_tables = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 1), st.integers(-40, 40)),
    min_size=2, max_size=60,
).map(lambda rows: pd.DataFrame(rows, columns=["target", "label", "score"]))


@settings(max_examples=150, deadline=None)
@given(score_tables)
def test_per_target_auc_is_invariant_to_strictly_monotone_transforms(scores):
    # Integer scores with ties; exp(x / 7) and x**3 keep every order and every tie exactly.
    base = per_target_auc(scores)
    for transformed in (np.exp(scores["score"] / 7.0), scores["score"].astype(float) ** 3 - 5):
        pd.testing.assert_series_equal(per_target_auc(scores.assign(score=transformed)), base)
    flipped = per_target_auc(scores.assign(score=-scores["score"]))  # decreasing: AUC -> 1 - AUC
    pd.testing.assert_series_equal(flipped, 1.0 - base, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(score_tables)
def test_per_target_auc_equals_sklearn(scores):
    got = per_target_auc(scores)
    expected = {t: roc_auc_score(g["label"], g["score"]) for t, g in scores.groupby("target")
                if g["label"].nunique() == 2}
    assert got.to_dict() == pytest.approx(expected, abs=1e-12)
    assert sorted(set(got.index) | set(skipped_targets(scores))) == sorted(scores["target"].unique())


# --- paired comparison -------------------------------------------------------------------

def test_paired_bootstrap_known_answers():
    a = pd.Series({"t1": 0.9, "t2": 0.7, "t3": 0.8}, name="auc")
    b = pd.Series({"t1": 0.6, "t2": 0.6, "t3": 0.5, "t9": 0.1}, name="auc")
    res = metrics.paired_bootstrap(a, b, n=500, seed=3)
    assert res["delta"] == pytest.approx((0.3 + 0.1 + 0.3) / 3)  # over the 3 shared targets
    assert res["n_targets"] == 3 and res["n_only_a"] == 0 and res["n_only_b"] == 1
    # Every resample's mean difference lies between the smallest and largest target difference.
    assert 0.1 - 1e-12 <= res["ci_low"] <= res["delta"] <= res["ci_high"] <= 0.3 + 1e-12
    assert res["p_not_better"] == 0.0  # A beats B on every target
    swapped = metrics.paired_bootstrap(b, a, n=500, seed=3)
    assert swapped["delta"] == pytest.approx(-res["delta"])
    assert swapped["ci_low"] == pytest.approx(-res["ci_high"]) and swapped["p_not_better"] == 1.0
    same = metrics.paired_bootstrap(a, a)
    assert same["delta"] == same["ci_low"] == same["ci_high"] == 0.0
    with pytest.raises(ValueError, match="share no target"):
        metrics.paired_bootstrap(a, pd.Series({"x": 0.5}))


def test_paired_interval_is_narrower_than_unpaired_when_targets_vary():
    """Target difficulty shared by both methods cancels in the paired difference."""
    scores = synthetic(40, shift=1.0, seed=1)
    better = scores.assign(score=scores["score"] + 0.4 * scores["label"])
    a, b = per_target_auc(better), per_target_auc(scores)
    res = metrics.paired_bootstrap(a, b, n=1000, seed=0)
    lo_a, hi_a = metrics.bootstrap_mean_ci(a)
    assert res["ci_high"] - res["ci_low"] < (hi_a - lo_a) / 2
    assert res["delta"] > 0 and res["ci_low"] > 0


def test_seed_mean_and_its_interval():
    s0 = table({"A": ([0.9], [0.1, 0.95]), "B": ([0.5], [0.4])})   # A: 0.5, B: 1.0
    s1 = table({"A": ([0.9], [0.1, 0.2]), "C": ([0.5], [0.6])})    # A: 1.0, C: 0.0
    mean = metrics.seed_mean_target_aucs([s0, s1])
    assert mean.to_dict() == {"A": 0.75, "B": 1.0, "C": 0.0}
    # With one seed the interval equals the stored summary's interval (same draws).
    scores = synthetic(12, seed=2)
    assert metrics.bootstrap_mean_ci(per_target_auc(scores), n=300, seed=5) == pytest.approx(
        bootstrap_ci(scores, "mean_target_auc", n=300, seed=5))


def test_group_breakdown_gives_each_population_its_auc_and_the_largest_gap():
    from avbench.metrics import group_breakdown

    aucs = pd.Series({"t1": 0.9, "t2": 0.9, "t3": 0.6, "t4": 0.6, "t5": 0.75, "t6": 0.2})
    group_of = pd.Series({"t1": "CREMA-D", "t2": "CREMA-D", "t3": "RAVDESS", "t4": "RAVDESS",
                          "t5": "NVIDIA-VC", "t6": ""})
    out = group_breakdown(aucs, group_of, n=200, seed=0)
    assert out["targets_without_group"] == 1  # t6: named and left out, not dropped silently
    assert out["groups"]["CREMA-D"] == {"auc": 0.9, "ci_low": 0.9, "ci_high": 0.9, "n_targets": 2,
                                        "targets": ["t1", "t2"]}
    assert out["groups"]["RAVDESS"]["auc"] == pytest.approx(0.6)
    gap = out["largest_gap"]
    assert (gap["high"], gap["low"]) == ("CREMA-D", "RAVDESS")
    assert gap["gap"] == pytest.approx(0.3) and gap["ci_low"] == pytest.approx(0.3)
    varied = pd.Series({"a": 0.5, "b": 1.0, "c": 0.7, "d": 0.9})
    out = group_breakdown(varied, pd.Series({"a": "x", "b": "x", "c": "y", "d": "y"}), n=500, seed=1)
    assert out["largest_gap"]["ci_low"] < out["largest_gap"]["gap"] < out["largest_gap"]["ci_high"]
    assert "largest_gap" not in group_breakdown(varied, pd.Series({k: "x" for k in varied.index}))
