"""The method contract: what a fingerprinting method is to avbench.

A method is a :class:`torch.nn.Module` subclass of :class:`Method` with

* ``input_kind``: what it consumes (``InputKind.FRAMES``: raw grayscale clips
  ``(B, T, 1, 128, 128)`` float32 in [0, 1]; ``InputKind.LANDMARKS``: landmark
  clips ``(B, T, P, C)`` float32).  The runner prepares exactly that, nothing else:
  no face cropping, no normalisation beyond the [0, 1] scaling.
* ``Config``: a frozen dataclass whose defaults are the paper's; the runner builds
  the method as ``cls(cls.Config(**overrides))`` and stores ``asdict(config)``
  with every result.
* ``embed(clips) -> (B, D)``: one L2-normalised embedding per clip; verification
  scores are cosine similarities of these.
* ``loss(clips, drivers, targets) -> scalar``: the training loss of one batch.  The
  default is supervised contrastive over driver identity (Khosla et al. 2020,
  tau = 0.07 as in the F5C paper); methods with other objectives (e.g. extra
  time-shuffled negatives) override it, which is why it receives the clips and not
  only the embeddings.

A method with its own batch-level loss keeps data-parallel training exact by
contrasting over :func:`gather_batch` and returning :func:`data_parallel_loss`
(see :mod:`avbench.distributed`), as the default loss does.

That is the whole contract: training loops, devices, precision, data and
evaluation belong to avbench.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from avbench.distributed import data_parallel_loss, gather_batch
from avbench.specs import InputKind


def supervised_contrastive_loss(embeddings: Tensor, labels: Tensor, temperature: float = 0.07) -> Tensor:
    """SupCon over L2-normalised embeddings (F5C paper, Eq. 4), mean over anchors.

    Anchors without a positive in the batch contribute nothing (their term is
    undefined); a batch with no positive pair at all is an error, because it
    would silently train on nothing (:func:`require_positive_pair`).  Under data-parallel
    training each process holds a slice of the batch; the loss is still the one over the
    whole batch (see :mod:`avbench.distributed`), so N processes train like one.  Nothing
    here reads a value back to the host, so a GPU step is queued without waiting.
    """
    if embeddings.ndim != 2 or labels.shape != embeddings.shape[:1]:
        raise ValueError(f"expected (B, D) embeddings and (B,) labels, got "
                         f"{tuple(embeddings.shape)} and {tuple(labels.shape)}")
    embeddings, labels, world = gather_batch(embeddings, labels)
    logits = (embeddings @ embeddings.T).float() / temperature
    n = embeddings.shape[0]
    self_mask = torch.eye(n, dtype=torch.bool, device=embeddings.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    require_positive_pair(labels, "supervised contrastive loss")
    n_pos = positives.sum(1)
    has_pos = n_pos > 0
    mean_log_prob_pos = log_prob.masked_fill(~positives, 0.0).sum(1) / n_pos.clamp_min(1)
    return data_parallel_loss(-(mean_log_prob_pos * has_pos).sum() / has_pos.sum(), world)


def require_positive_pair(labels: Tensor, loss: str) -> None:
    """Raise a ValueError naming ``loss`` unless two of the batch's ``labels`` are equal.

    Checked where the labels are on the CPU.  On a GPU the check would read them back every
    step, making the host wait for the step's queued kernels; there the training's batches
    hold ``videos_per_identity`` >= 2 clips of every driver by construction
    (:class:`~avbench.config.TrainingConfig` refuses fewer), and a batch without a pair
    would give a NaN loss, which the training reports as non-finite.
    """
    if labels.device.type == "cpu" and labels.unique().numel() == labels.numel():
        raise ValueError(f"{loss} needs at least two clips of one driver per batch")


@dataclasses.dataclass(frozen=True)
class LandmarkConfig:
    """The fields every landmark method's ``Config`` has, because the runner fills them in:
    ``extractor`` (the landmark extractor plugin, ``--extractor``; default MediaPipe's face
    mesh) and ``n_points`` (how many points that extractor gives, so the method can pick its
    layout).  A landmark method's ``Config`` subclasses it and adds its own fields."""

    extractor: str = "mediapipe"  # landmark extractor plugin (avbench list extractors)
    n_points: int = 478  # points the extractor gives; the runner fills it in


class Method(nn.Module):
    """Base class of every fingerprinting method (see the module docstring)."""

    input_kind: ClassVar[InputKind] = InputKind.FRAMES

    @dataclasses.dataclass(frozen=True)
    class Config:
        """Paper defaults; subclasses replace this with their own frozen dataclass."""

        embedding_dim: int = 256
        temperature: float = 0.07  # SupCon temperature (F5C paper, Table I)

    def __init__(self, config: Any | None = None):
        super().__init__()
        self.config = config if config is not None else type(self).Config()

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None = None) -> "Method":
        """Build from paper defaults plus explicit overrides; unknown keys are an error."""
        overrides = dict(overrides or {})
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ValueError(f"{cls.__name__} has no config option(s) {', '.join(unknown)}; "
                             f"options: {', '.join(sorted(fields))}")
        return cls(cls.Config(**overrides))

    def embed(self, clips: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement embed(clips)")

    def forward(self, clips: Tensor) -> Tensor:
        return self.embed(clips)

    def loss(self, clips: Tensor, drivers: Tensor, targets: Tensor) -> Tensor:
        temperature = getattr(self.config, "temperature", 0.07)
        return supervised_contrastive_loss(self.embed(clips), drivers, temperature)

    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)


def check_embeddings(method: Method, embeddings: Tensor, batch: int) -> None:
    """Hold a method to the contract: (B, D) finite, unit-norm rows."""
    name = type(method).__name__
    if embeddings.ndim != 2 or embeddings.shape[0] != batch:
        raise ValueError(f"{name}.embed returned shape {tuple(embeddings.shape)}; expected ({batch}, D)")
    if not torch.isfinite(embeddings).all():
        raise ValueError(f"{name}.embed returned non-finite values")
    norms = embeddings.detach().float().norm(dim=1)
    if not torch.allclose(norms, torch.ones_like(norms), atol=1e-3):
        raise ValueError(f"{name}.embed must return L2-normalised rows (norms {norms.tolist()[:4]}...); "
                         "end embed() with torch.nn.functional.normalize(x, dim=1)")


def register_method(name: str, *, summary: str = "", defaults: dict[str, Any] | None = None,
                    profile_overrides: dict[str, dict[str, Any]] | None = None):
    """Class decorator that registers a :class:`Method` subclass under ``name``, as timm's and
    lm-evaluation-harness's ``register_model`` do: the spec takes its input kind from the
    class's ``input_kind`` (declared once), and the module needs no hook of its own::

        @register_method("motion_energy", summary="pooled inter-frame differences")
        class MotionEnergy(Method):
            ...

    The module still becomes a plugin the usual way (an ``avbench`` entry point, or ``-p``).
    Stack the decorator to register variants of one class (``defaults``: the config values that
    make a name one variant, e.g. ``{"condition": "static"}``).
    """
    from avbench.specs import MethodSpec, declare_method

    def register(cls):
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise TypeError(f"@register_method({name!r}) decorates {cls!r}, not an avbench.method.Method subclass")
        overrides = tuple((p, tuple(v.items())) for p, v in (profile_overrides or {}).items())
        spec = MethodSpec(name=name, factory=cls, input=cls.input_kind, summary=summary or (cls.__doc__ or "").strip().split("\n")[0],
                          defaults=tuple((defaults or {}).items()), profile_overrides=overrides)
        declare_method(cls.__module__, spec)
        return cls

    return register


__all__ = ["InputKind", "LandmarkConfig", "Method", "check_embeddings", "data_parallel_loss",
           "gather_batch", "register_method", "supervised_contrastive_loss"]
