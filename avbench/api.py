"""avbench from Python: the CLI's jobs as functions that return DataFrames.

Every function resolves names and data exactly as its command does (same plans, same
checks, same results database), so a notebook and a shell script give the same rows::

    from avbench import api

    rows = api.run("f5c_featdiff", "overall", device="cuda", seeds=(0, 1, 2))
    model_row = int(rows["id"].iloc[0])
    api.evaluate(run=model_row, data="nvfair:/data/NVFAIR-v2-release")   # cross-dataset
    api.fuse([model_row, other_row], rule="zsum")                        # a fusion's row
    v = api.verify("a.mp4", "b.mp4", run=model_row)                      # v.score, v.same_driver
    emb = api.embed(run=model_row, split="test")                         # one row per video
    df = api.results(method="f5c_featdiff")                              # the stored rows

Result frames have one column per :class:`~avbench.results.ResultRow` field (``metrics``,
``config`` and ``trained_on`` hold dicts); ``main_score`` is the protocol's main score (mean
per-target AUC).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["embed", "evaluate", "fuse", "results", "run", "score", "verify"]


def _registry(plugins: Iterable[str] = ()):
    from avbench.registry import load_registry

    return load_registry(list(plugins)) if plugins else load_registry()


def _frame(rows: list) -> pd.DataFrame:
    from avbench.results import COLUMNS

    return pd.DataFrame.from_records([r.__dict__ for r in rows], columns=list(COLUMNS))


def run(method: str, protocol: str, data: str | None = None, *, device: str = "auto",
        profile: str = "auto", seeds: Iterable[int] = (0,), db: str | Path | None = None,
        overrides: Mapping[str, Any] | None = None, training: Mapping[str, Any] | None = None,
        cells: Iterable[str] = (), precision: str | None = None, force: bool = False,
        cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Train and evaluate ``method`` under ``protocol`` (``avbench run``): one row per cell,
    eval group and seed, stored in ``db`` and returned.  Cells already stored are reused
    unless ``force``."""
    from avbench.results import ResultsStore, default_db_path
    from avbench.runner import RunRequest, execute, plan_run

    reg = _registry()
    requests = [RunRequest(method=method, protocol=protocol, data=data, device=device, profile=profile,
                           seed=int(s), method_overrides=dict(overrides or {}),
                           training_overrides=dict(training or {}), cells=tuple(cells),
                           precision=precision) for s in seeds]
    plans = [plan_run(reg, r) for r in requests]  # every name checked before the first training
    store = ResultsStore(db or default_db_path())
    rows = []
    for plan in plans:
        rows += [r for o in execute(plan, store=store, force=force,
                                    cache_dir=Path(cache_dir) if cache_dir else None) for r in o.rows]
    return _frame(rows)


def evaluate(checkpoint: str | Path | None = None, *, run: int | None = None, data: str | None = None,
             protocol: str | None = None, cell: str | None = None, device: str = "auto",
             db: str | Path | None = None, force: bool = False,
             cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Score a saved model on a protocol cell's test groups without training (``avbench
    evaluate``): evaluation-only rows, stored in ``db`` and returned."""
    from avbench.errors import UsageError
    from avbench.evaluate import EvaluationRequest, checkpoint_of_row, plan_evaluation
    from avbench.evaluate import evaluate as evaluate_
    from avbench.results import ResultsStore, default_db_path

    if (run is None) == (checkpoint is None):
        raise UsageError("give exactly one of run=ID (a row of db) and checkpoint=FILE")
    reg = _registry()
    store = ResultsStore(db or default_db_path())
    path = Path(checkpoint) if checkpoint is not None else checkpoint_of_row(store, run)
    request = EvaluationRequest(checkpoint=path, data=data, protocol=protocol, cell=cell, device=device)
    plan, meta = plan_evaluation(reg, request)
    return _frame(evaluate_(reg, plan, path, meta, store, request,
                            cache_dir=Path(cache_dir) if cache_dir else None, force=force))


def fuse(rows: Iterable[int], *, rule: str = "zsum", data: str | None = None, device: str = "auto",
         db: str | Path | None = None, force: bool = False,
         cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Fuse the scores of two or more stored rows' models (``avbench fuse``): one
    evaluation-only row of the pseudo-method ``fusion(<rule>):<methods>``, stored in ``db``
    and returned.  ``rule``: ``zsum`` or ``logistic`` (see :mod:`avbench.fusion`); a fusion
    already stored is reused unless ``force``."""
    from avbench.fusion import FusionRequest, plan_fusion
    from avbench.fusion import fuse as fuse_
    from avbench.results import ResultsStore, default_db_path

    reg = _registry()
    store = ResultsStore(db or default_db_path())
    plan = plan_fusion(reg, store, FusionRequest(rows=tuple(int(r) for r in rows), rule=rule, data=data,
                                                 device=device))
    return _frame([fuse_(reg, plan, store, cache_dir=Path(cache_dir) if cache_dir else None, force=force)])


def embed(data: str | None = None, *, checkpoint: str | Path | None = None, run: int | None = None,
          split: str | None = None, device: str = "auto", db: str | Path | None = None,
          cache_dir: str | Path | None = None) -> pd.DataFrame:
    """One embedding per video of a dataset with its index columns (``avbench embed``)."""
    from avbench.inference import embed_dataset, open_model
    from avbench.runner import resolve_device

    reg = _registry()
    model = open_model(reg, checkpoint=checkpoint, run=run, db=db, device=resolve_device(device))
    return embed_dataset(reg, model, data, split, device=device,
                         cache_dir=Path(cache_dir) if cache_dir else None)


def verify(a: str | Path, b: str | Path, *, checkpoint: str | Path | None = None, run: int | None = None,
           device: str = "cpu", db: str | Path | None = None, cache_dir: str | Path | None = None):
    """Whether videos ``a`` and ``b`` have the same driver (``avbench verify``): a
    :class:`~avbench.inference.Verification` (score, threshold, same_driver, seconds)."""
    from avbench.inference import open_model, verify_videos
    from avbench.runner import resolve_device

    reg = _registry()
    model = open_model(reg, checkpoint=checkpoint, run=run, db=db, device=resolve_device(device))
    return verify_videos(reg, model, a, b, device=device, cache_dir=Path(cache_dir) if cache_dir else None)


def results(db: str | Path | None = None, **filters: Any) -> pd.DataFrame:
    """The stored rows of a results database, filtered by column (``method="f5c_featdiff"``,
    ``protocol=["overall", "per_gen"]``), oldest first."""
    from avbench.results import ResultsStore, default_db_path

    return ResultsStore(db or default_db_path()).query(**filters)


def score(path: str | Path, *, column_target: str = "target", column_label: str = "label",
          column_score: str = "score", positive_label: str | None = None, n_boot: int = 1000,
          seed: int = 0) -> dict:
    """Verification metrics of a score table file (``avbench score``: Parquet, CSV or TSV with
    target, label and score columns, named otherwise with the ``column_*`` arguments)."""
    from avbench import score_file

    table = score_file.load_score_table(Path(path), column_target, column_label, column_score, positive_label)
    return score_file.score_report(table, n_boot=n_boot, seed=seed, source=Path(path))
