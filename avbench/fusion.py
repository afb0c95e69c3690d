"""Score fusion: the saved models of two or more stored runs combined into one score per pair.

``avbench fuse ID ID [ID ...]`` takes result rows of one results database whose models were
saved (:attr:`~avbench.results.ResultRow.checkpoint`), scores the *validation* identities'
pairs of the cell's training generators and the row's *test* group with each model -- through
:func:`avbench.embed.score_videos`, the one scoring path of validation, ``run`` and
``evaluate`` -- and stores the fused scores as a row of a pseudo-method named
``fusion(<rule>):<method>+<method>...`` (:func:`fusion_name`).

Rules (:data:`RULES`):

* ``zsum``: the sum over components of ``(score - mean_val) / std_val``, where ``mean_val``
  and ``std_val`` (population standard deviation) are of that component's scores of every
  validation pair, labels unused.  Cosine scores of different models live on different
  scales; normalising each by statistics of identities no model was tested on puts them on
  one scale without looking at the test identities (z-norm on the test scores themselves
  would let the test set choose its own normalisation).
* ``logistic``: :class:`sklearn.linear_model.LogisticRegression` (``C`` = :data:`LOGISTIC_C`)
  fitted on the validation pairs' z-scored component scores and labels, applied to the test
  pairs; the fused score is its ``decision_function`` (the log-odds, monotone in the
  probability, so AUCs are the same and no score saturates at 0 or 1).

Both rules record what they used in the row's ``metrics["fusion"]`` (normalisation
statistics, logistic coefficients and intercept), so a fused score file can be recomputed
from the components' scores (which the score file keeps as ``score_c1``, ``score_c2``, ...).

Components must measure the same thing: one dataset fingerprint, protocol (and version),
cell and test group, else a :class:`~avbench.errors.UsageError` names the rows and what
differs.  Each component scores only the videos its model can read (a landmark method drops a
video without a face), so their pair tables are aligned on ``(a_path, b_path)``: the fusion
is computed on the pairs every component scored, and how many each one lost is recorded in
``metrics["data"]``, never silently.  Pairs that align must agree on target and label.

The rows are evaluation-only (:attr:`~avbench.results.ResultRow.trained_on` has
``kind: "fusion"`` and names every component: row id, run key, method, checkpoint hash).
Their run key hashes the components' checkpoint hashes (in a canonical order, so the order
of the ids does not matter), the rule, protocol, cell, test group and dataset fingerprint:
fusing the same models again reuses the stored row unless ``force``.  ``metrics
["vs_best_component"]`` is the paired bootstrap over targets of the fusion's per-target AUC
minus that of its best component on the same pairs (:func:`avbench.metrics.paired_bootstrap`):
whether the fusion helps.
"""

from __future__ import annotations

import hashlib
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avbench.errors import AvbenchError, DatasetError, UsageError

__all__ = ["FusionPlan", "FusionRequest", "RULES", "align_pairs", "check_comparable", "fuse", "fused_scores",
           "fusion_name", "fusion_trained_on", "is_fusion", "logistic_fusion", "plan_fusion", "zscore_stats",
           "zsum_fusion"]

RULES = ("zsum", "logistic")
#: Inverse regularisation strength of the logistic rule: sklearn's default; validation sets are
#: small (tens of identities), and two to a few inputs need no tuning.
LOGISTIC_C = 1.0
FUSION_KIND = "fusion"  # trained_on["kind"] of a fusion row
KEY = ("a_path", "b_path")  # what identifies a pair across score tables
NORMALISATION = ("each component's scores of every validation pair of the cell's training generators "
                 "(the validation identities'; labels unused): mean and population std")


class FusionAlignmentError(AvbenchError):
    """Component score tables cannot be aligned pair for pair (the message says which)."""


@dataclass(frozen=True)
class FusionRequest:
    """What the user asked for: which rows to fuse, by which rule, on which data."""

    rows: tuple[int, ...]
    rule: str = "zsum"
    data: str | None = None  # dataset spec; default: the embedded synthetic dataset
    device: str = "auto"

    def command_args(self) -> list[str]:
        """The ``avbench fuse`` arguments that repeat this request (stored with the row)."""
        args = ["fuse", *map(str, self.rows), "--rule", self.rule, "--device", self.device]
        return args + (["--data", self.data] if self.data else [])


@dataclass
class Component:
    """One fused row: the stored row, its model and the evaluation plan of its cell."""

    row: Any  # avbench.results.ResultRow
    checkpoint: Path
    plan: Any  # avbench.runner.RunPlan, one cell
    meta: dict

    @property
    def sha(self) -> str:
        return str(self.meta["weights_sha256"])


@dataclass
class FusionPlan:
    """Everything resolved before any model is loaded: components in canonical order, the
    pseudo-method's name, the run key and the config it hashes."""

    request: FusionRequest
    components: list[Component]
    name: str
    config: dict
    run_key: str
    seed: int
    profile: str

    @property
    def first(self) -> Component:
        return self.components[0]


def fusion_name(rule: str, methods: list[str]) -> str:
    """``fusion(zsum):f5c_featdiff+nvfair_ldmk_tcnn``: the rule and the components' methods in
    the fusion's canonical order.  Parentheses and the colon keep it apart from registered
    method names (checked in :func:`plan_fusion`)."""
    return f"fusion({rule}):" + "+".join(methods)


def is_fusion(trained_on: Any) -> bool:
    """Whether a row's ``trained_on`` marks it as a fusion row."""
    return isinstance(trained_on, dict) and trained_on.get("kind") == FUSION_KIND


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise UsageError(f"--rule {rule!r}: choose one of {', '.join(RULES)}")
    return rule


# --- which rows, and whether they can be fused --------------------------------------------------

def component_rows(store, ids: tuple[int, ...]) -> list:
    """The stored rows of ``ids`` (at least two; the same id twice fuses a run with itself)."""
    if len(ids) < 2:
        raise UsageError(f"fuse needs at least two row ids; got {len(ids)} ({', '.join(map(str, ids)) or 'none'})")
    rows = []
    for row_id in ids:
        found = store.rows(id=int(row_id))
        if not found:
            raise UsageError(f"row {row_id}: {store.path} has no row with this id "
                             "(avbench results list --db DB lists them)")
        row = found[0]
        if is_fusion(row.trained_on):
            raise UsageError(f"row {row_id} ({row.method}) is itself a fusion; fuse the rows it names "
                             "instead (avbench results show ID lists them under trained_on.components)")
        rows.append(row)
    return rows


COMPARED = ("dataset_fingerprint", "protocol", "protocol_version", "cell", "test_group")


def check_comparable(rows: list) -> None:
    """Refuse rows that do not measure the same pairs: every field of :data:`COMPARED` must
    agree.  The message names each row with its value of every field that differs."""
    differ = [name for name in COMPARED if len({str(getattr(r, name)) for r in rows}) > 1]
    if not differ:
        return
    lines = "; ".join(f"row {r.id} ({r.method}): " + ", ".join(f"{n} {getattr(r, n)}" for n in differ)
                      for r in rows)
    raise UsageError(f"rows {', '.join(str(r.id) for r in rows)} cannot be fused: their "
                     f"{', '.join(differ)} differ ({lines}); fuse rows of one dataset version, "
                     "protocol, cell and test group (avbench evaluate --run ID --protocol P --cell C "
                     "gives a model a row where it lacks one)")


def _origin(row) -> tuple[str, str, str]:
    """Where a component's model was trained: (dataset, protocol, cell)."""
    t = row.trained_on
    return (t["dataset"], t["protocol"], t["cell"]) if t else (row.dataset, row.protocol, row.cell)


def _profile(rows: list) -> str:
    """A fusion is as converged as its least trained component: ``smoke`` if any is, then
    ``quick``; otherwise the components' shared profile (names joined by ``+`` if they differ)."""
    profiles = [r.profile for r in rows]
    for weakest in ("smoke", "quick"):
        if weakest in profiles:
            return weakest
    return "+".join(sorted(set(profiles)))


def plan_fusion(registry, store, request: FusionRequest) -> FusionPlan:
    """Resolve the rows, their models and their cell's evaluation plan (the dataset opened
    once per component, as ``avbench evaluate`` does); every check before any model loads."""
    from avbench.evaluate import EvaluationRequest, checkpoint_of_row, plan_evaluation
    from avbench.results import make_run_key

    check_rule(request.rule)
    rows = component_rows(store, request.rows)
    check_comparable(rows)
    components = []
    for row in rows:
        path = checkpoint_of_row(store, row.id)
        ev = EvaluationRequest(checkpoint=path, data=request.data, protocol=row.protocol, cell=row.cell,
                               device=request.device)
        plan, meta = plan_evaluation(registry, ev)
        if plan.index.fingerprint != row.dataset_fingerprint:
            command = row.environment.get("command", "") if isinstance(row.environment, dict) else ""
            raise DatasetError(
                f"row {row.id} ({row.method}) was measured on {row.dataset} with fingerprint "
                f"{row.dataset_fingerprint}, but --data {request.data or '(default: the embedded synthetic dataset)'} "
                f"gives {plan.index.dataset} with fingerprint {plan.index.fingerprint}; pass the --data "
                f"the rows were measured on" + (f" (row {row.id} was made by `{command}`)" if command else ""))
        if str(plan.protocol.version) != str(row.protocol_version):
            raise UsageError(f"row {row.id} ({row.method}) is of protocol {row.protocol} v{row.protocol_version}, "
                             f"but this avbench has v{plan.protocol.version}: its test pairs may differ; "
                             "fuse rows of the installed protocol version")
        [cell] = plan.cells
        if row.test_group not in {e.name for e in cell.evals}:
            raise UsageError(f"row {row.id}: cell {cell.name} of protocol {row.protocol} has no test "
                             f"group {row.test_group!r} (it has {', '.join(e.name for e in cell.evals)})")
        components.append(Component(row=row, checkpoint=path, plan=plan, meta=meta))
    # Canonical order: the same models give the same name and key whatever order the ids came in.
    components.sort(key=lambda c: (c.plan.method.name, c.sha, c.row.run_key))
    name = fusion_name(request.rule, [c.plan.method.name for c in components])
    if name in registry.methods.names():
        raise UsageError(f"the fusion's name {name!r} is a registered method's name; rename that method")
    config = {"fusion": {"rule": request.rule,
                         "components": [{"method": c.plan.method.name, "checkpoint_sha256": c.sha}
                                        for c in components]}}
    if request.rule == "logistic":
        config["fusion"]["logistic"] = {"C": LOGISTIC_C}
    first = components[0].row
    seed = int(first.seed)  # the first component's, in canonical order (seeds may differ: an ensemble)
    key = make_run_key(name, config, first.protocol, first.protocol_version, first.cell, first.test_group,
                       first.dataset_fingerprint, seed)
    return FusionPlan(request=request, components=components, name=name, config=config, run_key=key,
                      seed=seed, profile=_profile([c.row for c in components]))


# --- the rules ----------------------------------------------------------------------------------

def zscore_stats(scores: np.ndarray, what: str) -> tuple[float, float]:
    """Mean and population std of one component's validation scores; a constant component
    (std 0) cannot be normalised, and the error names it."""
    values = np.asarray(scores, dtype=np.float64)
    if len(values) < 2:
        raise DatasetError(f"{what}: {len(values)} validation pair(s) scored; z-normalisation needs "
                           "at least two (the dataset's validation split is too small)")
    mean, std = float(values.mean()), float(values.std())
    if not np.isfinite(std) or std <= 0:
        raise DatasetError(f"{what}: every validation pair has the same score ({mean:.6g}), so the "
                           "scores cannot be z-normalised; this model does not tell pairs apart")
    return mean, std


def zsum_fusion(test: np.ndarray, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """``sum_k (test[:, k] - means[k]) / stds[k]``: one fused score per row of ``test``
    (pairs x components)."""
    return ((np.asarray(test, np.float64) - means) / stds).sum(axis=1)


def logistic_fusion(val_z: np.ndarray, labels: np.ndarray, test_z: np.ndarray,
                    c: float = LOGISTIC_C) -> tuple[np.ndarray, dict]:
    """Fit a logistic regression on the validation pairs' z-scores and labels; return its
    decision function on the test z-scores and the fitted parameters (JSON-ready)."""
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels)
    if len(np.unique(labels)) != 2:
        raise DatasetError(f"the logistic rule needs validation pairs of both labels; the "
                           f"{len(labels)} validation pairs have only label(s) "
                           f"{sorted(set(labels.tolist()))}: use --rule zsum")
    model = LogisticRegression(C=c, max_iter=1000).fit(val_z, labels)
    params = {"C": float(c), "coef": [float(x) for x in model.coef_[0]],
              "intercept": float(model.intercept_[0]), "n_iter": int(model.n_iter_[0]),
              "n_val_pairs": int(len(labels)), "n_val_positive": int((labels == 1).sum())}
    return model.decision_function(test_z).astype(np.float64), params


# --- aligning the components' pairs -------------------------------------------------------------

def align_pairs(tables: list[pd.DataFrame], names: list[str], what: str) -> tuple[list[pd.DataFrame], list[int]]:
    """The components' score tables restricted to the pairs every one of them scored, in the
    first table's order, and how many pairs each table lost.

    Pairs are matched on ``(a_path, b_path)``; a table with a pair twice, or aligned pairs
    that disagree on target or label, is an error naming the components (they were not
    scored on the same data).  After alignment every table has the same paths in the same
    order, which is checked, not assumed."""
    for table, name in zip(tables, names):
        dup = table.duplicated(list(KEY))
        if dup.any():
            a, b = table.loc[dup.idxmax(), list(KEY)]
            raise FusionAlignmentError(f"{what}: component {name} scored the pair {a} | {b} twice; "
                                       "its score table is not one row per pair")
    keys = [pd.MultiIndex.from_frame(t[list(KEY)]) for t in tables]
    common = keys[0]
    for k in keys[1:]:
        common = common[common.isin(k)]
    if len(common) == 0:
        raise FusionAlignmentError(f"{what}: the components share no scored pair ({', '.join(names)}); "
                                   "they were scored on different videos")
    aligned = [t.set_index(list(KEY)).loc[common].reset_index() for t in tables]
    for col in ("target", "label"):
        ref = aligned[0][col].to_numpy()
        for table, name in zip(aligned[1:], names[1:]):
            bad = np.flatnonzero(table[col].to_numpy() != ref)
            if len(bad):
                i = int(bad[0])
                raise FusionAlignmentError(
                    f"{what}: components {names[0]} and {name} disagree on the {col} of pair "
                    f"{aligned[0]['a_path'].iloc[i]} | {aligned[0]['b_path'].iloc[i]} "
                    f"({ref[i]} vs {table[col].iloc[i]}); they were scored on different indexes of the data")
    for table, name in zip(aligned[1:], names[1:]):
        if not all((table[c].to_numpy() == aligned[0][c].to_numpy()).all() for c in KEY):
            raise FusionAlignmentError(f"{what}: the pairs of {name} do not line up with {names[0]}'s")
    return aligned, [len(t) - len(common) for t in tables]


# --- scoring and storing ------------------------------------------------------------------------

@dataclass
class Scored:
    """One component's validation and test score tables, and what its model could not read."""

    val: pd.DataFrame
    test: pd.DataFrame
    unusable_val: int
    unusable_test: int
    pairing: dict
    landmarks: dict | None


def score_component(registry, component: Component, cache_dir: Path | None, progress=None) -> Scored:
    """Score the cell's validation pairs and the row's test pairs with the component's model,
    through :func:`avbench.embed.score_videos` (the one scoring path)."""
    from avbench.checkpoints import load_checkpoint
    from avbench.embed import score_videos
    from avbench.evaluation import checked_pairs, select_videos, verification_pairs
    from avbench.runner import clip_source, group_source, plugin_code, resolve_device
    from avbench.training import make_fabric

    plan, row = component.plan, component.row
    [cell] = plan.cells
    [group] = [e for e in cell.evals if e.name == row.test_group]
    index, t = plan.index, plan.clip_length(cell)
    fabric = make_fabric(resolve_device(plan.request.device), plan.training.precision)
    model = load_checkpoint(component.checkpoint, registry, device=str(fabric.device))
    val = select_videos(index, "val", cell.train_generators, cell.originals)
    test = select_videos(index, "test", group.generators, group.originals)
    needed = pd.concat([val, test])
    needed = needed[~needed.index.duplicated()]
    source, report = clip_source(plan, needed, cache_dir, progress=progress)
    usable = set(source.arrays)
    val_ok, test_ok = val[val.index.isin(usable)], test[test.index.isin(usable)]
    val_pairs = verification_pairs(val_ok)
    if val_pairs.empty:
        raise DatasetError(f"row {row.id} ({row.method}): the validation videos of "
                           f"{', '.join(cell.train_generators)} in {index.dataset} give no pairs; the "
                           "fusion rules need validation scores")
    # A perturbed group (robustness) is scored on its perturbed test videos, as its row was; the
    # validation statistics stay those of the clean validation videos.
    test_source, _ = group_source(plan, source, group, test_ok, t, cache_dir, progress)
    test_ok = test_ok[test_ok.index.isin(list(test_source.arrays))]
    test_pairs, pairing = checked_pairs(test_ok, group, index.dataset)
    batch = plan.training.batch_size
    with plugin_code(plan.method, f"scoring the validation and {group.name} test pairs of row {row.id}"):
        val_scores = score_videos(model.method, source, val_ok, val_pairs, t, fabric, batch)
        test_scores = score_videos(model.method, test_source, test_ok, test_pairs, t, fabric, batch)
    return Scored(val_scores, test_scores, len(val) - len(val_ok), len(test) - len(test_ok), pairing,
                  report.summary() if report is not None else None)


def _component_label(i: int, c: Component) -> str:
    return f"c{i + 1} {c.plan.method.name} (row {c.row.id})"


def fused_scores(rule: str, val: np.ndarray, val_labels: np.ndarray, test: np.ndarray,
                 labels: list[str]) -> tuple[np.ndarray, dict]:
    """The fused test scores (pairs x components in, one score per pair out) and what the rule
    used: ``means``, ``stds`` and, for ``logistic``, the fitted ``logistic`` parameters."""
    stats = [zscore_stats(val[:, k], f"component {labels[k]}") for k in range(val.shape[1])]
    means = np.array([m for m, _ in stats])
    stds = np.array([s for _, s in stats])
    used: dict[str, Any] = {"means": means.tolist(), "stds": stds.tolist()}
    if rule == "zsum":
        return zsum_fusion(test, means, stds), used
    fused, params = logistic_fusion((val - means) / stds, val_labels, (test - means) / stds)
    used["logistic"] = params
    return fused, used


def fuse(registry, fplan: FusionPlan, store, cache_dir: Path | None = None, force: bool = False,
         progress=None):
    """Score every component, fuse, and store one evaluation-only row (reused from the store
    unless ``force``); returns it."""
    from avbench.runner import _one_writer

    found = store.find(fplan.run_key)
    if found is not None and not force:
        return found
    run_dir = store.runs_dir / "fusion" / fplan.first.row.protocol / f"{fplan.first.row.cell}-{fplan.run_key[:16]}"
    if not run_dir.resolve().is_relative_to(store.runs_dir.resolve()):
        raise UsageError(f"row {fplan.first.row.id}: its protocol and cell names leave the runs folder "
                         f"({run_dir}); the database was edited")
    with _one_writer(run_dir, True):
        found = store.find(fplan.run_key)
        if found is not None and not force:  # another process stored it meanwhile
            return found
        started = time.perf_counter()
        scored = [score_component(registry, c, cache_dir, progress) for c in fplan.components]
        row, table = _fused_row_and_table(fplan, scored, store, wall_time_s=time.perf_counter() - started)
        return _store(store, run_dir, row, table, fplan)


def _fused_row_and_table(fplan: FusionPlan, scored: list[Scored], store, wall_time_s: float):
    """The fusion's row (not yet stored: :func:`_store` attaches its score file) and score
    table: the common test pairs, the fused score, and each component's as ``score_c<k>``."""
    from avbench.metrics import summarize
    from avbench.provenance import environment, git_commit
    from avbench.results import ResultRow
    from avbench.runner import db_args, resolve_device

    comps = fplan.components
    labels = [_component_label(i, c) for i, c in enumerate(comps)]
    vals, val_dropped = align_pairs([s.val for s in scored], labels, "validation pairs")
    tests, test_dropped = align_pairs([s.test for s in scored], labels, f"{comps[0].row.test_group} test pairs")
    if tests[0]["label"].nunique() != 2:
        raise DatasetError(f"the {len(tests[0])} test pairs every component scored lack positives or "
                           "negatives; no AUC exists for the fusion")
    val_matrix = np.column_stack([v["score"].to_numpy(np.float64) for v in vals])
    test_matrix = np.column_stack([t["score"].to_numpy(np.float64) for t in tests])
    fused, used = fused_scores(fplan.request.rule, val_matrix, vals[0]["label"].to_numpy(), test_matrix, labels)
    table = tests[0].drop(columns=["score"]).assign(score=fused)
    for k, t in enumerate(tests):
        table[f"score_c{k + 1}"] = t["score"].to_numpy(np.float64)
    metrics = summarize(table, seed=fplan.seed)
    metrics.update(_fusion_metrics(fplan, table, tests, used))
    metrics["data"] = _data_counts(fplan, scored, len(vals[0]), val_dropped, test_dropped, len(tests[0]))
    landmarks = {labels[i]: s.landmarks for i, s in enumerate(scored) if s.landmarks is not None}
    if landmarks:
        metrics["landmarks"] = landmarks
    device = resolve_device(fplan.request.device)
    lengths = {c.row.clip_length for c in comps}
    row = comps[0].row
    env = {**environment(device), "command": shlex.join(["avbench", *fplan.request.command_args(), *db_args(store)]),
           "test_videos": int(len(set(table["a_path"]) | set(table["b_path"])))}
    plugins = {p.name: f"{p.distribution} {p.version}".strip() for p in comps[0].plan.plugins}
    return ResultRow(
        method=fplan.name, protocol=row.protocol, protocol_version=row.protocol_version, cell=row.cell,
        test_group=row.test_group, dataset=row.dataset, dataset_fingerprint=row.dataset_fingerprint,
        seed=fplan.seed, metrics=metrics, main_score=metrics["mean_target_auc"],
        train_generators=row.train_generators, test_generators=row.test_generators,
        clip_length=lengths.pop() if len(lengths) == 1 else None, profile=fplan.profile,
        config=fplan.config, git_commit=git_commit(), environment=env, plugins=plugins,
        wall_time_s=round(wall_time_s, 3), device=device, checkpoint="", run_key=fplan.run_key,
        trained_on=fusion_trained_on(fplan)), table


def _fusion_metrics(fplan: FusionPlan, table: pd.DataFrame, tests: list[pd.DataFrame], used: dict) -> dict:
    """``fusion`` (the rule and what it used, per component) and ``vs_best_component`` (the
    paired bootstrap of the fusion against the component with the highest mean per-target AUC
    on the same pairs): whether the fusion helps, and how to recompute it."""
    from avbench.metrics import paired_bootstrap, per_target_auc

    comps = fplan.components
    aucs = [per_target_auc(t) for t in tests]
    means = [float(a.mean()) for a in aucs]
    best = int(np.argmax(means))
    vs_best = {"component": best + 1, "method": comps[best].plan.method.name, "row_id": comps[best].row.id,
               "run_key": comps[best].row.run_key,
               **paired_bootstrap(per_target_auc(table), aucs[best], seed=fplan.seed)}
    fusion = {"rule": fplan.request.rule, "normalisation": NORMALISATION, "logistic": used.get("logistic"),
              "components": [{"component": i + 1, "row_id": c.row.id, "run_key": c.row.run_key,
                              "method": c.plan.method.name, "checkpoint_sha256": c.sha, "seed": c.row.seed,
                              "val_mean": used["means"][i], "val_std": used["stds"][i],
                              "mean_target_auc": means[i], "stored_main_score": c.row.main_score}
                             for i, c in enumerate(comps)]}
    return {"fusion": fusion, "vs_best_component": vs_best}


def _data_counts(fplan: FusionPlan, scored: list[Scored], val_pairs: int, val_dropped: list[int],
                 test_dropped: list[int], test_pairs: int) -> dict:
    """``metrics["data"]``: what the fusion rests on, and what each component could not score
    (videos its model could not read, pairs left out to align the components)."""
    return {
        "index_skipped": {k: int(v) for k, v in fplan.first.plan.index.skip_counts().items()},
        "val_pairs": val_pairs, "test_pairs": test_pairs,
        "videos_unusable": int(max(s.unusable_test for s in scored)),
        "test_pairs_dropped": int(max(test_dropped)), "val_pairs_dropped": int(max(val_dropped)),
        "components": [{"component": i + 1, "val_videos_unusable": s.unusable_val,
                        "test_videos_unusable": s.unusable_test, "val_pairs_dropped": val_dropped[i],
                        "test_pairs_dropped": test_dropped[i]} for i, s in enumerate(scored)],
        **scored[0].pairing,
    }


def fusion_trained_on(fplan: FusionPlan) -> dict:
    """The row's ``trained_on``: ``kind: "fusion"``, the rule, every component (row id, run key,
    method, checkpoint and its hash), and the keys every evaluation-only row has
    (:data:`avbench.results.TRAINED_ON_KEYS`): the components' run keys joined by ``+``, where
    their models were trained (shared, or each one's joined by ``+``), and the SHA-256 of their
    checkpoint hashes joined by ``+``."""
    comps = fplan.components
    origin = tuple(parts[0] if len(set(parts)) == 1 else "+".join(parts)
                   for parts in zip(*(_origin(c.row) for c in comps)))
    return {"kind": FUSION_KIND, "rule": fplan.request.rule,
            "run_key": "+".join(c.row.run_key for c in comps),
            "dataset": origin[0], "dataset_fingerprint": fplan.first.row.dataset_fingerprint,
            "protocol": origin[1], "cell": origin[2],
            "checkpoint_sha256": hashlib.sha256("+".join(c.sha for c in comps).encode()).hexdigest(),
            "components": [{"row_id": c.row.id, "run_key": c.row.run_key, "method": c.plan.method.name,
                            "checkpoint_sha256": c.sha, "checkpoint": c.row.checkpoint, "seed": c.row.seed}
                           for c in comps]}


def _store(store, run_dir: Path, row, table: pd.DataFrame, fplan: FusionPlan):
    """Write the score file under its pending name, store the row, then rename the file: no
    final-named score file without its row (as :func:`avbench.runner.score_and_store`)."""
    import dataclasses

    from avbench.scores import PendingScoreFiles

    pending = PendingScoreFiles(run_dir)
    try:
        path, sha = pending.write(f"scores-{row.test_group}.parquet", table,
                                  metadata={"run_key": row.run_key, "method": row.method, "cell": row.cell,
                                            "test_group": row.test_group, "rule": fplan.request.rule,
                                            "components": row.trained_on["components"]})
    except BaseException:
        pending.discard()
        raise
    [stored] = pending.commit(store, [dataclasses.replace(row, score_file=store.relative(path),
                                                          score_sha256=sha)])
    return stored
