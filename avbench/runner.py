"""``avbench run``: resolve a method, a protocol and a dataset into a plan, check it, run it.

The flow is one way: dataset index → clips → method → embeddings → pair scores →
metrics → results store.  This module owns the first steps (resolution and the
pre-flight check); each later step lives in its own module.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import shlex
import time
import traceback
import types
import typing
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from avbench.config import AUTO, SCALINGS, TrainingConfig, get_profile, resolve_profile, weak_scaled
from avbench.data.index import DatasetIndex, IndexOptions
from avbench.data.spec import open_dataset
from avbench.errors import AvbenchError, DatasetError, PluginError, TrainingError, UsageError
from avbench.registry import Registry
from avbench.specs import Cell, EvalGroup, InputKind, LandmarkExtractorSpec, MethodSpec, ProtocolSpec

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("32-true", "16-mixed", "bf16-mixed", "64-true")


@dataclass(frozen=True)
class RunRequest:
    """What the user asked for, exactly as given on the command line."""

    method: str
    protocol: str
    data: str | None = None
    device: str = "auto"
    profile: str = AUTO  # standard on a GPU, quick on a CPU; plans hold the resolved name
    seed: int = 0
    method_overrides: dict[str, Any] = field(default_factory=dict)
    extractor: str | None = None  # landmark methods: extractor plugin (default: the method's config)
    devices: int = 1  # data-parallel processes per training (Fabric DDP); results do not depend on it
    scaling: str = "strong"  # strong: the profile's batch split over the devices; weak: N x the batch
    compile: bool = False  # torch.compile the method (speed only)
    cells: tuple[str, ...] = ()  # only these protocol cells (default: all)
    precision: str | None = None  # override the profile's (part of the stored config)
    training_overrides: dict[str, Any] = field(default_factory=dict)  # --train KEY=VALUE (stored too)
    logger: str = "none"  # also log each epoch through a Lightning Fabric logger: csv | tensorboard

    def command_args(self) -> list[str]:
        """The ``avbench run`` arguments that repeat this request (without ``--cell``):
        stored with every result, and how parallel cell jobs are started."""
        args = ["run", "--method", self.method, "--protocol", self.protocol, "--device", self.device,
                "--profile", self.profile, "--seed", str(self.seed), "--devices", str(self.devices)]
        if self.data:
            args += ["--data", self.data]
        if self.extractor:
            args += ["--extractor", self.extractor]
        for key, value in self.method_overrides.items():
            args += ["--set", f"{key}={value!r}"]
        for key, value in self.training_overrides.items():
            args += ["--train", f"{key}={value!r}"]
        if self.precision:
            args += ["--precision", self.precision]
        if self.compile:
            args.append("--compile")
        if self.logger != "none":
            args += ["--logger", self.logger]
        if self.scaling != "strong":
            args += ["--scaling", self.scaling]
        return args


@dataclass
class RunPlan:
    request: RunRequest
    method: MethodSpec
    protocol: ProtocolSpec
    index: DatasetIndex
    training: TrainingConfig
    cells: list[Cell]
    plugins: list = field(default_factory=list)  # LoadedPlugin records, stored with results
    method_overrides: dict[str, Any] = field(default_factory=dict)  # as resolved: what builds the method
    extractor: LandmarkExtractorSpec | None = None  # landmark methods only

    def clip_length(self, cell: Cell) -> int:
        return cell.clip_length or self.training.clip_length

    @cached_property
    def method_config(self) -> dict[str, Any]:
        """The method's resolved config (paper defaults, variant defaults, ``--set``, the
        extractor's fields) as stored with every row: built once per plan, on first use (so
        planning does not import the method's code)."""
        try:
            return dataclasses.asdict(self.method.load().Config(**self.method_overrides))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"method {self.method.name!r}: its config does not accept "
                             f"{self.method_overrides}: {exc}") from None


def resolve_device(device: str) -> str:
    if device not in DEVICES:
        raise UsageError(f"--device {device!r}: choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return device
    import torch  # only now: a typo elsewhere should not cost a torch import

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but torch sees no CUDA device "
                         f"(torch {torch.__version__}); use --device cpu or auto")
    return device


#: ``--logger`` choices: every training writes ``history.csv`` beside its model anyway.
LOGGERS = ("none", "csv", "tensorboard")


def epoch_loggers(name: str, model_dir: Path) -> list:
    """Lightning Fabric loggers writing under ``model_dir/logs`` (one version per training
    part), for ``--logger csv|tensorboard``; none for ``none``."""
    if name == "none":
        return []
    if name == "csv":
        from lightning_fabric.loggers import CSVLogger

        return [CSVLogger(root_dir=model_dir, name="logs")]
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        try:
            import tensorboardX  # noqa: F401
        except ImportError:
            raise UsageError("--logger tensorboard needs TensorBoard: pip install 'avbench[tensorboard]' "
                             "(or use --logger csv)") from None
    from lightning_fabric.loggers import TensorBoardLogger

    return [TensorBoardLogger(root_dir=model_dir, name="logs")]


def plan_run(registry: Registry, request: RunRequest,
             index_options: IndexOptions = IndexOptions()) -> RunPlan:
    """Resolve every name before any heavy work, so typos fail in a second."""
    method = registry.methods.get(request.method)
    protocol = registry.protocols.get(request.protocol)
    if request.profile == AUTO:  # the plan (and every row) holds the profile it resolved to
        request = dataclasses.replace(request, profile=resolve_profile(AUTO, resolve_device(request.device)))
    training = dataclasses.replace(get_profile(request.profile), **method.schedule_overrides(request.profile))
    if request.scaling not in SCALINGS:
        raise UsageError(f"--scaling {request.scaling!r}: choose one of {', '.join(SCALINGS)}")
    if request.scaling == "weak":  # before --train, so that an override sets the final value
        training = weak_scaled(training, request.devices)
    training = training.with_overrides(request.training_overrides)
    if request.precision is not None:
        training = dataclasses.replace(training, precision=request.precision)
    if training.precision not in PRECISIONS:
        raise UsageError(f"--precision {training.precision!r}: choose one of {', '.join(PRECISIONS)}")
    if request.device not in DEVICES:
        resolve_device(request.device)  # the usage error, before any slow step
    if request.logger not in LOGGERS:
        raise UsageError(f"--logger {request.logger!r}: choose one of {', '.join(LOGGERS)}")
    # Every option that names something is checked before the dataset is opened (or made:
    # the default dataset takes minutes to make), so a typo fails in a second.
    request = dataclasses.replace(request, method_overrides=_check_overrides(method, request.method_overrides))
    if request.extractor:
        if method.input != InputKind.LANDMARKS:
            raise UsageError(f"--extractor {request.extractor}: method {method.name!r} reads raw frames, "
                             "not landmarks")
        registry.landmark_extractors.get(request.extractor)  # an unknown name: "did you mean"
    index = open_dataset(registry, request.data, index_options)
    resolve_device(request.device)
    if not index.generators:
        raise DatasetError(f"{index.dataset} at {index.root} has no generated videos "
                           f"({len(index.skipped)} files skipped); see `avbench data index`")
    cells = _selected_cells(protocol, protocol.cells(index.generators), request.cells)
    _check_clips(method, protocol, cells)
    _check_devices(request, training)
    for cell in cells:
        for g in cell.train_generators:
            if g not in index.generators:
                raise DatasetError(f"protocol {protocol.name!r} trains on generator {g!r}, which "
                                   f"{index.dataset} at {index.root} does not have "
                                   f"(it has: {', '.join(index.generators)})")
        if request.devices > 1:
            _check_drivers(request, training, index, cell)
    # Resolved once here (the spec's variant defaults under --set): what builds the method
    # and what the run key and every row store.
    overrides, extractor = method.config_overrides(request.method_overrides), None
    if method.input == InputKind.LANDMARKS:
        overrides, extractor = _landmark_overrides(registry, method, request, index, overrides)
    elif request.extractor:
        raise UsageError(f"--extractor {request.extractor}: method {method.name!r} reads raw frames, "
                         "not landmarks")
    return RunPlan(request, method, protocol, index, training, cells, list(registry.plugins.loaded),
                   overrides, extractor)


def _check_overrides(method: MethodSpec, overrides: dict[str, Any]) -> dict[str, Any]:
    """``--set`` overrides checked against the method's Config before any data is opened:
    unknown keys are named with the options, and each value is checked against (and coerced
    to) its field's type hint, so ``--set dropout=abc`` is a usage error, not a torch error
    minutes later.  Returns the coerced overrides."""
    if not overrides and not method.defaults:
        return dict(overrides)
    config = method.load().Config
    fields = {f.name for f in dataclasses.fields(config)}
    wrong = sorted(set(dict(method.defaults)) - fields)
    if wrong:
        raise UsageError(f"method {method.name!r} (plugin {method.plugin!r}): its spec's defaults name "
                         f"{', '.join(wrong)}, which its Config does not have; fix the spec "
                         f"(options: {', '.join(sorted(fields))})")
    unknown = sorted(set(overrides) - fields)
    if unknown:
        close = [c for n in unknown for c in difflib.get_close_matches(n, sorted(fields), n=1)]
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UsageError(f"--set {', '.join(unknown)}: method {method.name!r} has no such config option; "
                         f"{hint}its options: {', '.join(sorted(fields))}")
    try:
        hints = typing.get_type_hints(config)
    except Exception:  # noqa: BLE001 - a plugin's unresolvable annotation: leave values as given
        hints = {}
    return {key: _coerced(value, hints.get(key), key) for key, value in overrides.items()}


def _coerced(value: Any, hint: Any, key: str) -> Any:
    """``value`` as the type ``hint`` asks for (int -> float, list -> tuple, 'true' -> True),
    or a UsageError naming the option, the value and the expected type."""
    if hint is None or hint is Any:
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerced(value, arg, key)
            except UsageError:
                continue
        raise UsageError(f"--set {key}={value!r}: expected {_type_name(hint)}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise UsageError(f"--set {key}={value!r}: expected one of {', '.join(map(repr, args))}")
    if origin in (tuple, list):
        if not isinstance(value, (tuple, list)):
            raise UsageError(f"--set {key}={value!r}: expected {_type_name(hint)}, e.g. (4, 4)")
        item = args[0] if args else Any
        items = [_coerced(v, item, key) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is str:
        if isinstance(value, str):
            return value
    elif isinstance(hint, type):
        if isinstance(value, hint):
            return value
        try:
            return hint(value)  # enums and the like, from their value
        except (TypeError, ValueError):
            pass
    else:
        return value  # a hint this check does not understand: the method checks it
    raise UsageError(f"--set {key}={value!r}: expected {_type_name(hint)}")


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _selected_cells(protocol: ProtocolSpec, cells: list[Cell], names: tuple[str, ...]) -> list[Cell]:
    if not names:
        return cells
    known = {c.name: c for c in cells}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"--cell {', '.join(unknown)}: protocol {protocol.name!r} has no such cell on this "
                         f"dataset; its cells: {', '.join(known)}")
    return [c for c in cells if c.name in names]


def _check_clips(method: MethodSpec, protocol: ProtocolSpec, cells: list[Cell]) -> None:
    """Refuse, before any training, a multi-clip group for a method that embeds videos whole
    (:func:`avbench.embed.check_clips_apply`): the run would otherwise fail after training."""
    multi = [ev for cell in cells for ev in cell.evals if ev.clips != 1]
    if not multi:
        return  # no method class is imported for a single-clip protocol
    from avbench.embed import check_clips_apply

    whole = bool(getattr(method.load(), "embeds_whole_videos", False))
    check_clips_apply(whole, multi[0].clips, method.name,
                      where=f"protocol {protocol.name!r}, group {multi[0].name!r}: ")


def _check_devices(request: RunRequest, training: TrainingConfig) -> None:
    if request.devices < 1:
        raise UsageError(f"--devices {request.devices}: give at least 1")
    if training.batch_size % request.devices:
        raise UsageError(f"--devices {request.devices}: the {request.profile!r} profile's batch of "
                         f"{training.batch_size} clips cannot be split evenly over {request.devices} "
                         "processes; choose a divisor of it")
    if request.devices > 1 and request.device == "cuda":
        import torch

        if torch.cuda.device_count() < request.devices:
            raise UsageError(f"--devices {request.devices}: torch sees {torch.cuda.device_count()} CUDA "
                             "device(s)")


def _check_drivers(request: RunRequest, training: TrainingConfig, index: DatasetIndex, cell: Cell) -> None:
    """A data-parallel batch needs every driver it asks for: with fewer, the batch would shrink
    and no longer split evenly over the processes."""
    from avbench.evaluation import select_videos

    drivers = select_videos(index, "train", cell.train_generators, cell.originals)["driver"].nunique()
    if drivers < training.identities_per_batch:
        hint = (" (--scaling weak draws --devices times the profile's drivers per batch)"
                if request.scaling == "weak" else "")
        raise UsageError(f"--devices {request.devices}: a batch of cell {cell.name!r} asks for "
                         f"{training.identities_per_batch} drivers{hint}, but {index.dataset} at "
                         f"{index.root} has {drivers} training drivers there; use fewer devices, "
                         "--scaling strong, or --train identities_per_batch=N")


def _landmark_overrides(registry: Registry, method: MethodSpec, request: RunRequest,
                        index: DatasetIndex, overrides: dict[str, Any]
                        ) -> tuple[dict[str, Any], LandmarkExtractorSpec]:
    """The extractor a landmark method reads, and its point count, as method config."""
    config_cls = method.load().Config
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    if "extractor" not in fields or "n_points" not in fields:
        raise UsageError(f"landmark method {method.name!r}: its Config needs fields `extractor` and "
                         "`n_points` (the runner fills them in from the extractor)")
    name = request.extractor or request.method_overrides.get("extractor") or fields["extractor"].default
    spec = registry.landmark_extractors.get(name)
    n_points = spec.n_points
    if spec.source == "dataset":
        shipped = index.videos.loc[index.videos["landmarks"] != "", "landmarks"]
        if shipped.empty:
            raise DatasetError(f"--extractor dataset: {index.dataset} at {index.root} ships no landmark "
                               "files; use --extractor mediapipe")
        import numpy as np

        n_points = int(np.load(index.root / shipped.iloc[0], mmap_mode="r").shape[1])
    return {**overrides, "extractor": spec.name, "n_points": n_points}, spec


def build_method(spec: MethodSpec, overrides: dict[str, Any] | None = None):
    """Import the method's code (only now) and build it from its paper-default config, the
    spec's variant defaults and ``overrides``."""
    from avbench.method import Method

    cls = spec.load()
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise UsageError(f"method {spec.name!r} (plugin {spec.plugin!r}) has factory "
                         f"{spec.factory!r}, which is not an avbench.method.Method subclass")
    if cls.input_kind != spec.input:
        raise UsageError(f"method {spec.name!r}: spec says input {spec.input.value!r} but "
                         f"{cls.__name__}.input_kind is {cls.input_kind.value!r}")
    return cls.from_overrides(spec.config_overrides(overrides))


@dataclass(frozen=True)
class PreflightReport:
    """What the pre-flight check saw: the method runs on this data and keeps its contract."""

    parameters: int
    embedding_dim: int
    clip_shape: tuple[int, ...]
    video: str
    config: dict[str, Any]


def preflight(plan: RunPlan, cache_dir=None) -> PreflightReport:
    """Build the method and embed two real evaluation clips before committing to training.

    A run that would fail on its first batch (wrong input shape, unnormalised
    embeddings, undecodable video) fails here, in seconds, with the file named.
    """
    import torch

    from avbench.method import check_embeddings

    with plugin_code(plan.method, "being built"):
        method = build_method(plan.method, plan.method_overrides)
    videos = plan.index.select("test")
    if videos.empty:
        raise DatasetError(f"{plan.index.dataset} at {plan.index.root} has no test videos to check "
                           "the method on; see `avbench data index` for what was indexed")
    # The same clip path as training and evaluation, so the check covers what will run.
    few = videos.iloc[:1 if plan.method.input == InputKind.FRAMES else 4]  # a face may be missing in one
    source, report = clip_source(plan, few, cache_dir, workers=1)
    if not source.arrays:
        raise DatasetError(f"{plan.extractor.name if plan.extractor else 'decoding'} gave nothing usable "
                           f"for the first test videos of {plan.index.dataset}: "
                           + "; ".join(f"{r.path}: {r.skipped}" for r in report.skipped))
    first = videos.loc[[next(iter(source.arrays))]]
    t = plan.clip_length(plan.cells[0])
    batch = source.batch([first.index[0]] * 2, t, lambda x: x)
    method.eval()
    with torch.no_grad(), plugin_code(plan.method, "embedding the pre-flight clips"):
        emb = method.embed(batch)
    check_embeddings(method, emb, 2)
    return PreflightReport(
        parameters=sum(p.numel() for p in method.parameters()),
        embedding_dim=int(emb.shape[1]), clip_shape=tuple(batch.shape[1:]),
        video=str(first["path"].iloc[0]), config=dataclasses.asdict(method.config),
    )


def clip_source(plan: RunPlan, videos: pd.DataFrame, cache_dir: Path | None = None,
                workers: int | None = None, progress=None):
    """The method's input for ``videos``: decoded frames, or landmarks from the plan's extractor.

    Returns the :class:`~avbench.data.loader.ClipSource` and, for landmark methods, the
    extraction report (videos without any detected face are left out of the source and
    listed there).
    """
    from avbench.data.frame_cache import FrameCache
    from avbench.data.loader import ClipSource
    from avbench.paths import default_cache_dir

    root = Path(cache_dir or default_cache_dir())
    if plan.method.input == InputKind.FRAMES:
        return ClipSource.from_frames(plan.index.root, videos, FrameCache(root),
                                      progress=(lambda d, n: progress("decode", d, n)) if progress else None), None
    from avbench.landmarks.extract import extract_landmarks

    arrays, report = extract_landmarks(
        plan.index.root, videos, plan.extractor, root, workers=workers,
        progress=(lambda d, n: progress(f"landmarks ({plan.extractor.name})", d, n)) if progress else None)
    return ClipSource(arrays, InputKind.LANDMARKS), report


@contextmanager
def plugin_code(spec: MethodSpec, step: str):
    """Turn an exception raised inside a method's own code into a :class:`PluginError`
    naming the method, its plugin, the step and where it was raised."""
    try:
        yield
    except AvbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of third-party code is reported the same way
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise PluginError(f"method {spec.name!r} (plugin {spec.plugin!r}) failed while {step}: "
                          f"{type(exc).__name__}: {exc} (at {frame.filename}:{frame.lineno} in "
                          f"{frame.name}); nothing of this cell was stored") from exc


@dataclass
class CellOutcome:
    cell: Cell
    rows: list  # ResultRow, one per evaluation group
    reused: bool


def db_args(store) -> list[str]:
    """``--db PATH`` where ``store`` is not the default database, so a stored command repeats
    the run into the same results (the path as it was given: relative to where it ran)."""
    from avbench.results import default_db_path

    try:
        same = store.path.resolve() == default_db_path().resolve()
    except OSError:
        same = False
    return [] if same else ["--db", str(store.path)]


def cell_keys(plan: RunPlan, cell: Cell) -> tuple[int, dict, dict[str, str], str]:
    """A cell's clip length, stored config, run key per eval group and training key: what
    decides whether a stored row or a saved model is reused.  Only the group's name enters its
    run key (never its other fields), so a field added to :class:`~avbench.specs.EvalGroup`
    leaves every existing key as it was."""
    from avbench.results import make_run_key, make_training_key

    req, index = plan.request, plan.index
    t = plan.clip_length(cell)
    training = dataclasses.replace(plan.training, clip_length=t).as_dict()
    config = {"method": plan.method_config, "training": training, "profile": req.profile}
    keys = {ev.name: make_run_key(plan.method.name, config, plan.protocol.name, plan.protocol.version,
                                  cell.name, ev.name, index.fingerprint, req.seed) for ev in cell.evals}
    tkey = make_training_key(plan.method.name, config, cell.train_generators, cell.originals,
                             index.fingerprint, req.seed)
    return t, config, keys, tkey


def execute(plan: RunPlan, store=None, out_dir: Path | None = None, force: bool = False,
            cache_dir: Path | None = None, progress=None) -> list[CellOutcome]:
    """Train and evaluate every cell of the plan; store one result row per evaluation.

    A cell whose every evaluation is already in the store under the same run key
    (method, config, protocol version, dataset fingerprint, seed, cell) is reused
    unless ``force``.  Score files and checkpoints go under ``out_dir``: by default the
    store's own runs folder (:attr:`~avbench.results.ResultsStore.runs_dir`), so two
    databases in one folder never write the same files; any other folder must lie
    inside the store's folder, as readers refuse score files outside it.

    With ``devices`` > 1 this launches the data-parallel processes (Fabric re-runs the
    command once per device, or joins those ``torchrun`` started); every process
    trains, only rank 0 evaluates and writes results, and the other ranks return
    outcomes without rows.
    """
    from avbench.provenance import environment, git_commit
    from avbench.results import ResultsStore, default_db_path
    from avbench.training import make_fabric

    req = plan.request
    refuse_training_under(plan.protocol)
    store = store if store is not None else ResultsStore(default_db_path())
    out_dir = Path(out_dir) if out_dir is not None else store.runs_dir
    if not out_dir.resolve().is_relative_to(store.path.parent.resolve()):
        raise UsageError(f"out_dir {out_dir} lies outside the folder of the results database "
                         f"{store.path}: its rows could not be read back (score files are only "
                         f"read inside that folder); leave out_dir out to use {store.runs_dir}")
    device = resolve_device(req.device)
    # Decide every cell's reuse first: data-parallel processes start only if something trains.
    todo = []
    for cell in plan.cells:
        t, config, keys, tkey = cell_keys(plan, cell)
        found = {name: store.find(k) for name, k in keys.items()}
        todo.append((cell, t, config, keys, tkey, found, force or not all(found.values())))
    fabric = make_fabric(device, plan.training.precision, req.devices)
    if req.devices > 1 and any(item[-1] for item in todo):
        fabric.launch()  # from here on one process per device; only rank 0 evaluates and stores
    env = {**environment(device), "devices": req.devices, "compile": req.compile,
           "command": shlex.join(["avbench", *req.command_args(), *db_args(store)])}  # add --cell NAME for one cell
    commit = git_commit()
    plugins = {p.name: f"{p.distribution} {p.version}".strip() for p in plan.plugins}
    outcomes = []
    for cell, t, config, keys, tkey, found, needs_training in todo:
        if not needs_training:
            for row in found.values():
                _finish_pending(store, row)
            outcomes.append(CellOutcome(cell, [found[ev.name] for ev in cell.evals], True))
            continue
        # One folder per training run key: runs that differ in config, profile, data or
        # seed never overwrite each other's score files or resume each other's progress.
        cell_key = keys[cell.evals[0].name]
        run_dir = out_dir / plan.method.name / plan.protocol.name / f"{cell.name}-{req.seed}-{cell_key[:12]}"
        with _one_writer(run_dir, fabric.world_size == 1):
            if not force and fabric.world_size == 1:  # another process may have stored it meanwhile
                found = {name: store.find(k) for name, k in keys.items()}
                if all(found.values()):
                    outcomes.append(CellOutcome(cell, [found[ev.name] for ev in cell.evals], True))
                    continue
            # --force retrains from epoch 1: a saved state (even a finished run's, left by a
            # kill between storing its rows and deleting it) is discarded, never resumed.
            model_dir = out_dir / "models" / plan.method.name / f"seed{req.seed}-{tkey[:16]}"
            outcomes.append(_train_and_evaluate(plan, cell, t, config, keys, tkey, run_dir, model_dir,
                                                fabric, store, cache_dir, progress, device, env, commit,
                                                plugins, resume=not force))
    return outcomes


def refuse_training_under(protocol: ProtocolSpec) -> None:
    """``avbench run`` trains and tests on one dataset: a protocol that scores a saved model on
    another dataset (``cross_dataset``) is for ``avbench evaluate``."""
    if protocol.other_dataset:
        raise UsageError(f"protocol {protocol.name!r} scores a model trained on one dataset on another: "
                         f"train it first (e.g. `avbench run --method M --protocol overall`), then "
                         f"`avbench evaluate --run ID --protocol {protocol.name} --data OTHER`")


def _finish_pending(store, row) -> None:
    """Give a reused row's score file its final name if a kill between the commit and the
    rename left it pending, and only if the pending file holds exactly the row's scores."""
    from avbench.scores import PENDING_SUFFIX, file_sha256

    if not row.score_file or not row.score_sha256:
        return
    final = store.resolve(row.score_file)
    pending = final.with_name(final.name + PENDING_SUFFIX)
    if not final.exists() and pending.is_file() and file_sha256(pending) == row.score_sha256:
        os.replace(pending, final)


def _one_writer(run_dir: Path, enabled: bool):
    """Hold the run folder's lock: a second process with the same run key waits, then finds
    the first one's rows instead of training again into the same files.  (Data-parallel
    ranks share one run and synchronise through the process group instead.)"""
    if not enabled:
        return nullcontext()
    from filelock import FileLock

    run_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(run_dir / "run.lock")


CHECKPOINT_NAME = "best.safetensors"  # and its sidecar best.json (avbench.checkpoints)


def save_model(plan: RunPlan, cell: Cell, t: int, keys: dict[str, str], tkey: str, method, result,
               source, val: pd.DataFrame, fabric, commit: str, model_dir: Path) -> Path:
    """Save a trained cell's model (best validation state) with everything needed to use it
    again: the method and its config, what it was trained on, and its decision threshold.

    The threshold is the EER threshold of the validation identities' scores (accept a pair
    when its score is at least the threshold): chosen on identities the model never trained
    on, not on the test identities whose numbers it would then flatter.  The validation
    videos are scored once more with the best state, through the same scoring path as the
    test groups, so the threshold also holds for a resumed training.
    """
    from avbench.checkpoints import save_checkpoint
    from avbench.metrics import eer, eer_threshold
    from avbench.training import validation_scores

    val_auc, val_scores = validation_scores(method, source, val, t, fabric, plan.training.batch_size)
    two_classes = val_scores is not None and val_scores["label"].nunique() == 2
    finite = lambda x: x if isinstance(x, float) and math.isfinite(x) else None  # noqa: E731  JSON has no NaN
    meta = {
        "dataset": plan.index.dataset, "dataset_fingerprint": plan.index.fingerprint,
        "protocol": plan.protocol.name, "protocol_version": plan.protocol.version, "cell": cell.name,
        "train_generators": list(cell.train_generators), "clip_length": t, "seed": plan.request.seed,
        "profile": plan.request.profile,
        "training": dataclasses.asdict(dataclasses.replace(plan.training, clip_length=t)),
        "run_keys": dict(keys), "best_epoch": result.best_epoch, "val_auc": finite(float(val_auc)),
        "threshold": finite(float(eer_threshold(val_scores))) if two_classes else None,
        "threshold_rule": "EER on the validation identities (accept when score >= threshold)",
        "val_eer": finite(float(eer(val_scores))) if two_classes else None,
        "val_videos": len(val), "git_commit": commit, "training_key": tkey,
        "training_result": {"best_val_auc": finite(float(result.best_val_auc)),
                            "best_epoch": result.best_epoch, "history": _plain_history(result.history),
                            "wall_time_s": result.wall_time_s, "resumed_after_epoch": result.resumed_after_epoch,
                            "skipped_steps": result.skipped_steps, "parts": result.parts},
    }
    return save_checkpoint(model_dir / CHECKPOINT_NAME, method, meta, method_name=plan.method.name)


#: Per-epoch measurements of speed, not of the model: history.csv and the epoch lines show them,
#: stored rows do not, so that the same seed stores the same metrics to the last digit.
TIMING_KEYS = ("clips_per_s",)


def _plain_history(history: list[dict]) -> list[dict]:
    """Per-epoch records as JSON values (None where undefined: JSON has no NaN), without the
    timing keys."""
    return [{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()
             if k not in TIMING_KEYS} for record in history]


def stored_model(method, path: Path, plan: RunPlan, tkey: str, device):
    """The training result of the model saved at ``path`` by an earlier run with training key
    ``tkey``, its weights loaded into ``method`` and ``method`` moved to ``device`` (where a
    training would have put it: the evaluation feeds it clips there); None when there is none
    to reuse."""
    from avbench.checkpoints import load_weights, read_checkpoint_meta
    from avbench.training import TrainResult

    if not path.is_file() or not path.with_suffix(".json").is_file():
        return None
    meta = read_checkpoint_meta(path)
    saved = meta.get("training_result")
    if meta.get("training_key") != tkey or not isinstance(saved, dict):
        return None  # not this training's model (or saved without its result): train
    load_weights(method, path, plan.method.name)
    method.to(device)
    best = saved.get("best_val_auc")
    return TrainResult(best_val_auc=float("nan") if best is None else float(best),
                       best_epoch=int(saved.get("best_epoch") or 0), history=list(saved.get("history") or []),
                       wall_time_s=float(saved.get("wall_time_s") or 0.0), checkpoint=str(path),
                       resumed_after_epoch=int(saved.get("resumed_after_epoch") or 0),
                       skipped_steps=int(saved.get("skipped_steps") or 0), parts=list(saved.get("parts") or []))


def _train_and_evaluate(plan: RunPlan, cell: Cell, t: int, config: dict, keys: dict[str, str],
                        tkey: str, run_dir: Path, model_dir: Path, fabric, store, cache_dir: Path | None,
                        progress, device: str, env: dict, commit: str, plugins: dict,
                        resume: bool = True) -> CellOutcome:
    """Train one cell's model (or reuse the one an earlier run trained with the same training
    key) and store a row per evaluation (rank 0 only), all in one transaction.

    The model, its training state and ``history.csv`` live in ``model_dir`` (one folder per
    training key), the score files in ``run_dir`` (one folder per run key).
    ``resume``: go on from the saved training state, or reuse a saved model (False, as under
    ``--force``: discard both and train from epoch 1)."""
    import torch

    from avbench.evaluation import select_videos
    from avbench.training import progress_path, resume_environment, train_cell

    req, index = plan.request, plan.index
    lead = fabric.global_rank == 0
    # Real videos join only where the protocol asks (avbench.evaluation: originals).
    train = select_videos(index, "train", cell.train_generators, cell.originals)
    val = select_videos(index, "val", cell.train_generators, cell.originals)
    tests = {ev.name: select_videos(index, "test", ev.generators, ev.originals) for ev in cell.evals}
    needed = pd.concat([train, val, *tests.values()])
    needed = needed[~needed.index.duplicated()]
    with fabric.rank_zero_first():  # rank 0 fills the caches; the others then read them
        source, report = clip_source(plan, needed, cache_dir, progress=progress if lead else None)
    usable = set(source.arrays)
    unusable = len(needed) - len(usable & set(needed.index))  # e.g. no face in any frame
    train, val = train[train.index.isin(usable)], val[val.index.isin(usable)]
    tests = {name: v[v.index.isin(usable)] for name, v in tests.items()}
    torch.manual_seed(req.seed)
    model_path = model_dir / CHECKPOINT_NAME
    with plugin_code(plan.method, f"training cell {cell.name}"), _one_writer(model_dir, fabric.world_size == 1):
        method = build_method(plan.method, plan.method_overrides)
        result = stored_model(method, model_path, plan, tkey, fabric.device) if resume else None
        reused = result is not None
        try:
            if not reused:
                result = train_cell(method, fabric, train, val, source,
                                    dataclasses.replace(plan.training, clip_length=t), t, req.seed,
                                    model_path,
                                    progress=(lambda d, n, msg, line=None: progress(
                                        f"train {cell.name}: {msg}", d, n,
                                        line=f"train {cell.name}: {line}" if line else None))
                                    if progress and lead else None, compile=req.compile,
                                    identity=tkey, resume=resume,
                                    loggers=epoch_loggers(req.logger, model_dir) if lead else [])
        except TrainingError as exc:  # say which training, as the loop itself cannot
            raise TrainingError(f"method {plan.method.name!r}, protocol {plan.protocol.name}, cell "
                                f"{cell.name}, seed {req.seed}: {exc}") from None
        if lead and not reused:
            save_model(plan, cell, t, keys, tkey, method, result, source, val, fabric, commit, model_dir)
    # A resumed training's parts (thread counts, devices, times) beside this process's own
    # ``torch_threads``; ``result.wall_time_s`` already adds up every part.
    env = {**env, **resume_environment(result)}
    if not lead:
        return CellOutcome(cell, [], False)
    data = {"index_skipped": {k: int(v) for k, v in index.skip_counts().items()},
            "videos_unusable": int(unusable), "train_videos": len(train), "val_videos": len(val)}

    def training_metrics(ev, scores, test) -> dict:
        metrics = {"best_val_auc": result.best_val_auc, "best_epoch": result.best_epoch,
                   "resumed_after_epoch": result.resumed_after_epoch,  # 0: trained in one go
                   # non-finite loss or gradients (FP16 overflow)
                   "skipped_steps": result.skipped_steps,
                   # Per epoch: loss, lr, skipped steps, validation AUC (None where undefined).
                   "history": _plain_history(result.history),
                   # The model's identity; reused: trained by an earlier run with this training
                   # key (another protocol's cell with the same training), evaluated here.
                   "training_key": tkey, "model_reused": reused}
        if report is not None:
            metrics["landmarks"] = report.summary()
        # What the numbers rest on, so nothing left out goes unrecorded.
        metrics["data"] = {**data, "test_videos": len(test)}
        return metrics

    stored = score_and_store(
        plan, cell, method, source, tests, t, fabric, store, run_dir, keys, what=f"cell {cell.name}",
        metrics_of=training_metrics, cache_dir=cache_dir, progress=progress if lead else None,
        row_fields={"train_generators": cell.train_generators, "config": config, "git_commit": commit,
                    "environment": env, "plugins": plugins, "wall_time_s": result.wall_time_s,
                    "device": device, "checkpoint": store.relative(model_path)})
    progress_path(model_path).unlink(missing_ok=True)  # stored: nothing left to resume
    if progress:
        progress(f"evaluate {cell.name}", 1, 1, line=cell_timing_line(cell.name, None if reused else result.wall_time_s,
                                                                      [r.environment for r in stored]))
    return CellOutcome(cell, stored, False)


def source_of_targets(videos: pd.DataFrame) -> pd.Series | None:
    """Each test target's source population (the index's ``source`` column: NVIDIA-VC, RAVDESS,
    CREMA-D in NVFAIR), indexed by target as score tables name them; None when the dataset
    names none."""
    if "source" not in videos.columns or not (videos["source"].astype(str) != "").any():
        return None
    return videos.groupby(videos["target"].astype(str))["source"].first().astype(str)


def paired_with(per_target: dict, ev, cell: Cell, seed: int) -> dict:
    """``ev``'s mean per-target AUC minus that of the group it is paired with, with the paired
    bootstrap CI (:func:`avbench.metrics.paired_bootstrap`): the same targets, so their
    difficulty cancels out of the interval."""
    from avbench.metrics import paired_bootstrap

    if ev.paired_with not in per_target:
        order = [g.name for g in cell.evals]
        raise PluginError(f"cell {cell.name!r}: group {ev.name!r} is paired with {ev.paired_with!r}, "
                          f"which is not scored before it (the cell's groups, in order: "
                          f"{', '.join(order)}); fix the protocol's plan")
    return paired_bootstrap(per_target[ev.name], per_target[ev.paired_with], seed=seed)


def group_source(plan: RunPlan, source, ev, test: pd.DataFrame, t: int, cache_dir: Path | None,
                 progress=None):
    """The input an eval group's test videos are scored from, and what was done to it (None
    when nothing was): ``source`` itself, or the group's perturbation applied
    (:mod:`avbench.perturb`).  Frames are perturbed in memory; a landmark method reads landmark
    tracks, which temporal perturbations cut as they are and pixel perturbations re-extract from
    the perturbed frames (cached per perturbation)."""
    from avbench.data.loader import ClipSource
    from avbench.perturb import get_perturbation, perturbed_arrays

    if not ev.perturbation:
        return source, None
    try:
        perturbation = get_perturbation(ev.perturbation)
    except ValueError as exc:
        raise PluginError(f"protocol {plan.protocol.name!r}, group {ev.name!r}: {exc}") from None
    described = {"name": perturbation.name, "kind": perturbation.kind,
                 "strength": perturbation.strength, "summary": perturbation.summary}
    if perturbation.kind == "none":
        return source, described
    labels = [label for label in test.index if label in source.arrays]
    keys = {label: str(test.at[label, "path"]) for label in labels}
    say = (lambda d, n: progress(f"perturb {ev.name}", d, n)) if progress else None
    if plan.method.input == InputKind.FRAMES or perturbation.temporal:
        arrays = perturbed_arrays(perturbation, {label: source.arrays[label] for label in labels},
                                  keys, t, progress=say)
        return ClipSource(arrays, source.kind), described
    from avbench.landmarks.extract import extract_landmarks
    from avbench.paths import default_cache_dir

    arrays, report = extract_landmarks(plan.index.root, test.loc[labels], plan.extractor,
                                       Path(cache_dir or default_cache_dir()), progress=say,
                                       perturbation=perturbation.name)
    return ClipSource(arrays, InputKind.LANDMARKS), {**described, "landmarks": report.summary()}


def cell_timing_line(cell: str, training_s: float | None, environments: list[dict]) -> str:
    """``cell all: trained in 86.2 s; 1 test group (552 videos) embedded and scored in 3.1 s
    (3.5 % of the cell)``: the share of a cell's time its evaluation takes."""
    evaluation = sum(e.get("evaluation_s") or 0.0 for e in environments)
    videos = sum(e.get("test_videos") or 0 for e in environments)
    groups = f"{len(environments)} test group{'s' if len(environments) != 1 else ''}"
    said = f"{groups} ({videos:,} videos) embedded and scored in {evaluation:.1f} s"
    if not training_s:
        return f"cell {cell}: model reused; {said}"
    return (f"cell {cell}: trained in {training_s:.1f} s; {said} "
            f"({evaluation / (training_s + evaluation):.1%} of the cell)")


def clip_aggregation(ev: EvalGroup) -> dict:
    """What a multi-clip group's row and score file record of how it scored (``clips``,
    ``aggregate``); empty for a single-clip group, so every other protocol's rows and score
    files stay exactly as they were."""
    return {} if ev.clips == 1 else {"clips": ev.clips, "aggregate": ev.aggregate}


def score_and_store(plan: RunPlan, cell: Cell, method, source, tests: dict[str, pd.DataFrame], t: int,
                    fabric, store, run_dir: Path, keys: dict[str, str], *, what: str,
                    metrics_of, row_fields: dict, metadata: dict | None = None,
                    cache_dir: Path | None = None, progress=None) -> list:
    """Score each eval group of ``cell`` with a trained ``method`` and store one row per group:
    what ``avbench run`` does after training and ``avbench evaluate`` does with a saved model.

    Per group: its pairs (:func:`avbench.evaluation.checked_pairs`), their scores through the
    one evaluation path (:func:`avbench.embed.score_videos`), the score file, the metrics of
    :func:`avbench.metrics.summarize` plus ``metrics_of(eval_group, scores, test_videos)`` (the
    caller's own: training curve, threshold errors, ...; its ``data`` entry gains the pairing
    counts), and a :class:`~avbench.results.ResultRow` with ``row_fields``.  All rows are
    stored in one transaction, so a failure leaves no partial cell.  Score files stay under
    pending names until their rows are committed, so a failure or a kill before the commit
    leaves no final-named score file without a row (see scores.py)."""
    from avbench.embed import score_videos
    from avbench.evaluation import checked_pairs
    from avbench.metrics import group_breakdown, per_target_auc, summarize
    from avbench.results import ResultRow
    from avbench.scores import PendingScoreFiles

    pending = PendingScoreFiles(run_dir)  # also removes pending files a killed attempt left
    rows, per_target = [], {}
    clip_cache: dict = {}  # multi-clip groups of one k (two aggregations) embed their clips once
    try:
        for ev in cell.evals:
            test = tests[ev.name]
            started = time.perf_counter()
            group, perturbed = group_source(plan, source, ev, test, t, cache_dir, progress)
            lost = int((~test.index.isin(list(group.arrays))).sum())
            test = test[test.index.isin(list(group.arrays))]  # e.g. no face left after perturbing
            pairs, pairing = checked_pairs(test, ev, plan.index.dataset)
            with plugin_code(plan.method, f"embedding the {ev.name} test videos of {what}"):
                # Cached clip embeddings are of the unperturbed videos: a perturbed group embeds its own.
                scores = score_videos(method, group, test, pairs, t, fabric, plan.training.batch_size,
                                      clips=ev.clips, aggregate=ev.aggregate,
                                      clip_cache=None if perturbed else clip_cache)
            # Embedding and scoring this group's test videos, beside the training's wall_time_s:
            # how much of a cell's time evaluation takes (a timing, so not among the metrics).
            evaluation_s = round(time.perf_counter() - started, 3)
            score_file, score_sha256 = pending.write(
                f"scores-{ev.name}.parquet", scores,
                metadata={"run_key": keys[ev.name], "method": plan.method.name, "cell": cell.name,
                          "test_group": ev.name, **clip_aggregation(ev), **(metadata or {})})
            metrics = summarize(scores, seed=plan.request.seed)
            metrics.update(metrics_of(ev, scores, test))
            metrics.update(clip_aggregation(ev))
            metrics["data"] = {**metrics.get("data", {}), **pairing}
            per_target[ev.name] = per_target_auc(scores)
            sources = source_of_targets(test)
            if sources is not None:  # fairness: the AUC per source population and the largest gap
                metrics["per_source"] = group_breakdown(per_target[ev.name], sources, seed=plan.request.seed)
            if ev.perturbation:
                metrics["perturbation"] = perturbed
                metrics["data"]["videos_lost_to_perturbation"] = lost
            if ev.paired_with:
                metrics["vs_paired"] = {"group": ev.paired_with, **paired_with(per_target, ev, cell,
                                                                                plan.request.seed)}
            rows.append(ResultRow(
                method=plan.method.name, protocol=plan.protocol.name,
                protocol_version=plan.protocol.version, cell=cell.name, test_group=ev.name,
                dataset=plan.index.dataset, dataset_fingerprint=plan.index.fingerprint,
                seed=plan.request.seed, metrics=metrics, main_score=metrics["mean_target_auc"],
                test_generators=ev.generators, clip_length=t, profile=plan.request.profile,
                score_file=store.relative(score_file), score_sha256=score_sha256,
                run_key=keys[ev.name],
                **{**row_fields, "environment": {**row_fields.get("environment", {}),
                                                 "evaluation_s": evaluation_s, "test_videos": len(test)}}))
    except BaseException:  # Ctrl-C too: what is not stored leaves no score file behind
        pending.discard()
        raise
    return pending.commit(store, rows)
