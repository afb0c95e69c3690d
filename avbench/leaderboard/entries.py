"""Board entries: stored result rows grouped into the numbers a leaderboard shows.

An *entry* is one method variant's result on one evaluation (cell x test group)
of one protocol version on one dataset fingerprint, over every seed that was
run.  A method's *variant* is a hash of its stored config without the clip
length (which the clip-length protocol varies per cell), so the same method
trained with another profile, extractor or override is a separate row rather
than averaged in.  Only stored rows and their score files are read (MTEB,
bob.bio): nothing here knows about models.

Forced re-runs add rows with the same run key; the newest one counts.

Entries are made of trained runs only (:func:`latest_rows`).  An evaluation-only row
(``trained_on`` set: a saved model scored by ``avbench evaluate``) measures how one
given model transfers, not how a method learns from the data, so it is never
averaged into an entry or ranked with them; :func:`evaluated_rows` hands those rows
out for the board's own list of evaluated checkpoints.
"""

from __future__ import annotations

import copy
import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from avbench.metrics import (bootstrap_mean_ci, bootstrap_samples, group_breakdown, paired_bootstrap,
                             seed_mean_target_aucs)
from avbench.results import ResultsStore, ScoreFileError
from avbench.scores import read_scores

# What makes two rows the same number on a board (seeds are averaged within it).
ENTRY_KEY = ("dataset", "dataset_fingerprint", "protocol", "protocol_version", "method", "variant",
             "cell", "test_group")
# A board section: rows in one section are comparable; sections are never mixed.
SECTION_KEY = ("protocol", "protocol_version", "dataset_fingerprint")


def variant_of(config: dict) -> str:
    """Eight hex digits identifying a method's config across the cells of a protocol."""
    cfg = copy.deepcopy(config)
    if isinstance(cfg.get("training"), dict):
        cfg["training"].pop("clip_length", None)
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:8]


def _newest(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return rows.assign(variant=pd.Series(dtype=str)).reset_index(drop=True)
    rows = rows.sort_values("id").drop_duplicates("run_key", keep="last")
    return rows.assign(variant=rows["config"].map(variant_of)).reset_index(drop=True)


def _is_evaluation_only(rows: pd.DataFrame) -> pd.Series:
    return rows["trained_on"].map(lambda t: t is not None).astype(bool)


def latest_rows(store: ResultsStore) -> pd.DataFrame:
    """Every stored row of a trained run (``trained_on`` None), newest per run key, with
    ``variant`` added.  Evaluation-only rows are left to :func:`evaluated_rows`, also
    before picking the newest, so one of them can never stand in for a trained run's row."""
    rows = store.all()
    return _newest(rows[~_is_evaluation_only(rows)] if len(rows) else rows)


def evaluated_rows(store: ResultsStore) -> pd.DataFrame:
    """Every evaluation-only row (``trained_on`` set), newest per run key, with ``variant``
    added: what a board lists apart from its ranked tables."""
    rows = store.all()
    return _newest(rows[_is_evaluation_only(rows)] if len(rows) else rows)


class ScoreReader:
    """Score files of a store, each checked and read once.

    Every file is checked by :meth:`ResultsStore.score_file
    <avbench.results.ResultsStore.score_file>` before it is read: it must lie inside
    the store's folder and have the SHA-256 its newest row recorded, so a file written
    over by another run or another database (the same run key stored in two databases
    used to share one run folder) is refused with the file named instead of being
    drawn as this store's scores.  Problems are :class:`~avbench.results.ScoreFileError`
    (one line on the command line).
    """

    def __init__(self, store: ResultsStore) -> None:
        self.store = store
        self._read = lru_cache(maxsize=None)(self._read_uncached)
        self._checked = lru_cache(maxsize=None)(self._check)
        self._rows: dict[str, tuple[str, str | None]] | None = None

    def _row_of(self, stored_path: str) -> tuple[str, str | None]:
        """``(run_key, score_sha256)`` of the newest row with this score file (("", None) if none)."""
        if self._rows is None:
            self._rows = self.store.score_hashes()
        return self._rows.get(stored_path, ("", None))

    def _check(self, stored_path: str) -> Path:
        return self.store.score_file(stored_path, *self._row_of(stored_path))

    def _read_uncached(self, stored_path: str) -> pd.DataFrame:
        path = self._checked(stored_path)
        try:
            return read_scores(path)
        except (OSError, ValueError) as exc:
            run_key = self._row_of(stored_path)[0]
            raise ScoreFileError(f"score file {path} of run key {run_key or '?'} in {self.store.path} "
                                 f"cannot be read ({exc}); re-run that cell with --force",
                                 "unreadable") from exc

    def table(self, stored_path: str) -> pd.DataFrame:
        """The checked score table of a stored ``score_file``."""
        return self._read(stored_path)

    def exists(self, stored_path: str) -> bool:
        """True if the file is there and is the one its row recorded; False if it is missing.
        A file outside the store's folder or with another SHA-256 is an error, not a missing
        file: it is there, but must not be read."""
        try:
            self._checked(stored_path)
        except ScoreFileError as exc:
            if exc.reason == "missing":
                return False
            raise
        return True

    def target_aucs(self, entry: pd.Series) -> pd.Series:
        """Per-target AUC of an entry, averaged over its seeds."""
        return seed_mean_target_aucs([self.table(p) for p in entry["score_files"]])

    def pooled(self, entry: pd.Series) -> pd.DataFrame:
        """All pairs of an entry's seeds in one table (for ROC/DET curves)."""
        return pd.concat([self.table(p) for p in entry["score_files"]], ignore_index=True)


def _mean(values: list) -> float:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _fewest(values: list) -> float:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(min(finite)) if len(finite) == len(values) and finite else float("nan")


def build_entries(rows: pd.DataFrame, reader: ScoreReader) -> pd.DataFrame:
    """One row per entry (see the module docstring), sorted by section, cell, test group, score.

    Columns: :data:`ENTRY_KEY`, ``profile``, ``clip_length``, ``train_generators``,
    ``test_generators``, ``seeds`` (tuple), ``n_seeds``, ``mean_target_auc`` (mean
    over seeds), ``std`` (sample std over seeds; NaN for one seed), ``ci_low``/
    ``ci_high`` (95 % cluster bootstrap over targets: the stored interval for one
    seed; for several, recomputed from the score files on the seed-averaged
    per-target AUCs), ``pooled_auc``, ``eer``, ``tar_at_far1``, ``n_targets``
    (means over seeds), ``n_negative`` (the fewest negative pairs of a seed: what each
    seed's TAR at FAR = 1 % was estimated from; NaN where rows do not store it), ``config`` (newest row's), ``git_commits``,
    ``avbench_versions``, ``devices``, ``created_at`` (newest), ``dates`` (per
    seed), ``run_keys``, ``score_files``, ``ci_note``.
    """
    columns = [*ENTRY_KEY, "profile", "clip_length", "train_generators", "test_generators", "seeds",
               "n_seeds", "mean_target_auc", "std", "ci_low", "ci_high", "pooled_auc", "eer",
               "tar_at_far1", "n_targets", "n_negative", "config", "git_commits", "avbench_versions", "devices",
               "created_at", "dates", "run_keys", "score_files", "ci_note", "paired_with", "paired_delta",
               "paired_ci_low", "paired_ci_high", "per_source"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    records = []
    for key, group in rows.groupby(list(ENTRY_KEY), sort=False):
        group = group.sort_values(["seed", "id"])
        newest = group.sort_values("id").iloc[-1]
        values = group["main_score"].to_numpy(dtype=float)
        metrics = list(group["metrics"])
        rec = dict(zip(ENTRY_KEY, key))
        rec.update(
            profile=newest["profile"], clip_length=newest["clip_length"],
            train_generators=tuple(newest["train_generators"]),
            test_generators=tuple(newest["test_generators"]),
            seeds=tuple(int(s) for s in group["seed"]), n_seeds=len(group),
            mean_target_auc=float(values.mean()),
            std=float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
            pooled_auc=_mean([m.get("pooled_auc") for m in metrics]),
            eer=_mean([m.get("eer") for m in metrics]),
            tar_at_far1=_mean([m.get("tar_at_far1") for m in metrics]),
            n_targets=_mean([m.get("n_targets") for m in metrics]),
            n_negative=_fewest([m.get("n_negative") for m in metrics]),
            config=newest["config"], git_commits=tuple(sorted(set(group["git_commit"]))),
            avbench_versions=tuple(sorted(set(group["avbench_version"]))),
            devices=tuple(sorted(set(group["device"]))), created_at=newest["created_at"],
            dates=tuple(group["created_at"]), run_keys=tuple(group["run_key"]),
            score_files=tuple(group["score_file"]), ci_note="",
            paired_with=(metrics[0].get("vs_paired") or {}).get("group", ""),
            paired_delta=float("nan"), paired_ci_low=float("nan"), paired_ci_high=float("nan"),
            _stored_pair=metrics[0].get("vs_paired"),  # not a column: read by _pair only
            per_source=None,
        )
        if len(group) == 1:
            rec["ci_low"] = metrics[0]["mean_target_auc_ci_low"]
            rec["ci_high"] = metrics[0]["mean_target_auc_ci_high"]
        else:
            missing = [p for p in rec["score_files"] if not reader.exists(p)]
            if missing:
                rec["ci_low"] = rec["ci_high"] = float("nan")
                rec["ci_note"] = f"no CI: score file(s) missing: {', '.join(missing)}"
            else:
                aucs = seed_mean_target_aucs([reader.table(p) for p in rec["score_files"]])
                m = metrics[0]
                rec["ci_low"], rec["ci_high"] = bootstrap_mean_ci(
                    aucs, n=int(m.get("bootstrap_n", 1000)), seed=int(m.get("bootstrap_seed", 0)))
                rec["ci_note"] = (f"CI of the mean over {len(group)} seeds of per-target AUC "
                                  "(cluster bootstrap over targets)")
        rec["per_source"] = _per_source(rec, metrics, reader)
        records.append(rec)
    _pair(records, reader)
    df = pd.DataFrame.from_records(records, columns=columns)
    return df.sort_values([*SECTION_KEY, "method", "variant"], kind="stable").reset_index(drop=True)


def _per_source(rec: dict, metrics: list[dict], reader: ScoreReader) -> dict | None:
    """The entry's AUC per source population and largest gap (:func:`avbench.metrics.group_breakdown`):
    one seed's as stored; several seeds' recomputed on the seed-averaged per-target AUCs from the
    score files, with the targets' populations the rows stored.  None where a row lacks it."""
    stored = [m.get("per_source") for m in metrics]
    if not all(isinstance(x, dict) and x.get("groups") for x in stored):
        return None
    if len(stored) == 1:
        return stored[0]
    if not all(reader.exists(p) for p in rec["score_files"]):
        return None
    group_of = pd.Series({t: name for x in stored for name, g in x["groups"].items() for t in g.get("targets", ())},
                         dtype=object)
    if group_of.empty:
        return None
    aucs = seed_mean_target_aucs([reader.table(p) for p in rec["score_files"]])
    m = metrics[0]
    return group_breakdown(aucs, group_of, n=int(m.get("bootstrap_n", 1000)), seed=int(m.get("bootstrap_seed", 0)))


def _pair(records: list[dict], reader: ScoreReader) -> None:
    """Fill each paired entry's change against its partner group (a robustness perturbation
    against ``clean``): the difference of seed-averaged mean per-target AUCs with a paired
    bootstrap CI over the shared targets, from both entries' score files, over the seeds both
    have.  Without the files, a single seed's stored ``vs_paired`` is shown as stored."""
    by_key = {tuple(r[k] for k in ENTRY_KEY): r for r in records}
    for rec in records:
        if not rec["paired_with"]:
            continue
        partner = by_key.get(tuple(rec[k] if k != "test_group" else rec["paired_with"] for k in ENTRY_KEY))
        if partner is None:
            continue
        seeds = sorted(set(rec["seeds"]) & set(partner["seeds"]))
        files = [rec["score_files"][rec["seeds"].index(s)] for s in seeds]
        partner_files = [partner["score_files"][partner["seeds"].index(s)] for s in seeds]
        if seeds and all(reader.exists(p) for p in files + partner_files):
            result = paired_bootstrap(seed_mean_target_aucs([reader.table(p) for p in files]),
                                      seed_mean_target_aucs([reader.table(p) for p in partner_files]))
        elif len(rec["seeds"]) == 1 and rec.get("_stored_pair"):
            result = rec["_stored_pair"]
        else:
            continue
        rec.update(paired_delta=result["delta"], paired_ci_low=result["ci_low"],
                   paired_ci_high=result["ci_high"])


SECONDARY_METRICS = {"pooled_auc": "pooled_auc", "eer": "eer", "tar_at_far1": "tar_at_far"}


def secondary_cis(entry: pd.Series, reader: ScoreReader, n: int = 1000,
                  alpha: float = 0.05) -> dict:
    """95 % cluster-bootstrap CIs of pooled AUC, EER and TAR@FAR=1 % for one entry.

    The stored rows carry these metrics' point values only, so the board computes
    their intervals from the score files where it shows them.  For several seeds,
    every seed's table is resampled with the same target draws and the metric
    averaged over seeds per resample, matching the seed-averaged point value.
    """
    tables = [reader.table(p) for p in entry["score_files"]]
    targets = {tuple(sorted(set(t["target"]))) for t in tables}
    if len(targets) != 1:  # the same draws only mean the same targets if every seed has them all
        raise ValueError(f"{entry['method']} {entry['protocol']} {entry['cell']}/{entry['test_group']}: "
                         "seeds were scored on different targets; their CIs cannot be paired")
    seed = int(entry["seeds"][0]) if entry["n_seeds"] == 1 else 0
    out = {}
    for name, statistic in SECONDARY_METRICS.items():
        samples = np.mean([bootstrap_samples(t, statistic, n=n, seed=seed) for t in tables], axis=0)
        samples = samples[np.isfinite(samples)]
        low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
        out[name] = (float(low), float(high))
    return out
