"""Method comparisons: difference of mean per-target AUC with a paired bootstrap CI,
and measured results against published ones.

Two methods evaluated on the same cell share their test targets, so the right
question is "how much better is A on the same targets?", answered by
:func:`avbench.metrics.paired_bootstrap` on the per-target AUCs read from the two
entries' score files (seed-averaged for multi-seed entries).  Only entries of the
same board section (protocol version, dataset fingerprint) and evaluation are
paired; comparing across sections would mix numbers that are not comparable.

A published figure (:mod:`avbench.leaderboard.reported`) is one number of one
statistic, mean per-target AUC or pooled AUC.  :func:`against_reported` compares a
measured entry with it on that statistic only -- the entry's own pooled AUC against a
reported pooled AUC -- and never across statistics: the board's Δ and ``avbench
compare A reported`` both come from it.
"""

from __future__ import annotations

import difflib
import math

import pandas as pd

from avbench.errors import UsageError
from avbench.leaderboard.entries import SECTION_KEY, ScoreReader
from avbench.leaderboard.reported import STATISTICS, where
from avbench.metrics import paired_bootstrap

EVAL_KEY = (*SECTION_KEY, "dataset", "cell", "test_group")
STATS = ("delta", "ci_low", "ci_high", "p_not_better", "n_targets", "n_only_a", "n_only_b")
COLUMNS = [*EVAL_KEY, "a", "b", "a_variant", "b_variant", "a_auc", "b_auc", *STATS]


def paired(entry_a: pd.Series, entry_b: pd.Series, reader: ScoreReader) -> dict:
    """:func:`~avbench.metrics.paired_bootstrap` of two entries of one evaluation."""
    return paired_bootstrap(reader.target_aucs(entry_a), reader.target_aucs(entry_b))


def _row(key: tuple, ea: pd.Series, eb: pd.Series, reader: ScoreReader) -> dict:
    """One comparison record (:data:`COLUMNS`) of entry A against entry B on evaluation ``key``."""
    res = paired(ea, eb, reader)
    return {**dict(zip(EVAL_KEY, key)), "a": ea["method"], "b": eb["method"],
            "a_variant": ea["variant"], "b_variant": eb["variant"],
            "a_auc": ea["mean_target_auc"], "b_auc": eb["mean_target_auc"],
            **{k: res[k] for k in STATS}}


def _pick(entries: pd.DataFrame, method: str, profile: str | None) -> pd.DataFrame:
    rows = entries[entries["method"] == method]
    if profile is not None:
        rows = rows[rows["profile"] == profile]
    return rows


def compare_methods(entries: pd.DataFrame, reader: ScoreReader, a: str, b: str,
                    protocol: str | None = None, profile: str | None = None) -> pd.DataFrame:
    """A vs B on every evaluation both have (optionally one protocol / one profile).

    A method with several variants in one evaluation is ambiguous: the error
    lists their profiles so ``profile`` can choose.
    """
    present = sorted(set(entries["method"]))
    for name in (a, b):
        if name not in present:
            close = difflib.get_close_matches(name, present, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"method {name!r} has no stored results.{hint} "
                             f"Methods with results: {', '.join(present) or 'none'}")
    if protocol is not None:
        entries = entries[entries["protocol"] == protocol]
        if entries.empty:
            raise UsageError(f"no stored results for protocol {protocol!r}")
    left, right = _pick(entries, a, profile), _pick(entries, b, profile)
    records = []
    right_groups = dict(iter(right.groupby(list(EVAL_KEY), sort=False)))
    for key, ga in left.groupby(list(EVAL_KEY), sort=False):
        gb = right_groups.get(key)
        if gb is None:
            continue
        for name, g in ((a, ga), (b, gb)):
            if len(g) > 1:
                raise UsageError(f"{name} has {len(g)} variants on {key[0]} {key[-2]}/{key[-1]} "
                                 f"(profiles: {', '.join(g['profile'])}); choose one with --profile")
        records.append(_row(key, ga.iloc[0], gb.iloc[0], reader))
    if not records:
        raise UsageError(f"{a} and {b} share no evaluated cell"
                         + (f" under protocol {protocol!r}" if protocol else "")
                         + "; run both with the same protocol on the same data")
    return pd.DataFrame.from_records(records, columns=COLUMNS)


def comparisons_against(entries: pd.DataFrame, reader: ScoreReader, against: str) -> pd.DataFrame:
    """Every other method variant vs ``against`` on each evaluation where both were run
    (the board's comparison table).  Variants are paired with ``against``'s variant
    of the same profile and clip length (a model trained on longer clips or a longer
    schedule is not compared like with like, as on the board's ranked tables); an
    evaluation without one is left out."""
    records = []
    if against not in set(entries["method"]):
        return pd.DataFrame(columns=COLUMNS)
    for key, group in entries.groupby(list(EVAL_KEY), sort=False):
        base = group[group["method"] == against]
        for _, entry in group[group["method"] != against].iterrows():
            match = base[(base["profile"] == entry["profile"])
                         & (base["clip_length"] == entry["clip_length"])]
            if len(match) != 1:
                continue
            records.append(_row(key, entry, match.iloc[0], reader))
    return pd.DataFrame.from_records(records, columns=COLUMNS)


REPORTED = "reported"  # ``avbench compare A reported``: A against its published figures
REPORTED_COLUMNS = ["dataset", *SECTION_KEY, "method", "variant", "profile", "cell", "test_group",
                    "statistic", "measured", "reported", "delta", "table", "source", "skipped"]


def against_reported(entries: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Every measured entry with a reported figure of the same dataset, method, protocol,
    cell and test group, compared on that figure's statistic (:data:`REPORTED_COLUMNS`).

    ``measured`` is the entry's value of the reported row's statistic (``pooled_auc``
    against a reported pooled AUC), ``delta`` = measured − reported.  An entry without
    a finite value of that statistic (a row stored without it) gets no delta and says
    why in ``skipped``; it is never compared on another statistic instead.  A reported
    statistic that entries do not hold at all is refused.
    """
    records = []
    if entries.empty or reported.empty:
        return pd.DataFrame(columns=REPORTED_COLUMNS)
    unknown = sorted(set(reported["statistic"]) - set(STATISTICS))
    if unknown:
        raise ValueError(f"reported figures with statistic(s) {', '.join(unknown)}: measured entries "
                         f"hold only {', '.join(STATISTICS)}, so they cannot be compared")
    refs = reported.groupby(["dataset", "method", "protocol", "cell", "test_group"], sort=False)
    groups = {k: g for k, g in refs}
    for _, e in entries.iterrows():
        group = groups.get((e["dataset"], e["method"], e["protocol"], e["cell"], e["test_group"]))
        if group is None:
            continue
        for _, ref in group.iterrows():
            statistic = ref["statistic"]
            value = e.get(statistic)
            finite = value is not None and not pd.isna(value) and math.isfinite(float(value))
            records.append({
                "dataset": e["dataset"], **{k: e[k] for k in SECTION_KEY}, "method": e["method"],
                "variant": e["variant"], "profile": e["profile"], "cell": e["cell"],
                "test_group": e["test_group"], "statistic": statistic,
                "measured": float(value) if finite else float("nan"), "reported": float(ref["auc"]),
                "delta": float(value) - float(ref["auc"]) if finite else float("nan"),
                "table": ref["table"], "source": ref["source"],
                "skipped": "" if finite else f"no measured {STATISTICS[statistic]} stored",
            })
    return pd.DataFrame.from_records(records, columns=REPORTED_COLUMNS)


def compare_with_reported(entries: pd.DataFrame, reported: pd.DataFrame, method: str,
                          protocol: str | None = None, profile: str | None = None) -> pd.DataFrame:
    """``method``'s measured entries against its published figures (``avbench compare A
    reported``), each on the published figure's statistic; see :func:`against_reported`.

    An error when nothing can be compared, naming the protocols that do have reported
    figures for ``method``, since a figure filed under another protocol (e.g.
    ``per_gen_originals`` for Table III) is not a like-for-like counterpart."""
    present = sorted(set(entries["method"]))
    if method not in present:
        close = difflib.get_close_matches(method, present, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"method {method!r} has no stored results.{hint} "
                         f"Methods with results: {', '.join(present) or 'none'}")
    mine = _pick(entries, method, profile)
    if protocol is not None:
        mine = mine[mine["protocol"] == protocol]
    result = against_reported(mine, reported)
    result = result[result["skipped"] == ""].reset_index(drop=True)
    if result.empty:
        have = sorted(set(reported.loc[reported["method"] == method, "protocol"]))
        measured = sorted(set(mine["protocol"]))
        raise UsageError(
            f"{method} has no published figure on an evaluation it was measured on (measured: "
            f"{', '.join(measured) or 'none'}"
            + (f", under protocol {protocol!r}" if protocol else "") + "); its published figures are "
            f"filed under {', '.join(have) or 'no protocol'}: run that protocol on the same dataset "
            "to compare like with like")
    return result


def reported_label(row) -> str:
    """``Table IV, pooled AUC``: where a reported figure is printed and what it measures."""
    return f"{where(row['table'])}, {STATISTICS[row['statistic']]}"
