"""``avbench run``: resolve a method, a protocol and a dataset into a plan, check it, run it.

The flow is one way: dataset index → clips → method → embeddings → pair scores →
metrics → results store.  This module owns the first steps (resolution and the
pre-flight check); each later step lives in its own module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from avbench.config import TrainingConfig, get_profile
from avbench.data.index import DatasetIndex, IndexOptions
from avbench.data.spec import open_dataset
from avbench.errors import DatasetError, NotAvailableError, UsageError
from avbench.registry import Registry
from avbench.specs import Cell, InputKind, MethodSpec, ProtocolSpec

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class RunRequest:
    """What the user asked for, exactly as given on the command line."""

    method: str
    protocol: str
    data: str | None = None
    device: str = "auto"
    profile: str = "quick"
    seed: int = 0
    method_overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunPlan:
    request: RunRequest
    method: MethodSpec
    protocol: ProtocolSpec
    index: DatasetIndex
    training: TrainingConfig
    cells: list[Cell]

    def clip_length(self, cell: Cell) -> int:
        return cell.clip_length or self.training.clip_length


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


def plan_run(registry: Registry, request: RunRequest,
             index_options: IndexOptions = IndexOptions()) -> RunPlan:
    """Resolve every name before any heavy work, so typos fail in a second."""
    method = registry.methods.get(request.method)
    protocol = registry.protocols.get(request.protocol)
    training = get_profile(request.profile)
    if request.device not in DEVICES:
        resolve_device(request.device)  # the usage error, before any slow step
    index = open_dataset(registry, request.data, index_options)
    resolve_device(request.device)
    if not index.generators:
        raise DatasetError(f"{index.dataset} at {index.root} has no generated videos "
                           f"({len(index.skipped)} files skipped); see `avbench data index`")
    cells = protocol.cells(index.generators)
    for cell in cells:
        for g in cell.train_generators:
            if g not in index.generators:
                raise DatasetError(f"protocol {protocol.name!r} trains on generator {g!r}, which "
                                   f"{index.dataset} at {index.root} does not have "
                                   f"(it has: {', '.join(index.generators)})")
    return RunPlan(request, method, protocol, index, training, cells)


def build_method(spec: MethodSpec, overrides: dict[str, Any] | None = None):
    """Import the method's code (only now) and build it from its paper-default config."""
    from avbench.method import Method

    cls = spec.load()
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise UsageError(f"method {spec.name!r} (plugin {spec.plugin!r}) has factory "
                         f"{spec.factory!r}, which is not an avbench.method.Method subclass")
    if cls.input_kind != spec.input:
        raise UsageError(f"method {spec.name!r}: spec says input {spec.input.value!r} but "
                         f"{cls.__name__}.input_kind is {cls.input_kind.value!r}")
    return cls.from_overrides(overrides)


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

    from avbench.data.clips import eval_start, take_clip
    from avbench.data.frame_cache import FrameCache
    from avbench.method import check_embeddings
    from avbench.paths import default_cache_dir

    method = build_method(plan.method, plan.request.method_overrides)
    if plan.method.input != InputKind.FRAMES:
        raise NotAvailableError(f"method {plan.method.name!r} reads landmarks; landmark extraction "
                                "is not part of this build yet (issue #5)")
    videos = plan.index.select("test")
    if videos.empty:
        raise DatasetError(f"{plan.index.dataset} at {plan.index.root} has no test videos to check "
                           "the method on; see `avbench data index` for what was indexed")
    first = videos.iloc[0]
    cache = FrameCache(cache_dir or default_cache_dir())
    frames = cache.frames(plan.index.root / first["path"])
    t = plan.clip_length(plan.cells[0])
    clip = take_clip(frames, eval_start(len(frames), t), t)
    batch = torch.from_numpy(clip).float().div_(255.0)[None, :, None].repeat(2, 1, 1, 1, 1)
    method.eval()
    with torch.no_grad():
        emb = method.embed(batch)
    check_embeddings(method, emb, 2)
    return PreflightReport(
        parameters=sum(p.numel() for p in method.parameters()),
        embedding_dim=int(emb.shape[1]), clip_shape=tuple(batch.shape[1:]),
        video=str(first["path"]), config=dataclasses.asdict(method.config),
    )


def execute(plan: RunPlan) -> None:
    raise NotAvailableError(
        "the training and evaluation engine is not part of this build yet (issue #4): the plan "
        "resolved and the method passed its pre-flight check, but nothing was trained or scored"
    )
