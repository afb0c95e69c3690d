"""Evaluate a saved model without training: a checkpoint scored on a protocol's test groups.

``avbench evaluate`` takes a model saved by a run (``--run ID``: the row's checkpoint; or
``--checkpoint FILE``: a ``.safetensors`` file with its JSON sidecar, see
:mod:`avbench.checkpoints`), a dataset and a protocol cell, and stores one row per eval group,
like ``avbench run`` does after training.  This is also cross-dataset evaluation: a model
trained on the synthetic data scored on NVFAIR's or AVAPrintDB's test identities, or the
reverse.

The rows are *evaluation-only*: :attr:`~avbench.results.ResultRow.trained_on` names the run,
dataset, protocol and cell the model was trained on and the checkpoint's weights hash, so a
number measured on a model trained elsewhere is never mistaken for a training run's.  Their
run key hashes the checkpoint's weights with the evaluation's protocol, cell, group and
dataset, so evaluating the same model on the same data again reuses the stored row
(``force`` recomputes).

What is resolved where: the plan (method spec, its config from the checkpoint, protocol,
dataset, landmark extractor) through :func:`avbench.runner.plan_run`, as for a training run;
the clip length and precision the model was trained with come from the checkpoint; the
scoring path is :func:`avbench.embed.score_videos`, the one validation and ``run`` use.
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from avbench.errors import CheckpointError, DatasetError, UsageError

__all__ = ["EvaluationRequest", "checkpoint_of_row", "evaluate", "plan_evaluation"]


@dataclass(frozen=True)
class EvaluationRequest:
    """What the user asked for: which model, on which data, under which protocol cell."""

    checkpoint: Path
    data: str | None = None  # dataset spec; default: the embedded synthetic dataset
    protocol: str | None = None  # default: the protocol the model was trained under
    cell: str | None = None  # default: the model's own cell if the protocol has it, or its only cell
    device: str = "auto"

    def command_args(self) -> list[str]:
        args = ["evaluate", "--checkpoint", str(self.checkpoint), "--device", self.device]
        if self.data:
            args += ["--data", self.data]
        if self.protocol:
            args += ["--protocol", self.protocol]
        if self.cell:
            args += ["--cell", self.cell]
        return args


def checkpoint_of_row(store, row_id: int) -> Path:
    """The checkpoint a stored row's model was saved to, confined to the store's folder."""
    rows = store.rows(id=int(row_id))
    if not rows:
        raise UsageError(f"--run {row_id}: {store.path} has no row with this id "
                         "(avbench leaderboard publish or the database's `id` column lists them)")
    row = rows[0]
    if isinstance(row.trained_on, dict) and row.trained_on.get("kind") == "fusion":
        parts = ", ".join(str(c.get("row_id")) for c in row.trained_on.get("components", []) if isinstance(c, dict))
        raise UsageError(f"--run {row_id} in {store.path} is a fusion ({row.method}), which has no model of "
                         f"its own; use one of the rows it fuses ({parts})")
    if not row.checkpoint:
        raise CheckpointError(f"--run {row_id} in {store.path}: the row records no checkpoint; "
                              "re-run its training to save one")
    path = store.resolve(row.checkpoint)
    if not path.resolve().is_relative_to(store.path.parent.resolve()):
        raise CheckpointError(f"--run {row_id} in {store.path}: its checkpoint {row.checkpoint} lies "
                              "outside the database's folder, where avbench never writes; the "
                              "database was edited or moved without its runs folder")
    if path.suffix != ".safetensors":
        raise CheckpointError(f"--run {row_id} in {store.path}: its checkpoint {row.checkpoint} was "
                              "saved in the format of earlier avbench versions, which is not read "
                              "(it would have to be unpickled); re-run the training with --force "
                              "to save it as .safetensors")
    if not path.exists() and not path.with_suffix(".json").exists():
        command = row.environment.get("command") if isinstance(row.environment, dict) else None
        again = (f"train it again with `{command} --cell {row.cell} --force` (stored beside this row "
                 "under the same key; or give that command another --db)"
                 if row.trained_on is None and command else "train it again with the command that made the row")
        raise CheckpointError(f"--run {row_id} in {store.path}: its model {row.checkpoint} is not in "
                              "this results folder (a shared folder may carry only some of its models); "
                              + again)
    return path


def plan_evaluation(registry, request: EvaluationRequest):
    """Resolve the model's method and config, the protocol cell and the dataset; returns the
    :class:`~avbench.runner.RunPlan` (one cell) and the checkpoint's metadata."""
    from avbench.checkpoints import read_checkpoint_meta
    from avbench.config import PROFILES
    from avbench.runner import RunRequest, plan_run
    from avbench.specs import InputKind

    meta = read_checkpoint_meta(request.checkpoint)
    spec = registry.methods.get(meta["method"])
    protocol = request.protocol or meta.get("protocol")
    if not isinstance(protocol, str) or not protocol:
        raise UsageError(f"{request.checkpoint}: the checkpoint does not say which protocol it was "
                         "trained under; give --protocol")
    config = dict(meta["config"])
    extractor = None
    if spec.input == InputKind.LANDMARKS:
        extractor = config.get("extractor")
    clip_length = meta.get("clip_length")
    training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    # The clip length and precision the model was trained with; the profile only sizes the
    # embedding batches.
    schedule = {"clip_length": clip_length} if isinstance(clip_length, int) and clip_length > 0 else {}
    precision = training.get("precision") if isinstance(training.get("precision"), str) else None
    profile = meta.get("profile") if meta.get("profile") in PROFILES else "standard"
    run = RunRequest(method=spec.name, protocol=protocol, data=request.data, device=request.device,
                     profile=profile, seed=_seed(meta, request.checkpoint), method_overrides=config,
                     extractor=extractor, training_overrides=schedule, precision=precision)
    plan = plan_run(registry, dataclasses.replace(run, cells=(request.cell,) if request.cell else ()))
    if plan.protocol.other_dataset and plan.index.fingerprint == meta.get("dataset_fingerprint"):
        raise UsageError(f"protocol {plan.protocol.name!r} scores the model on another dataset than it "
                         f"was trained on, but {plan.index.dataset} at {plan.index.root} is that dataset "
                         f"(fingerprint {plan.index.fingerprint}); give --data OTHER, or use per_gen for "
                         "its own test set")
    if spec.input == InputKind.LANDMARKS and plan.method_overrides.get("n_points") != config.get("n_points"):
        raise DatasetError(
            f"{request.checkpoint}: the model reads {config.get('n_points')} landmark points "
            f"({config.get('extractor')}), but {plan.index.dataset} gives "
            f"{plan.method_overrides.get('n_points')} with that extractor; evaluate it on data "
            "with the same landmark layout")
    if not request.cell:
        names = [c.name for c in plan.cells]
        if meta.get("cell") in names:
            plan.cells = [c for c in plan.cells if c.name == meta["cell"]]
        elif len(names) == 1:
            pass
        else:
            raise UsageError(f"protocol {protocol!r} has the cells {', '.join(names)} on "
                             f"{plan.index.dataset}; choose the one to evaluate with --cell")
    return plan, meta


def other_build_notice(plan, meta: dict) -> str:
    """A warning when the model is scored on the dataset it was trained on by name, but on files
    with another fingerprint: the same synthetic dataset made with another PyAV build (its FFmpeg
    writes its version into each file, changing the sizes), or a real dataset copied with changes.  The scores are real, but
    they are not comparable with the training run's rows, which fusion and the board rely on."""
    trained = str(meta.get("dataset_fingerprint") or "")
    if (plan.protocol.other_dataset or not trained or plan.index.dataset != meta.get("dataset")
            or plan.index.fingerprint == trained):
        return ""
    why = (f"the default dataset was made with another PyAV build: install the av version avbench "
           f"requires and delete {plan.index.root} so that it is made again"
           if plan.index.dataset == "synthetic" else
           f"the files at {plan.index.root} differ from those the model was trained on")
    return (f"warning: the model was trained on {plan.index.dataset} with fingerprint {trained}, but "
            f"these files give {plan.index.fingerprint}; the rows are not comparable with the "
            f"training run's ({why})")


def evaluate(registry, plan, checkpoint: Path, meta: dict, store, request: EvaluationRequest,
             cache_dir: Path | None = None, force: bool = False, progress=None) -> list:
    """Score every eval group of the plan's cell with the saved model; store and return one
    evaluation-only row per group (reused from the store unless ``force``)."""
    from avbench.checkpoints import load_checkpoint
    from avbench.evaluation import select_videos
    from avbench.provenance import environment, git_commit
    from avbench.results import make_run_key
    from avbench.runner import clip_source, db_args, resolve_device, score_and_store
    from avbench.training import make_fabric

    [cell] = plan.cells
    index, t = plan.index, plan.clip_length(cell)
    sha = meta["weights_sha256"]
    config = {"method": meta["config"], "training": dataclasses.asdict(plan.training),
              "profile": plan.request.profile, "checkpoint_sha256": sha}
    keys = {ev.name: make_run_key(plan.method.name, config, plan.protocol.name, plan.protocol.version,
                                  cell.name, ev.name, index.fingerprint, plan.request.seed)
            for ev in cell.evals}
    found = {name: store.find(k) for name, k in keys.items()}
    if not force and all(found.values()):
        return [found[ev.name] for ev in cell.evals]
    device = resolve_device(plan.request.device)
    fabric = make_fabric(device, plan.training.precision)
    model = load_checkpoint(checkpoint, registry, device=str(fabric.device))
    tests = {ev.name: select_videos(index, "test", ev.generators, ev.originals) for ev in cell.evals}
    needed = pd.concat(tests.values())
    needed = needed[~needed.index.duplicated()]
    source, report = clip_source(plan, needed, cache_dir, progress=progress)
    usable = set(source.arrays)
    trained_on = {"run_key": _training_key(meta, cell.name), "dataset": str(meta.get("dataset", "")),
                  "dataset_fingerprint": str(meta.get("dataset_fingerprint", "")),
                  "protocol": str(meta.get("protocol", "")), "cell": str(meta.get("cell", "")),
                  "checkpoint_sha256": sha, "training_key": str(meta.get("training_key", ""))}
    env = {**environment(device), "command": shlex.join(["avbench", *request.command_args(), *db_args(store)])}
    commit = git_commit()
    plugins = {p.name: f"{p.distribution} {p.version}".strip() for p in plan.plugins}
    run_dir = (store.runs_dir / plan.method.name / plan.protocol.name
               / f"eval-{cell.name}-{sha[:12]}-{keys[cell.evals[0].name][:12]}")
    unusable = {name: int((~test.index.isin(usable)).sum()) for name, test in tests.items()}
    tests = {name: test[test.index.isin(usable)] for name, test in tests.items()}
    skipped = {k: int(v) for k, v in index.skip_counts().items()}

    def evaluation_metrics(ev, scores, test) -> dict:
        metrics = _at_threshold(scores, meta.get("threshold"))
        if report is not None:
            metrics["landmarks"] = report.summary()
        metrics["data"] = {"index_skipped": skipped, "videos_unusable": unusable[ev.name],
                           "test_videos": len(test)}
        return metrics

    return score_and_store(
        plan, cell, model.method, source, tests, t, fabric, store, run_dir, keys,
        what=str(checkpoint), metrics_of=evaluation_metrics, metadata={"checkpoint_sha256": sha},
        cache_dir=cache_dir, progress=progress,
        row_fields={"train_generators": tuple(meta.get("train_generators") or cell.train_generators),
                    "config": config, "git_commit": commit, "environment": env, "plugins": plugins,
                    "wall_time_s": None, "device": device, "checkpoint": store.relative(checkpoint),
                    "trained_on": trained_on})


def _seed(meta: dict, path: Path) -> int:
    seed = meta.get("seed", 0)
    if seed is None:
        return 0
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise CheckpointError(f"{path}: its sidecar's seed {seed!r} is not an integer; the file was "
                              "edited or damaged: save the checkpoint again")
    return seed


def _training_key(meta: dict, cell: str) -> str:
    """The training run key of the model (one per eval group of its cell; the first is the
    cell's run folder key)."""
    keys = meta.get("run_keys")
    if isinstance(keys, dict) and keys:
        value = next(iter(keys.values()))
        return value if isinstance(value, str) else ""
    return ""


def _at_threshold(scores: pd.DataFrame, threshold) -> dict:
    """The error rates of the model's stored decision threshold on these pairs: what a
    deployment that accepts ``score >= threshold`` would see on this data."""
    if not isinstance(threshold, (int, float)):
        return {"threshold": None}
    accept = scores["score"].to_numpy() >= threshold
    positive = scores["label"].to_numpy() == 1
    return {"threshold": float(threshold),
            "far_at_threshold": float(accept[~positive].mean()),
            "frr_at_threshold": float((~accept[positive]).mean())}
