"""A dataset's board as data: sections, tables, rows and values, ready to render.

Built from entries (:mod:`avbench.leaderboard.entries`), the shipped reported
figures and the comparisons; the HTML and Markdown renderers only lay this out,
so both show exactly the same numbers.  The shape of each section follows its
data, not the protocol's name, so a third-party protocol gets a table too:

* one column per evaluation (cell x test group), in the order the cells were run;
* a section with a single evaluation also shows pooled AUC, EER and TAR@FAR=1 %;
* cells named ``train_<generator>`` also give a train x test matrix per row (the one
  rendering of a cross-generator matrix: a heat table in HTML, a table in Markdown);
* cells that differ only in clip length (``T<n>``) also give a T x method matrix of the
  ``all`` test group beside an AUC-vs-T curve;
* test groups named ``k<n>`` / ``k<n>_<aggregation>`` (clips per video, the ``multi_clip``
  protocol) are columns in order of k, and also give a k x (method, aggregation) matrix:
  AUC as a function of the number of clips per video;
* columns, matrices and figures follow one generator order (:data:`GENERATOR_ORDER`);
* an ``all``/``all`` evaluation also gives ROC/DET curves and per-target AUC
  distributions.

Evaluation-only rows (a saved model scored by ``avbench evaluate``) are not entries:
they are listed in a section of their own, "Evaluated checkpoints", each with the
dataset, protocol and cell its model was trained on (:class:`Evaluated`), and never
ranked or compared with trained runs.  Fusion rows (``avbench fuse``: evaluation-only rows
of a pseudo-method, ``trained_on["kind"] == "fusion"``) get a section of their own too,
"Score fusions" (:class:`Fusion`), with their components and the paired difference to the
best of them; their names are not registered methods, so no method facts are looked up.

Measured cells show mean per-target AUC.  A reported row shows the statistic its
source computed (its ``statistic`` column; the cross-generator tables report pooled
AUC), and a measured cell's Δ is taken on the reported row's statistic, from the
entry's own value of it (:func:`avbench.leaderboard.compare.against_reported`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import pandas as pd

from avbench import citations
from avbench.data.avaprintdb import GENERATORS as AVAPRINTDB_GENERATORS
from avbench.data.nvfair import GENERATORS as NVFAIR_GENERATORS
from avbench.leaderboard.compare import against_reported
from avbench.leaderboard.entries import SECTION_KEY
from avbench.leaderboard.methods import DASH, MethodFacts, method_facts
from avbench.leaderboard.reported import STATISTICS, where

MEASURED_STATISTIC = "mean_target_auc"  # what a measured cell shows
# One generator order on every board, table, matrix and figure: the datasets' own (NVFAIR's
# and the synthetic dataset's facevid2vid, tps, lia; AVAPrintDB's GAGA, LIVE, HUNY).
GENERATOR_ORDER = (*NVFAIR_GENERATORS, *AVAPRINTDB_GENERATORS)
# Beside a number whose 95 % CI includes 0.5, explained by CHANCE_NOTE wherever one is shown.
CHANCE_MARK = "†"
CHANCE_NOTE = "† 95 % CI includes chance (0.5): the number is not distinguishable from guessing."
# TAR at FAR = 1 % is read off the 1 % of negative pairs with the highest scores: with fewer than
# 1,000 negatives that is fewer than 10 false accepts, too few for the threshold to mean anything.
MIN_NEGATIVES_FOR_TAR = 1000
TAR_NOTE = (f"TAR@FAR=1% is shown only where the test set has at least {MIN_NEGATIVES_FOR_TAR:,} negative "
            "pairs, so that 1 % is 10 or more false accepts; elsewhere it shows — and the number of "
            "negative pairs.")
# The order in which a section lists its groups of rows (converged schedules first); the order
# of groups says nothing about which is better: rows are ranked within their group only.
PROFILE_ORDER = ("paper", "standard", "quick")
GROUPS_NOTE = ("Rows are ranked (#) only against rows of the same profile and clip length T, one "
               "table per group; the groups' order says nothing about which is better.")
# Rows of the quick profile (a CPU demonstration) carry this wherever they appear.
QUICK_LABEL = "not converged (quick profile)"


def profile_label(name: str, profile: str) -> str:
    """``name`` as a board shows it: a quick-profile row says it has not converged."""
    return f"{name} — {QUICK_LABEL}" if profile == "quick" else name
# What identifies one entry (one number per seed set) on a board.
ENTRY_IDENTITY = ("dataset", *SECTION_KEY, "method", "variant", "cell", "test_group")


@dataclass
class Value:
    """One number: a measured entry's or a reported figure."""

    auc: float
    ci_low: float | None = None
    ci_high: float | None = None
    std: float | None = None
    seeds: tuple[int, ...] = ()
    delta_reported: float | None = None  # measured minus the reported value of the same cell
    reported_table: str = ""
    statistic: str = MEASURED_STATISTIC  # of ``auc``; a Δ is of the reported row's statistic
    reported_statistic: str = MEASURED_STATISTIC
    measured_for_delta: float | None = None  # the measured value of reported_statistic
    provenance: str = ""                 # one line: seeds, commit, date, device (HTML title)
    note: str = ""
    chance_level: bool = True            # 0.5 is guessing for this statistic (AUC, EER; not TAR)
    withheld: str = ""                   # why no value is shown (e.g. "64 negatives"); auc is NaN
    paired_with: str = ""                # the group a paired change is measured against (e.g. clean)
    paired_delta: float | None = None    # this value minus that group's, same targets
    paired_ci: tuple[float, float] | None = None  # its paired bootstrap 95 % CI

    @property
    def includes_chance(self) -> bool:
        """Whether the 95 % CI reaches chance (0.5): such a number does not show the method
        tells identities apart at all, however high its point value."""
        return (self.chance_level and self.ci_low is not None and self.ci_high is not None
                and math.isfinite(self.ci_low) and math.isfinite(self.ci_high)
                and self.ci_low <= 0.5 <= self.ci_high)

    @property
    def chance_mark(self) -> str:
        return CHANCE_MARK if self.includes_chance else ""

    @property
    def text(self) -> str:
        if len(self.seeds) > 1 and self.std is not None and math.isfinite(self.std):
            main = f"{self.auc:.3f} ± {self.std:.3f}"
        else:
            main = f"{self.auc:.3f}"
        return main

    @property
    def ci_text(self) -> str:
        if self.ci_low is None or not math.isfinite(self.ci_low):
            return ""
        return f"[{self.ci_low:.3f}, {self.ci_high:.3f}]"

    @property
    def delta_text(self) -> str:
        if self.paired_delta is not None:
            ci = f" [{self.paired_ci[0]:+.3f}, {self.paired_ci[1]:+.3f}]" if self.paired_ci else ""
            return f"Δ {self.paired_delta:+.3f}{ci} vs {self.paired_with}"
        if self.delta_reported is None:
            return ""
        if self.reported_statistic == self.statistic:
            return f"Δ {self.delta_reported:+.3f} vs reported ({where(self.reported_table)})"
        name = STATISTICS[self.reported_statistic]
        return (f"{name} {self.measured_for_delta:.3f}: Δ {self.delta_reported:+.3f} vs reported "
                f"{name} ({where(self.reported_table)})")


@dataclass
class Row:
    label: str
    kind: str                     # "measured" | "reported"
    method: str
    statistic: str = MEASURED_STATISTIC  # of the row's values
    profile: str = ""
    seeds: tuple[int, ...] = ()
    clip_lengths: tuple[int, ...] = ()  # T of the row's models
    values: dict[str, Value] = field(default_factory=dict)
    extra: dict[str, Value] = field(default_factory=dict)  # pooled AUC, EER, TAR (single-eval sections)
    details: dict[str, str] = field(default_factory=dict)  # provenance shown on demand
    config: str = ""              # the run config, pretty JSON
    rank: int | None = None       # within its group (same profile and T) only; None: not ranked
    facts: MethodFacts = field(default_factory=MethodFacts)  # size, input, paper and code links
    budget: str = DASH            # training steps x clips per step, from the stored schedule

    @property
    def group(self) -> tuple:
        """What a row is ranked against: rows of the same profile and clip length(s) only
        (reported figures are a group of their own per clip length)."""
        if self.kind == "reported":
            return (len(PROFILE_ORDER) + 1, "reported", self.clip_lengths)
        order = PROFILE_ORDER.index(self.profile) if self.profile in PROFILE_ORDER else len(PROFILE_ORDER)
        return (order, self.profile, self.clip_lengths)

    @property
    def group_title(self) -> str:
        _, profile, lengths = self.group
        where = f"T = {', '.join(map(str, lengths))}" if lengths else "T not stated"
        return f"reported figures, {where}" if self.kind == "reported" else f"profile {profile}, {where}"

    @property
    def statistic_text(self) -> str:
        return STATISTICS.get(self.statistic, self.statistic)

    @property
    def budget_steps(self) -> int | None:
        """Total clips seen in training (steps × clips per step), for sorting by budget."""
        steps, _, clips = self.budget.replace(",", "").partition(" × ")
        return int(steps) * int(clips) if steps.isdigit() and clips.isdigit() else None

    @property
    def seeds_text(self) -> str:
        return ", ".join(map(str, self.seeds))

    @property
    def clip_text(self) -> str:
        return ", ".join(map(str, self.clip_lengths))


@dataclass
class Heatmap:
    """A matrix of values shown as a heat table (HTML) or a table (Markdown): a cross-
    generator model's train x test AUCs, or a clip-length section's T x method AUCs."""

    label: str
    rows: list[str]
    cols: list[str]
    values: list[list[Value | None]]
    corner: str = "train \\ test"


@dataclass
class Figure:
    file: str      # relative to the board folder
    caption: str


@dataclass
class Group:
    """Rows of one profile and clip length, ranked among themselves only."""

    title: str
    rows: list[Row]


@dataclass
class Section:
    id: str
    protocol: str
    version: str
    fingerprint: str
    columns: list[tuple[str, str]]   # (value key, header)
    extra_columns: list[str]
    rows: list[Row]
    heatmaps: list[Heatmap] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)  # rows by (profile, T), in display order

    @property
    def title(self) -> str:
        return f"{self.protocol} (protocol v{self.version})" if self.version else f"{self.protocol} (reported only)"


@dataclass(kw_only=True)
class StoredEntry:
    """What every evaluation-only row the board lists has: which model it scored where, its
    value, and where the number came from (shown on demand)."""

    method: str
    protocol: str
    version: str
    cell: str
    test_group: str
    seed: int
    value: Value                  # the row's mean per-target AUC and its stored CI
    provenance: str               # one line: where the models and the number came from
    run_key: str
    created_at: str
    profile: str = ""

    @property
    def label(self) -> str:
        return profile_label(self.method, self.profile)

    def record(self) -> dict:
        """The row as results.json lists it (subclasses add their own fields)."""
        return {"method": self.method, "protocol": self.protocol, "protocol_version": self.version,
                "cell": self.cell, "test_group": self.test_group, "seed": self.seed,
                "mean_target_auc": self.value.auc, "ci_low": self.value.ci_low,
                "ci_high": self.value.ci_high, "run_key": self.run_key, "created_at": self.created_at}


@dataclass(kw_only=True)
class Evaluated(StoredEntry):
    """One evaluation-only row as the board lists it: a saved model scored on this dataset."""

    trained_on: dict              # the row's trained_on (avbench.results.TRAINED_ON_KEYS)

    @property
    def trained_text(self) -> str:
        """Where the model was trained: ``dataset/protocol/cell``."""
        return f"{self.trained_on['dataset']}/{self.trained_on['protocol']}/{self.trained_on['cell']}"

    @property
    def checkpoint_text(self) -> str:
        return self.trained_on["checkpoint_sha256"][:12]

    def record(self) -> dict:
        paired = ({"paired_with": self.value.paired_with, "paired_delta": self.value.paired_delta,
                   "paired_ci": list(self.value.paired_ci) if self.value.paired_ci else None}
                  if self.value.paired_delta is not None else {})
        return {**super().record(), "trained_on": dict(self.trained_on), **paired}


@dataclass(kw_only=True)
class Fusion(StoredEntry):
    """One fusion row (``avbench fuse``) as the board lists it: the fused scores of several
    saved models, with the paired difference to its best component on the same pairs.
    ``method`` is ``fusion(<rule>):<methods>``, not a registered method."""

    rule: str
    components: list[dict]        # trained_on["components"]: row id, run key, method, checkpoint hash
    best: str                     # the best component's method (on the same pairs)
    delta: float | None           # fusion - best component, mean per-target AUC
    delta_low: float | None
    delta_high: float | None

    @property
    def components_text(self) -> str:
        return " + ".join(f"{c.get('method', '?')} ({str(c.get('checkpoint_sha256', ''))[:12]})"
                          for c in self.components)

    @property
    def delta_text(self) -> str:
        """``+0.012 [-0.004, +0.030] vs f5c_pixeldiff``: whether the fusion helps."""
        if self.delta is None:
            return DASH
        ci = (f" [{self.delta_low:+.3f}, {self.delta_high:+.3f}]"
              if self.delta_low is not None and self.delta_high is not None else "")
        return f"{self.delta:+.3f}{ci} vs {self.best}"

    def record(self) -> dict:
        return {**super().record(), "rule": self.rule, "components": [dict(c) for c in self.components],
                "best_component": self.best, "delta_vs_best": self.delta, "delta_ci_low": self.delta_low,
                "delta_ci_high": self.delta_high}


@dataclass
class Board:
    dataset: str
    fingerprints: list[str]
    as_of: str
    avbench_version: str
    sections: list[Section]
    comparisons: pd.DataFrame
    against: str
    citations: dict[str, str]     # source key -> one-line text (avbench.citations)
    notes: list[str]
    n_measured: int
    n_reported: int
    bibtex: dict[str, str] = field(default_factory=dict)  # source key -> its BibTeX entry
    evaluated: list[Evaluated] = field(default_factory=list)  # evaluation-only rows, not ranked
    fusions: list[Fusion] = field(default_factory=list)  # fusion rows (avbench fuse), not ranked

    @property
    def evaluated_chance(self) -> bool:
        """Whether an evaluated checkpoint's CI includes chance (its list then shows the legend)."""
        return any(e.value.includes_chance for e in self.evaluated)


def attach_reported(entries: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Entries with ``reported_auc``, ``reported_table``, ``reported_statistic``,
    ``reported_measured`` (the entry's own value of that statistic) and ``delta_reported``
    (reported_measured minus reported_auc) where the shipped figures have the same
    dataset, method, protocol, cell and test group -- compared on the reported figure's
    statistic only.  Where figures of both statistics exist, the one of the statistic a
    measured cell shows (mean per-target AUC) is attached."""
    out = entries.copy()
    for column in ("reported_auc", "reported_measured", "delta_reported"):
        out[column] = float("nan")
    out["reported_table"] = ""
    out["reported_statistic"] = ""
    if out.empty:
        return out
    pairs = against_reported(out, reported)
    pairs = pairs[pairs["skipped"] == ""]
    pairs = pairs.assign(_rank=pairs["statistic"] != MEASURED_STATISTIC).sort_values("_rank", kind="stable")
    best = {}
    for _, p in pairs.iterrows():
        best.setdefault(tuple(p[k] for k in ENTRY_IDENTITY), p)
    for i, e in out.iterrows():
        p = best.get(tuple(e[k] for k in ENTRY_IDENTITY))
        if p is None:
            continue
        out.at[i, "reported_auc"] = p["reported"]
        out.at[i, "reported_measured"] = p["measured"]
        out.at[i, "delta_reported"] = p["delta"]
        out.at[i, "reported_table"] = p["table"]
        out.at[i, "reported_statistic"] = p["statistic"]
    return out


def eval_key(cell: str, test_group: str) -> str:
    return f"{cell}|{test_group}"


def eval_header(cell: str, test_group: str, single_cell: bool) -> str:
    if cell.startswith("train_"):
        return f"{cell.removeprefix('train_')} → {test_group}"
    return test_group if single_cell else f"{cell} · {test_group}"


def short_commit(commit: str) -> str:
    head, dirty, _ = commit.partition("-dirty")
    return (head[:10] if len(head) == 40 else head) + ("-dirty" if dirty else "")


def entry_labels(entries: pd.DataFrame) -> pd.Series:
    """Row labels: the method name, plus profile and variant where a method has several
    variants in one section (so two configs of one method are never confused)."""
    if entries.empty:
        return pd.Series(dtype=str)
    n = entries.groupby([*SECTION_KEY, "method"])["variant"].transform("nunique")
    plain = entries["method"]
    full = entries["method"] + " (" + entries["profile"] + ", #" + entries["variant"] + ")"
    labels = plain.where(n <= 1, full)
    return pd.Series([profile_label(label, p) for label, p in zip(labels, entries["profile"])],
                     index=entries.index, dtype=str)


def _finite(x) -> float | None:
    return float(x) if x is not None and not pd.isna(x) and math.isfinite(float(x)) else None


def _measured_value(entry: pd.Series) -> Value:
    delta = _finite(entry.get("delta_reported"))
    dates = sorted({d[:10] for d in entry["dates"]})
    provenance = (f"seeds {', '.join(map(str, entry['seeds']))} · commit "
                  f"{', '.join(short_commit(c) for c in entry['git_commits'])} · "
                  f"{', '.join(dates)} · {', '.join(entry['devices'])} · profile {entry['profile']} · "
                  f"run key {', '.join(k[:12] for k in entry['run_keys'])}")
    compared = delta is not None
    return Value(
        auc=float(entry["mean_target_auc"]), ci_low=_finite(entry["ci_low"]),
        ci_high=_finite(entry["ci_high"]), std=_finite(entry["std"]), seeds=tuple(entry["seeds"]),
        delta_reported=delta, reported_table=entry.get("reported_table", "") if compared else "",
        reported_statistic=entry.get("reported_statistic") if compared else MEASURED_STATISTIC,
        measured_for_delta=_finite(entry.get("reported_measured")) if compared else None,
        provenance=provenance,
        note=entry["ci_note"],
        paired_with=entry.get("paired_with") or "",
        paired_delta=_finite(entry.get("paired_delta")),
        paired_ci=((_finite(entry.get("paired_ci_low")), _finite(entry.get("paired_ci_high")))
                   if _finite(entry.get("paired_ci_low")) is not None else None),
    )


def _reported_value(ref: pd.Series) -> Value:
    note = "; ".join(x for x in (ref["note"], f"also printed as {ref['also']}" if ref["also"] else "") if x)
    return Value(auc=float(ref["auc"]), reported_table=ref["table"], statistic=ref["statistic"],
                 provenance=f"reported ({STATISTICS[ref['statistic']]}): {ref['citation']} "
                            f"{where(ref['table'])}", note=note)


def build_board(dataset: str, rows: pd.DataFrame, entries: pd.DataFrame, reported: pd.DataFrame,
                comparisons: pd.DataFrame, against: str, avbench_version: str,
                figures: dict[str, list[Figure]] | None = None,
                evaluated: pd.DataFrame | None = None, left_out: list[str] | None = None) -> Board:
    """The board of ``dataset`` from its stored rows, entries and reported figures.

    ``figures`` maps a section id to its already-drawn figures (see
    :func:`avbench.leaderboard.publish.publish`); ``evaluated`` holds the dataset's
    evaluation-only rows (:func:`avbench.leaderboard.entries.evaluated_rows`), listed
    apart from the ranked sections; ``left_out`` lines (rows publish left out by their
    profile) are shown as notes.
    """
    figures = figures or {}
    fused = evaluated[evaluated["trained_on"].map(is_fusion).astype(bool)] \
        if evaluated is not None and len(evaluated) else None
    listed = evaluated_list(evaluated.drop(fused.index)) if fused is not None else \
        evaluated_list(evaluated) if evaluated is not None else []
    fusions = fusion_list(fused) if fused is not None else []
    order = (rows.sort_values("id").drop_duplicates(["protocol", "cell", "test_group"])
             [["protocol", "cell", "test_group"]].itertuples(index=False, name=None)) if len(rows) else []
    run_order = {k: i for i, k in enumerate(order)}
    sections: list[Section] = []
    measured_protocols = set()
    for key, group in entries.groupby(list(SECTION_KEY), sort=False):
        protocol, version, fingerprint = key
        measured_protocols.add(protocol)
        ref_here = reported[reported["protocol"] == protocol]
        sections.append(_section(protocol, str(version), fingerprint, group, ref_here, run_order, figures))
    for protocol, group in reported.groupby("protocol", sort=False):
        if protocol not in measured_protocols:
            sections.append(_section(protocol, "", "", entries.iloc[0:0], group, run_order, figures))
    protocol_rank = {p: i for i, p in enumerate(("overall", "overall_originals", "per_gen", "per_gen_originals",
                                                  "cross_gen", "clip_length", "clip_length_originals",
                                                  "multi_clip"))}
    sections.sort(key=lambda s: (protocol_rank.get(s.protocol, 99), s.protocol, s.version, s.fingerprint))
    if len(comparisons):
        cells_per_protocol = entries.groupby("protocol")["cell"].nunique().to_dict()
        comparisons = comparisons.assign(evaluation=[
            eval_header(c, t, cells_per_protocol.get(p, 1) == 1)
            for p, c, t in zip(comparisons["protocol"], comparisons["cell"], comparisons["test_group"])])
        profiles = dict(zip(zip(entries["method"], entries["variant"]), entries["profile"]))
        comparisons = comparisons.assign(a_label=[
            profile_label(a, profiles.get((a, v), "")) for a, v in zip(comparisons["a"], comparisons["a_variant"])])
    fingerprints = sorted(set(entries["dataset_fingerprint"])) if len(entries) else []
    notes = [line[0].upper() + line[1:] + "." for line in left_out or []]
    if len(fingerprints) > 1:
        notes.append(f"{len(fingerprints)} versions of {dataset} (fingerprints {', '.join(fingerprints)}) "
                     "have results; each gets its own sections, never mixed.")
    return Board(
        dataset=dataset, fingerprints=fingerprints,
        as_of=max([*rows["created_at"], *(e.created_at for e in [*listed, *fusions])])
        if len(rows) or listed or fusions else "", avbench_version=avbench_version,
        sections=sections, comparisons=comparisons, against=against,
        citations={key: citations.cite(key) for key in dict.fromkeys(reported["source"])}
        if len(reported) else {},
        notes=notes, n_measured=len(entries), n_reported=len(reported),
        bibtex={key: citations.get(key).bibtex for key in dict.fromkeys(reported["source"])
                if citations.is_key(key)} if len(reported) else {},
        evaluated=listed, fusions=fusions,
    )


def is_fusion(trained_on) -> bool:
    """Whether an evaluation-only row is a fusion's (``trained_on["kind"] == "fusion"``)."""
    return isinstance(trained_on, dict) and trained_on.get("kind") == "fusion"


def fusion_list(rows: pd.DataFrame) -> list[Fusion]:
    """Fusion rows as the board lists them, by protocol, cell, test group, method, seed.  Their
    method names are not registered methods, so nothing here looks one up; a value a row lacks
    (a database edited by hand) shows as missing rather than stopping the board."""
    if rows.empty:
        return []
    rows = rows.sort_values(["protocol", "protocol_version", "cell", "test_group", "method", "seed", "id"],
                            kind="stable")
    out = []
    for r in rows.itertuples(index=False):
        origin, metrics = r.trained_on, r.metrics
        vs = metrics.get("vs_best_component") if isinstance(metrics.get("vs_best_component"), dict) else {}
        components = [c for c in origin.get("components", []) if isinstance(c, dict)] \
            if isinstance(origin.get("components"), list) else []
        provenance = (f"fusion of run keys {', '.join(str(c.get('run_key', ''))[:12] for c in components)} · "
                      f"commit {short_commit(r.git_commit)} · {r.device} · run key {r.run_key[:12]} · {r.created_at}")
        out.append(Fusion(
            **_stored_fields(r, provenance), rule=str(origin.get("rule", "")), components=components,
            best=str(vs.get("method", DASH)), delta=_finite(vs.get("delta")), delta_low=_finite(vs.get("ci_low")),
            delta_high=_finite(vs.get("ci_high"))))
    return out


def _stored_fields(r, provenance: str, **value_fields) -> dict:
    """The fields every listed evaluation-only row (:class:`StoredEntry`) takes from its stored
    row: identity, its mean per-target AUC with the stored CI, provenance and key."""
    metrics = r.metrics
    value = Value(auc=float(r.main_score), ci_low=_finite(metrics.get("mean_target_auc_ci_low")),
                  ci_high=_finite(metrics.get("mean_target_auc_ci_high")), seeds=(int(r.seed),),
                  provenance=provenance, **value_fields)
    return {"method": r.method, "protocol": r.protocol, "version": str(r.protocol_version), "cell": r.cell,
            "test_group": r.test_group, "seed": int(r.seed), "value": value, "provenance": provenance,
            "run_key": r.run_key, "created_at": r.created_at, "profile": r.profile}


def evaluated_list(rows: pd.DataFrame) -> list[Evaluated]:
    """Evaluation-only rows as the board lists them, by protocol, method, cell, test group, seed."""
    if rows.empty:
        return []
    rows = rows.sort_values(["protocol", "protocol_version", "method", "cell", "test_group", "seed", "id"],
                            kind="stable")
    out = []
    for r in rows.itertuples(index=False):
        origin = r.trained_on
        metrics = r.metrics
        training_key = origin["run_key"] or "unknown"
        provenance = (f"trained by run key {training_key[:12]} on {origin['dataset']} (fingerprint "
                      f"{origin['dataset_fingerprint']}) · checkpoint sha256 {origin['checkpoint_sha256'][:12]} · "
                      f"commit {short_commit(r.git_commit)} · {r.device} · run key {r.run_key[:12]} · "
                      f"{r.created_at}")
        # A perturbed group (robustness) shows its stored paired change against its clean group.
        pair = metrics.get("vs_paired") if isinstance(metrics.get("vs_paired"), dict) else {}
        delta, low, high = (_finite(pair.get(k)) for k in ("delta", "ci_low", "ci_high"))
        paired = {"paired_with": str(pair.get("group", "")), "paired_delta": delta,
                  "paired_ci": (low, high) if low is not None and high is not None else None} \
            if delta is not None else {}
        out.append(Evaluated(**_stored_fields(r, provenance, **paired), trained_on=dict(origin)))
    return out


# A multi-clip test group: k clips per video, and how they were aggregated (none for k = 1).
CLIP_GROUP = re.compile(r"k(\d+)(?:_(embedding|score))?")
AGGREGATION_ORDER = ("embedding", "score")


def _generator_rank(name: str) -> int:
    """``all`` first, then the known generators in :data:`GENERATOR_ORDER`, then the rest."""
    if name == "all":
        return 0
    return GENERATOR_ORDER.index(name) + 1 if name in GENERATOR_ORDER else len(GENERATOR_ORDER) + 1


def _group_rank(name: str) -> tuple:
    """A test group's place among its cell's columns: generators as :func:`_generator_rank`
    places them, then multi-clip groups by k and aggregation (AUC reads as a function of k
    from left to right), then the rest (in the order they were run)."""
    clip = CLIP_GROUP.fullmatch(name)
    if clip is None:
        return (_generator_rank(name), 0, 0)
    return (len(GENERATOR_ORDER) + 2, int(clip[1]), AGGREGATION_ORDER.index(clip[2]) + 1 if clip[2] else 0)


def eval_order(cell: str, test_group: str) -> tuple:
    """Where an evaluation (cell, test group) goes among a section's columns: cell ``all``,
    then ``train_<generator>`` cells in generator order (a cross-generator matrix row by
    row), then ``T<n>`` cells by clip length, then any other cell; within a cell, test group
    ``all`` and then the generators in their order.  Ties (a plugin's own names) keep the
    order the cells were run in."""
    if cell == "all":
        cell_key = (0, 0)
    elif cell.startswith("train_"):
        cell_key = (1, _generator_rank(cell.removeprefix("train_")))
    elif cell[:1] == "T" and cell[1:].isdigit():
        cell_key = (2, int(cell[1:]))
    else:
        cell_key = (3, 0)
    return (*cell_key, _group_rank(test_group))


def _section(protocol: str, version: str, fingerprint: str, entries: pd.DataFrame,
             reported: pd.DataFrame, run_order: dict,
             figures: dict[str, list[Figure]]) -> Section:
    found = [*zip(entries["cell"], entries["test_group"]), *zip(reported["cell"], reported["test_group"])]
    evals = sorted(dict.fromkeys(found),
                   key=lambda ct: (*eval_order(*ct), run_order.get((protocol, *ct), 10**9)))
    single_cell = len({c for c, _ in evals}) == 1
    columns = [(eval_key(c, t), eval_header(c, t, single_cell)) for c, t in evals]
    extra_columns = ["pooled AUC", "EER", "TAR@FAR=1%"] if len(evals) == 1 else []
    sources = _sources(entries) if len(evals) == 1 else []
    if sources:  # fairness: the AUC per source population and the largest gap between two
        extra_columns += [*(f"{SOURCE_PREFIX}{name}" for name in sources), LARGEST_GAP]
    section_id = section_id_of(protocol, version, fingerprint) if version else f"{protocol}-reported"

    rows: list[Row] = []
    labels = entry_labels(entries)
    for (method, variant), group in entries.groupby(["method", "variant"], sort=False):
        first = group.iloc[0]
        values = {eval_key(e["cell"], e["test_group"]): _measured_value(e)
                  for _, e in group.iterrows()}
        seeds = tuple(sorted({s for e in group["seeds"] for s in e}))
        extra = {}
        if extra_columns and len(group) == 1:
            e = group.iloc[0]
            cis = e.get("secondary_cis") or {}
            for header, name in (("pooled AUC", "pooled_auc"), ("EER", "eer"), ("TAR@FAR=1%", "tar_at_far1")):
                ci = cis.get(name)
                if name == "tar_at_far1" and not _enough_negatives(e.get("n_negative")):
                    extra[header] = Value(auc=float("nan"), withheld=_negatives_text(e.get("n_negative")))
                    continue
                extra[header] = Value(auc=float(e[name]), ci_low=ci[0] if ci else None,
                                      ci_high=ci[1] if ci else None, chance_level=name != "tar_at_far1")
        if sources and len(group) == 1:
            extra.update(_source_values(group.iloc[0].get("per_source")))
        commits = sorted({c for cs in group["git_commits"] for c in cs})
        dates = sorted({d for ds in group["dates"] for d in ds})
        details = {
            "variant": variant, "profile": first["profile"], "seeds": ", ".join(map(str, seeds)),
            "commit": ", ".join(commits), "dates": f"{dates[0][:19]} … {dates[-1][:19]}" if len(dates) > 1 else dates[0][:19],
            "avbench": ", ".join(sorted({v for vs in group["avbench_versions"] for v in vs})),
            "device": ", ".join(sorted({d for ds in group["devices"] for d in ds})),
            "dataset fingerprint": fingerprint,
        }
        rows.append(Row(label=labels[group.index[0]], kind="measured", method=method,
                        profile=first["profile"], seeds=seeds, values=values, extra=extra,
                        clip_lengths=tuple(sorted({int(t) for t in group["clip_length"].dropna()})),
                        details=details, config=json.dumps(first["config"], indent=1, sort_keys=True),
                        facts=_facts_of(first), budget=first.get("training_budget") or DASH))
    # One row per method and statistic (one value per cell and statistic already).
    for (method, statistic), group in reported.groupby(["method", "statistic"], sort=False):
        values = {eval_key(r["cell"], r["test_group"]): _reported_value(r) for _, r in group.iterrows()}
        lengths = tuple(sorted({int(t) for t in group["clip_length"].dropna()}))
        rows.append(Row(label=method, kind="reported", method=method, statistic=statistic, values=values,
                        clip_lengths=lengths, facts=method_facts(method, {}),
                        details={"source": "; ".join(dict.fromkeys(group["citation"])),
                                 "table": ", ".join(where(t) for t in dict.fromkeys(group["table"])),
                                 "statistic": STATISTICS[statistic]}))
    groups = _ranked_groups(rows, columns)
    rows = [r for g in groups for r in g.rows]

    heatmaps = _heatmaps(rows, evals) if all(c.startswith("train_") for c, _ in evals) and evals else []
    if evals and all(c[:1] == "T" and c[1:].isdigit() for c, _ in evals):
        heatmaps = _clip_length_matrix(rows, evals)
    if single_cell and evals and all(CLIP_GROUP.fullmatch(t) for _, t in evals):
        heatmaps = _clip_count_matrix(rows, evals)
    notes = []
    other = sorted(set(reported["statistic"]) - {MEASURED_STATISTIC}) if len(reported) else []
    if other:
        names = ", ".join(STATISTICS[s] for s in other)
        notes.append(f"Reported rows of {names} give one AUC over all pairs of the test set, as their "
                     f"source computed it; measured cells show mean per-target AUC, and a measured "
                     f"cell's Δ against such a row is taken on its own stored {names}.")
    if len(groups) > 1:
        notes.insert(0, GROUPS_NOTE)
    if "TAR@FAR=1%" in extra_columns:
        notes.append(TAR_NOTE)
    if sources:
        notes.append(SOURCES_NOTE)
    if any(v.includes_chance for r in rows for v in (*r.values.values(), *r.extra.values())):
        notes.append(CHANCE_NOTE)
    if len(entries) and entries["n_seeds"].max() > 1:
        notes.append("Rows with several seeds show mean ± std over seeds; their CI is a cluster "
                     "bootstrap over targets of the seed-averaged per-target AUC.")
    return Section(id=section_id, protocol=protocol, version=version, fingerprint=fingerprint,
                   columns=columns, extra_columns=extra_columns, rows=rows, heatmaps=heatmaps,
                   figures=figures.get(section_id, []), notes=notes, groups=groups)


SOURCE_PREFIX = "AUC on "
LARGEST_GAP = "largest source gap"
SOURCES_NOTE = ("AUC on a source: the mean per-target AUC over the test targets of that source "
                "population (NVFAIR's NVIDIA-VC, RAVDESS, CREMA-D; the synthetic dataset mimics them), "
                "with a cluster-bootstrap CI within the source. Largest source gap: the best source's "
                "AUC minus the worst's, with its CI (targets resampled within each source); a CI that "
                "excludes 0 says the method does not work equally well for every population.")


def _sources(entries: pd.DataFrame) -> list[str]:
    """The source populations any entry of a section breaks its AUC down by, sorted."""
    if "per_source" not in entries.columns:
        return []
    return sorted({name for x in entries["per_source"] if isinstance(x, dict) for name in x.get("groups", {})})


def _source_values(breakdown) -> dict[str, Value]:
    """The extra cells of one entry: its AUC per source and its largest gap."""
    if not isinstance(breakdown, dict):
        return {}
    values = {f"{SOURCE_PREFIX}{name}": Value(auc=g["auc"], ci_low=g.get("ci_low"), ci_high=g.get("ci_high"),
                                              note=f"{g.get('n_targets')} targets")
              for name, g in breakdown.get("groups", {}).items()}
    gap = breakdown.get("largest_gap")
    if gap:
        values[LARGEST_GAP] = Value(auc=gap["gap"], ci_low=gap["ci_low"], ci_high=gap["ci_high"],
                                    chance_level=False, note=f"{gap['high']} − {gap['low']}")
    return values


def _facts_of(entry: pd.Series) -> MethodFacts:
    """The entry's method facts (:func:`avbench.leaderboard.methods.with_method_facts` columns)."""
    def count(x):
        return int(x) if x is not None and not pd.isna(x) else None
    return MethodFacts(input_kind=entry.get("input_kind") or "", parameters=count(entry.get("parameters")),
                       embedding_dim=count(entry.get("embedding_dim")), paper_url=entry.get("paper_url") or "",
                       code_path=entry.get("code_path") or "")


def _enough_negatives(n) -> bool:
    n = _finite(n)
    return n is not None and n >= MIN_NEGATIVES_FOR_TAR


def _negatives_text(n) -> str:
    n = _finite(n)
    return "negatives not stored" if n is None else f"{int(n):,} negatives"


def _headline(rows: list[Row], columns: list[tuple[str, str]]) -> str | None:
    """The column a group is ranked by: the first (in column order) that one of its measured
    rows has, so a group measured on fewer evaluations than a source reported is still
    ranked on what it measured."""
    measured = [r for r in rows if r.kind == "measured"] or rows
    for key, _ in columns:
        if any(key in r.values for r in measured):
            return key
    return None


def _sort_score(row: Row, headline: str | None, columns: list[tuple[str, str]]) -> float:
    """Default order: the headline column's AUC, best first; rows without it by their first."""
    if headline in row.values:
        return row.values[headline].auc
    for key, _ in columns:
        if key in row.values:
            return row.values[key].auc - 2.0  # after every row that has the headline
    return -3.0


def _ranked_groups(rows: list[Row], columns: list[tuple[str, str]]) -> list[Group]:
    """Rows split by (profile, T), each group best first by its headline column
    (:func:`_headline`), measured rows ranked 1, 2, ... within their group (equal values share
    a rank).  An AUC of a model trained on longer clips or a longer schedule is not
    comparable with another's, so no rank or order ever crosses a group."""
    by_group: dict[tuple, list[Row]] = {}
    for row in rows:
        by_group.setdefault(row.group, []).append(row)
    groups = []
    for key in sorted(by_group, key=lambda k: (k[0], k[1], k[2])):
        headline = _headline(by_group[key], columns)
        members = sorted(by_group[key], key=lambda r: (-_sort_score(r, headline, columns), r.kind,
                                                       r.label, r.statistic))
        previous, rank = None, 0
        for i, row in enumerate(r for r in members if r.kind == "measured"):
            score = _sort_score(row, headline, columns)
            if score != previous:
                rank, previous = i + 1, score
            row.rank = rank if headline in row.values else None
        groups.append(Group(title=members[0].group_title, rows=members))
    return groups


def _heatmaps(rows: list[Row], evals: list[tuple[str, str]]) -> list[Heatmap]:
    trains = list(dict.fromkeys(c for c, _ in evals))
    tests = list(dict.fromkeys(t for _, t in evals))
    maps = []
    for row in rows:
        grid = [[row.values.get(eval_key(c, t)) for t in tests] for c in trains]
        label = row.label + (f" (reported, {row.statistic_text})" if row.kind == "reported" else "")
        maps.append(Heatmap(label, [c.removeprefix("train_") for c in trains], tests, grid))
    return maps


def _clip_length_matrix(rows: list[Row], evals: list[tuple[str, str]]) -> list[Heatmap]:
    """T (rows) x method (columns) of the ``all`` test group: how each method's AUC moves with
    the clip length, read across a row and down a column."""
    cells = list(dict.fromkeys(c for c, t in evals if t == "all"))
    if not cells:
        return []
    shown = [r for r in rows if any(eval_key(c, "all") in r.values for c in cells)]
    if not shown:
        return []
    cols = [r.label + (f" (reported, {r.statistic_text})" if r.kind == "reported" else "") for r in shown]
    grid = [[r.values.get(eval_key(c, "all")) for r in shown] for c in cells]
    return [Heatmap("mean per-target AUC on all test pairs, by clip length T",
                    [f"T = {c[1:]}" for c in cells], cols, grid, corner="T \\ method")]


def _clip_count_matrix(rows: list[Row], evals: list[tuple[str, str]]) -> list[Heatmap]:
    """k (rows) x (method, aggregation) (columns) of a multi-clip section: how each method's AUC
    moves with the number of clips per video under each aggregation.  ``k1`` (one clip, nothing
    to aggregate) heads every aggregation's column, so each column starts from the same number."""
    found = {(int(m[1]), m[2]) for m in (CLIP_GROUP.fullmatch(t) for _, t in evals)}
    ks = sorted({k for k, _ in found})
    hows = [h for h in AGGREGATION_ORDER if any(how == h for _, how in found)] or [None]
    [cell] = {c for c, _ in evals}

    def value(row: Row, k: int, how: str | None) -> Value | None:
        return row.values.get(eval_key(cell, "k1" if k == 1 else f"k{k}_{how}"))

    shown = [r for r in rows if r.kind == "measured"]
    cols = [(r, how) for r in shown for how in hows]
    if not cols:
        return []
    labels = [f"{r.label} · {how}" if how else r.label for r, how in cols]
    grid = [[value(r, k, how) for r, how in cols] for k in ks]
    return [Heatmap("mean per-target AUC by clips per video k (embeddings or scores averaged)",
                    [f"k = {k}" for k in ks], labels, grid, corner="k \\ method · aggregation")]


def section_id_of(protocol: str, version: str, fingerprint: str) -> str:
    """The id :func:`build_board` gives a measured section (figures are keyed by it)."""
    return f"{protocol}-v{version}" + (f"-{fingerprint[:8]}" if fingerprint else "")
