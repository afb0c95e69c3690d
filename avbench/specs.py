"""The records plugins hand to avbench: what each method, protocol, dataset and
landmark extractor is called, what it consumes, and where its code lives.

Specs are plain frozen dataclasses without torch so that discovering plugins
(``avbench list``, ``--help``) stays fast: the heavy code behind a spec is named
by ``factory`` (an object or a ``"module:attribute"`` string) and imported only
when that one entry is used.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from avbench.errors import PluginError, UsageError


class InputKind(StrEnum):
    """What a method consumes from a clip."""

    FRAMES = "frames"  # (B, T, 1, 128, 128) float32 grayscale in [0, 1]
    LANDMARKS = "landmarks"  # (B, T, P, C) float32 landmark coordinates


def load_object(target: str | Any) -> Any:
    """Resolve a ``"package.module:attribute"`` string; other objects pass through.

    Lazy targets keep plugin discovery cheap; the error names the target so a typo
    in a plugin's spec is easy to find.
    """
    if not isinstance(target, str):
        return target
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"factory {target!r} must look like 'package.module:attribute'")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ImportError(f"{module_name!r} has no attribute {attr!r} (factory {target!r})") from exc
    return obj


@dataclass(frozen=True)
class _Spec:
    name: str
    summary: str
    factory: str | Any
    aliases: tuple[str, ...] = ()
    citation: str = ""  # a key of avbench.citations (or free text, for third-party plugins)
    # Filled in by the registry: the plugin (entry point name) that registered it.
    plugin: str = field(default="", compare=False)

    def load(self) -> Any:
        return load_object(self.factory)


@dataclass(frozen=True)
class MethodSpec(_Spec):
    """A fingerprinting method.

    ``factory`` resolves to a subclass of :class:`avbench.method.Method`; ``input``
    says whether it reads raw frames or landmarks (the runner prepares that input).
    """

    input: InputKind = InputKind.FRAMES
    # Per-profile changes to the training schedule, for methods whose cost differs a lot
    # from the frame models' (a landmark model trains 1000x faster on a CPU) or whose paper
    # trained them with another batch: recorded with every result like the rest of the
    # schedule.  {"quick": {"clip_length": 64, ...}}
    profile_overrides: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    # Config values that make this registered name one variant of its class (timm's
    # ``model_args``), e.g. {"condition": "static"}: the four conditions of a model family are
    # four specs of one class, not four subclasses.  A dict is stored as (key, value) pairs.
    defaults: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.defaults, Mapping):
            object.__setattr__(self, "defaults", tuple(self.defaults.items()))

    def schedule_overrides(self, profile: str) -> dict[str, Any]:
        return dict(dict(self.profile_overrides).get(profile, ()))

    def config_overrides(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What builds this method: its ``defaults``, then the user's ``--set`` values.

        A ``--set`` value may not contradict a default: the registered name stands for that
        variant in every result row, so ``--set condition=static`` on ``f5c_featdiff`` would
        store a static model under the featdiff name.
        """
        overrides = dict(overrides or {})
        fixed = dict(self.defaults)
        clash = sorted(k for k in fixed.keys() & overrides.keys() if overrides[k] != fixed[k])
        if clash:
            given = ", ".join(f"{k}={overrides[k]!r}" for k in clash)
            own = ", ".join(f"{k}={fixed[k]!r}" for k in clash)
            raise UsageError(f"--set {given}: method {self.name!r} is the variant with {own}; "
                             "choose the method registered for the variant you want "
                             "(`avbench list methods`) instead of overriding it")
        return {**fixed, **overrides}


@dataclass(frozen=True)
class EvalGroup:
    """One evaluation of a trained model: the test videos of these generators.

    ``originals``: the test split's real videos join as self videos of their identity
    (the reference evaluation's way; :func:`avbench.evaluation.select_videos`).
    ``drop_shared_driving_video``: positive pairs whose two videos were made from the
    same driving video are left out (:func:`avbench.evaluation.shares_driving_video`).
    ``perturbation``: the test videos are perturbed first (a name of
    :data:`avbench.perturb.PERTURBATIONS`; empty: as they are).
    ``paired_with``: the name of another group of the same cell, scored before this one, that
    this group's mean per-target AUC is compared with, target by target (the row's
    ``vs_paired`` metric: the difference and its paired bootstrap CI).
    ``clips``: how many clips of each video are embedded (1: the centred clip, as every
    protocol but ``multi_clip`` evaluates; more: spread evenly over the video,
    :func:`avbench.data.clips.spread_starts`), and ``aggregate`` how they make one score:
    ``"embedding"`` (the mean of the clips' unit embeddings, re-normalised) or ``"score"``
    (the mean cosine over every clip of one video against every clip of the other); see
    :func:`avbench.embed.embed_videos`.  Neither enters a run key: a group's name is part of
    it, and a protocol that changes what a group computes bumps its version.
    """

    name: str
    generators: tuple[str, ...]
    originals: bool = False
    drop_shared_driving_video: bool = False
    perturbation: str = ""
    paired_with: str = ""
    clips: int = 1
    aggregate: str = "embedding"

    def __post_init__(self) -> None:
        check_aggregation(self.clips, self.aggregate, f"eval group {self.name!r}")


AGGREGATES = ("embedding", "score")


def check_aggregation(clips: Any, aggregate: Any, where: str) -> None:
    """Refuse a clip count or aggregation no scoring path understands, naming ``where`` it
    came from: a protocol plugin's typo fails when its cells are planned, not after training."""
    if isinstance(clips, bool) or not isinstance(clips, int) or clips < 1:
        raise PluginError(f"{where}: clips={clips!r} must be a whole number >= 1 (clips per video; "
                          "1 is the single centred clip)")
    if aggregate not in AGGREGATES:
        raise PluginError(f"{where}: aggregate={aggregate!r}: choose one of {', '.join(AGGREGATES)}")


@dataclass(frozen=True)
class Cell:
    """One trained model of a protocol and the evaluations made with it.

    ``clip_length`` None means the run profile's clip length (paper: T = 64).
    ``originals``: the train and validation splits' real videos join as self videos of
    their identity (see :class:`EvalGroup`).
    """

    name: str
    train_generators: tuple[str, ...]
    evals: tuple[EvalGroup, ...]
    clip_length: int | None = None
    originals: bool = False


@dataclass(frozen=True)
class ProtocolSpec(_Spec):
    """An evaluation protocol, as metadata plus a pure function that plans its cells.

    ``factory`` resolves to ``cells(generators: Sequence[str], **params) -> list[Cell]``
    given the generators of the dataset in use.  ``params`` are keyword arguments for
    it, so a variant of a protocol is one more spec with other parameters (timm's
    ``model_args``), not another function; a variant has its own name, which every
    stored row and run key carries.  ``version`` changes whenever the protocol
    changes what it measures; results of different versions are never mixed.
    """

    version: str = "1"
    main_score: str = "mean_target_auc"
    higher_is_better: bool = True
    params: tuple[tuple[str, Any], ...] = ()
    # True: the protocol scores a saved model on a dataset other than the one it was trained on
    # (``avbench evaluate --run ID --protocol P --data OTHER``); ``avbench run`` refuses it.
    other_dataset: bool = False

    def cells(self, generators: Sequence[str]) -> list[Cell]:
        from avbench.errors import PluginError

        plan: Callable[..., list[Cell]] = self.load()
        params = dict(self.params)
        try:
            inspect.signature(plan).bind(tuple(generators), **params)
        except TypeError as exc:
            raise PluginError(f"protocol {self.name!r} (plugin {self.plugin!r}): its factory "
                              f"{self.factory!r} does not accept params {params} ({exc}); fix the "
                              "spec's params or the factory's signature") from None
        return list(plan(tuple(generators), **params))


@dataclass(frozen=True)
class DatasetSpec(_Spec):
    """A dataset layout, addressed on the command line as ``name:PATH``.

    ``factory`` resolves to ``build_index(root: Path, options: IndexOptions) -> DatasetIndex``
    (see :mod:`avbench.data.index`).  ``layout`` is a one-line reminder of the folder
    layout shown by ``avbench list datasets``.
    """

    layout: str = ""
    generators: tuple[str, ...] = ()


@dataclass(frozen=True)
class LandmarkExtractorSpec(_Spec):
    """A facial-landmark extractor used by landmark methods.

    ``source = "frames"``: ``factory`` resolves to a class whose instances map a
    (N, H, W) uint8 grayscale frame stack to (N, n_points, C) float32 landmarks in pixels,
    NaN rows where no face was found; avbench runs it in worker processes and caches the
    result per video and ``version``.  ``source = "dataset"``: the landmarks shipped with the
    dataset (the index's ``landmarks`` column) are read as they are; ``factory`` is unused.
    """

    n_points: int = 0  # 0: as many as the dataset ships
    version: str = "1"
    source: str = "frames"  # frames | dataset


# Specs declared with ``@register_method`` (avbench/method.py), by the module that defines the
# class: the plugin loader adds them to that module's methods hook (avbench/plugins.py).  Kept
# here, free of torch, so that listing plugins imports no model code.
_DECLARED: dict[str, list[MethodSpec]] = {}


def declare_method(module_name: str, spec: MethodSpec) -> None:
    _DECLARED.setdefault(module_name, []).append(spec)


def declared_methods(module_name: str) -> list[MethodSpec]:
    """The specs ``@register_method`` declared in ``module_name``."""
    return list(_DECLARED.get(module_name, ()))
