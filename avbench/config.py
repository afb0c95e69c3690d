"""Run profiles: the training schedule as explicit data, dumped with every run.

``paper`` is the F5C paper's Table I; ``standard`` is the schedule that converges on the
embedded synthetic dataset on one GPU in minutes; ``quick`` is a CPU-sized demonstration of
the pipeline (too short to converge); ``smoke`` only proves that a method runs end to end.
``auto`` (the default of ``avbench run``) resolves to ``standard`` where CUDA is available
and to ``quick`` otherwise; the resolved name is what is stored.  A method's own
hyper-parameters live in its ``Config``; these are the ones avbench's training loop owns.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from avbench.errors import UsageError


@dataclass(frozen=True)
class TrainingConfig:
    clip_length: int = 64  # T: ~2.6 s at 25 fps; Table VII trades 16..128
    identities_per_batch: int = 16  # N drivers per batch (identity-balanced)
    videos_per_identity: int = 8  # M videos per driver, across targets and generators
    epochs: int = 150
    steps_per_epoch: int = 200
    lr: float = 1e-3  # AdamW, cosine decay after warm-up
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 1e-4
    warmup_epochs: int = 5  # linear warm-up
    grad_clip: float = 1.0
    precision: str = "16-mixed"  # AMP (FP16) on GPU; CPU runs fall back to 32-true
    val_every: int = 5  # validation AUC every k epochs; the best checkpoint is kept

    @property
    def batch_size(self) -> int:
        return self.identities_per_batch * self.videos_per_identity

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def with_overrides(self, overrides: dict) -> TrainingConfig:
        """This schedule with ``--train KEY=VALUE`` overrides, checked against the fields'
        types so that a typo or ``epochs=ten`` fails before any data is opened."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise UsageError(f"--train {', '.join(unknown)}: the training schedule has no such option; "
                             f"its options: {', '.join(fields)}")
        values = {}
        for key, value in overrides.items():
            default = getattr(self, key)
            kind = type(default)
            ok = (isinstance(value, kind) and not isinstance(value, bool)
                  or kind is float and isinstance(value, int) and not isinstance(value, bool)
                  or kind is tuple and isinstance(value, (tuple, list)) and len(value) == len(default))
            if not ok:
                raise UsageError(f"--train {key}={value!r}: expected {kind.__name__} like {default!r}")
            values[key] = kind(value)
        new = dataclasses.replace(self, **values)
        small = [k for k in ("clip_length", "identities_per_batch", "videos_per_identity", "epochs",
                             "steps_per_epoch", "val_every") if getattr(new, k) < 1]
        if small:
            raise UsageError(f"--train {small[0]}={getattr(new, small[0])}: must be at least 1")
        if new.videos_per_identity < 2:
            raise UsageError(f"--train videos_per_identity={new.videos_per_identity}: must be at least 2 "
                             "(the losses compare clips of one driver: a batch needs two of each)")
        return new


PROFILES: dict[str, TrainingConfig] = {
    "paper": TrainingConfig(),
    # One GPU, minutes per training: the schedule that converges on the default synthetic
    # dataset (docs/profiles.md has the validation curves it was chosen from: validation AUC
    # levels off after 80-240 steps, and four times longer buys nothing).  The paper's
    # identity-balanced 16 x 8 batches at T = 64; validation every epoch keeps the best
    # checkpoint, because after its peak the model memorises its training drivers.
    "standard": TrainingConfig(epochs=6, steps_per_epoch=80, warmup_epochs=1, val_every=1,
                               precision="bf16-mixed"),
    # Sized for 2 CPU cores: a cross_gen run (3 trainings) in about a quarter of an hour.
    # Still identity-balanced so SupCon has positives.  A demonstration of the pipeline:
    # far too short for a frame model to converge (AUCs far below a converged model's); ``standard`` on a GPU
    # gives a meaningful number, ``paper`` reproduces the paper's schedule.
    "quick": TrainingConfig(clip_length=16, identities_per_batch=6, videos_per_identity=3,
                            epochs=10, steps_per_epoch=16, warmup_epochs=1, val_every=5,
                            precision="32-true"),
    # Seconds, not minutes: checks that a method or protocol runs end to end (tests, new plugins).
    "smoke": TrainingConfig(clip_length=8, identities_per_batch=2, videos_per_identity=2,
                            epochs=1, steps_per_epoch=2, warmup_epochs=1, val_every=1,
                            precision="32-true"),
}


AUTO = "auto"  # standard on a GPU, quick on a CPU
# Schedules too short for a frame model to converge: their results demonstrate the pipeline only.
SHORT_PROFILES = ("quick", "smoke")


#: How ``--devices N`` shares the work: ``strong`` splits the profile's global batch over the
#: N processes (the same training as one process); ``weak`` gives every process the profile's
#: batch (a global batch N times larger: another training, with its own run key).
SCALINGS = ("strong", "weak")


def weak_scaled(cfg: TrainingConfig, processes: int) -> TrainingConfig:
    """``cfg`` for ``processes`` data-parallel processes that each train on ``cfg``'s batch.

    The global batch grows N-fold by drawing N times as many drivers (``identities_per_batch``
    x N, ``videos_per_identity`` kept), so every batch keeps the paper's 8 videos per driver
    and the supervised contrastive loss its positives per anchor.  The learning rate follows
    the square-root rule for adaptive optimisers (lr x sqrt(N): Malladi et al., "On the SDEs
    and Scaling Rules for Adaptive Gradient Algorithms", NeurIPS 2022; the linear rule of
    Goyal et al. 2017 is derived for SGD and overshoots with Adam-type updates).  The number
    of optimiser steps, the warm-up and the cosine schedule stay: a weakly scaled training
    sees N times more clips in the same steps.  ``--train`` overrides apply after this, so
    ``--train lr=...`` sets the final learning rate.
    """
    if processes < 1:
        raise UsageError(f"--devices {processes}: give at least 1")
    return dataclasses.replace(cfg, identities_per_batch=cfg.identities_per_batch * processes,
                               lr=cfg.lr * math.sqrt(processes))


def profile_names() -> list[str]:
    return [AUTO, *PROFILES]


def resolve_profile(name: str, device: str) -> str:
    """``auto`` as the profile for ``device`` (``cuda`` or ``cpu``); any other name as given."""
    if name == AUTO:
        return "standard" if device == "cuda" else "quick"
    get_profile(name)  # unknown names fail here
    return name


def get_profile(name: str) -> TrainingConfig:
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(f"unknown profile {name!r}; choose one of: {', '.join(profile_names())}") from None


def convergence_note(profile: str) -> str | None:
    """The line printed under any result of a schedule too short to converge, or None."""
    if profile not in SHORT_PROFILES:
        return None
    return (f"note: the {profile!r} profile is too short to converge (a demonstration of the "
            "pipeline, AUCs far below a converged model's); for a meaningful number train on a GPU with "
            "--device cuda --profile standard (the default there)")
