"""Train one protocol cell: identity-balanced SupCon batches, AdamW, cosine schedule.

Lightning Fabric owns the device, the precision (FP16/BF16 autocast on GPUs, FP32 on
CPUs), data-parallel processes (DDP) and checkpoint saving, so this file is only the
schedule of the paper (Table I): linear warm-up, cosine decay, gradient clipping,
validation AUC every few epochs with the best state kept.  Under DDP every process
draws the same global batch and trains on its slice; the loss and BatchNorm see the
whole batch (:mod:`avbench.distributed`), so N processes train as one does.
"""

from __future__ import annotations

import copy
import math
import os
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from avbench.config import TrainingConfig
from avbench.data.loader import ClipSource, balanced_batches
from avbench.data.prefetch import BatchPrefetcher
from avbench.distributed import sync_batchnorm
from avbench.embed import score_videos
from avbench.errors import TrainingError
from avbench.evaluation import verification_pairs
from avbench.metrics import per_target_auc


@dataclass
class TrainResult:
    best_val_auc: float
    best_epoch: int
    history: list[dict]
    wall_time_s: float  # the whole training: every part's saved epochs, not only this call's
    checkpoint: str
    resumed_after_epoch: int = 0  # > 0: this call went on from an interrupted run's saved epoch
    skipped_steps: int = 0  # optimiser steps not taken: non-finite loss or gradients (FP16 overflow)
    # One record per part of the training (a first run, then each resume): first_epoch,
    # last_epoch, torch_threads, device, wall_time_s.  Values a pre-record state lacks are None.
    parts: list[dict] = field(default_factory=list)

    @property
    def resumes(self) -> int:
        """How many times the training was resumed from a saved state (0: in one go)."""
        return max(0, len(self.parts) - 1)


class ResumeWarning(UserWarning):
    """A run resumed under other conditions (torch thread count, device type) than the part
    that saved its state: a valid continuation, but not the float-for-float result of either."""


# A run of this many consecutive skipped steps ends the training.  Under FP16 loss scaling
# every overflow halves the scale, so 20 in a row take it from 2**16 down to 2**-4: by then
# the overflow is not in the scaled gradients but in the loss or the forward pass itself,
# and more steps would only train on nothing.
MAX_SKIPPED_IN_A_ROW = 20


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Linear warm-up to 1, then cosine decay to 0 (per optimizer step)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


LOADER_THREADS_VARIABLE = "AVBENCH_LOADER_THREADS"


def loader_workers() -> int:
    """Loader threads for GPU training: enough to outpace the model, few enough to leave cores
    (at most 8, one core left to the training's own thread).  ``AVBENCH_LOADER_THREADS=N`` sets
    the count for a machine whose best one ``avbench bench --what e2e --loader-threads ...``
    found."""
    given = os.environ.get(LOADER_THREADS_VARIABLE)
    if given:
        try:
            count = int(given)
        except ValueError:
            raise TrainingError(f"{LOADER_THREADS_VARIABLE}={given!r}: give a whole number of loader "
                                "threads (e.g. 8), or unset it") from None
        if count < 0:
            raise TrainingError(f"{LOADER_THREADS_VARIABLE}={given}: give 0 or more loader threads")
        return count
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def make_fabric(device: str, precision: str, devices: int = 1):
    """Fabric for ``devices`` processes on ``device`` (DDP when more than one: NCCL on
    GPUs, gloo on CPUs).  The caller launches it (``fabric.launch()``)."""
    from lightning_fabric import Fabric

    if device == "cpu" and precision.endswith("-mixed"):
        precision = "32-true"  # AMP is for GPUs; CPU autocast is slower here
    return Fabric(accelerator=device, devices=devices, strategy="ddp" if devices > 1 else "auto",
                  precision=precision)


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile_method(method, mode: str = "default") -> None:
    """torch.compile the method in place: ``embed`` as one graph, and each top-level submodule.

    One graph from clips to embeddings lets the compiler fuse across module boundaries (a frame
    model's clip normalisation into its first layer, the frame differencing and layout changes
    into the backbone's last kernels and the head's first): on F5C that removes most of the
    eager elementwise kernels and copies between its compiled parts.  The submodules are
    compiled too for losses that call them outside ``embed`` (inside ``embed`` they are traced
    into its graph).  The method's own ``loss``/``embed`` stay methods of its class, as
    Fabric's ``mark_forward_method`` requires (mark them before compiling).  ``mode`` is
    torch.compile's (``reduce-overhead`` adds CUDA graphs: ``avbench bench --compile-mode``
    measures the modes)."""
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile mode {mode!r}: choose one of {', '.join(COMPILE_MODES)}")
    mode = None if mode == "default" else mode
    for child in method.children():
        child.compile(mode=mode)
    method.embed = torch.compile(method.embed, mode=mode)  # an instance attribute: the class's stays


def make_optimizer(method, cfg: TrainingConfig, device_type: str) -> torch.optim.AdamW:
    """AdamW with the run's settings; on GPUs PyTorch's fused implementation.

    Fused AdamW updates every parameter in one kernel, and under FP16 loss scaling it takes
    the scaler's overflow flag and scale itself, so the scaler no longer reads the flag back to
    the host before each step (a host sync that idles the GPU between steps).  CPUs keep the
    default implementation: the numbers of CPU runs, which tests compare exactly, stay as they
    were."""
    return torch.optim.AdamW(method.parameters(), lr=cfg.lr, betas=cfg.betas,
                             weight_decay=cfg.weight_decay, fused=device_type == "cuda")


@dataclass(frozen=True)
class StepResult:
    loss: float  # this process's loss, as a Python float
    grad_norm: float  # total gradient norm after unscaling, before clipping
    applied: bool  # False: the optimiser step was skipped (non-finite loss or gradients)


class PendingStep:
    """A step's loss and gradient norm, on their way to the host until :meth:`result` reads them.

    On a GPU both are copied, as soon as the step is queued, into page-locked host memory
    behind the step's own kernels, and an event marks the copy: reading waits for this step
    only.  Reading a device tensor instead (``.tolist()`` when read) would queue the copy
    behind every kernel queued by then, so a loop that reads a step after queueing the next
    would wait for that next step too and find the GPU idle while it prepares the one after
    (on an H200 the loader threads' host work, which queues nothing on the GPU, slowed F5C's
    end-to-end steps by 4 % that way).  The training loop reads a step's values only after it
    has queued the next (:class:`OneStepBehind`), so the GPU always has a step queued."""

    def __init__(self, loss: torch.Tensor, norm: torch.Tensor):
        values = torch.stack([loss.detach().float(), norm.detach().float()])
        self._event = None
        if values.is_cuda:
            self._host = torch.empty(2, pin_memory=True)
            self._host.copy_(values, non_blocking=True)
            self._event = torch.cuda.Event()
            self._event.record()
        else:
            self._host = values
        self._values: StepResult | None = None

    def result(self) -> StepResult:
        if self._values is None:
            if self._event is not None:
                self._event.synchronize()  # this step's copy, not the kernels queued since
            loss, norm = self._host.tolist()
            self._values = StepResult(loss, norm, math.isfinite(norm))
        return self._values


class OneStepBehind:
    """Reads each step's values once the step after it is queued (:class:`PendingStep`).

    ``push`` the step just queued: the step before it is read (``read(pending, index)``);
    ``flush`` reads the last one.  ``waited_s`` adds up the time spent waiting for those reads,
    i.e. for the GPU: near zero means the host, not the GPU, sets the pace."""

    def __init__(self, read: Callable[[PendingStep, int], None] | None = None):
        self._read = read
        self._held: tuple[PendingStep, int] | None = None
        self.waited_s = 0.0

    def push(self, pending: PendingStep, index: int) -> None:
        held, self._held = self._held, (pending, index)
        if held is not None:
            self._take(*held)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._take(*held)

    def _take(self, pending: PendingStep, index: int) -> None:
        start = time.perf_counter()
        pending.result()
        self.waited_s += time.perf_counter() - start
        if self._read is not None:
            self._read(pending, index)


def train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip: float) -> PendingStep:
    """One optimisation step: loss under the run's precision, backward, clipping, AdamW.

    The loss runs inside ``fabric.autocast()`` explicitly: Fabric applies its precision
    context around ``forward`` only, and a method marked with ``mark_forward_method``
    (``loss``) runs outside it, so "16-mixed" would silently train in FP32.

    A step whose loss or gradients are not finite is skipped, never applied and never an
    error.  Under FP16 ("16-mixed") the loss is multiplied by the gradient scaler's scale
    (2**16 at the start), so an occasional overflow of the *scaled* gradients is how loss
    scaling finds its scale: the scaler unscales the gradients before clipping, clipping only
    measures the (infinite) norm, and the scaler's ``step`` skips the update and halves the
    scale, all on the device: the step's values are read later (:class:`PendingStep`).  In the
    other precisions there is no scaler: fused AdamW (GPUs) is handed the same overflow flag a
    scaler would hand it, computed from the norm on the device, and skips the update itself;
    the default AdamW (CPUs) is stepped or not on the norm read back at once.  The caller counts
    skipped steps and stops a run that skips many in a row (:data:`MAX_SKIPPED_IN_A_ROW`).
    """
    with fabric.autocast():
        loss = model.loss(clips, drivers, targets)
    optimizer.zero_grad(set_to_none=True)
    fabric.backward(loss)
    norm = clip_gradients(fabric, optimizer, grad_clip)
    pending = PendingStep(loss, norm)
    if grad_scaler(fabric) is not None:
        # step() runs either way: it skips the update itself when the unscaled gradients hold
        # inf/NaN (the norm is then non-finite too), and lowers the scale in update().
        optimizer.step()
        return pending
    # Decided on the norm alone: it is the same on every data-parallel process (gradients are
    # all-reduced), and a non-finite loss makes it non-finite too.
    inner = getattr(optimizer, "optimizer", optimizer)
    if all(group.get("fused") for group in inner.param_groups):
        # Read by fused AdamW's step (as GradScaler sets it): 1.0 skips the update and leaves
        # the step count as it was, 0.0 applies it unchanged.
        inner.found_inf = (~torch.isfinite(norm)).to(torch.float32)
        try:
            optimizer.step()
        finally:
            del inner.found_inf
    elif pending.result().applied:
        optimizer.step()
    return pending


def clip_gradients(fabric, optimizer, max_norm: float) -> torch.Tensor:
    """Unscale the gradients (FP16 loss scaling) and clip them to ``max_norm`` by their total
    norm; returns that norm before clipping (inf or NaN after an overflow), on the device.

    This is what ``fabric.clip_gradients`` does, but Fabric refuses optimizers that can unscale
    inside their own step (fused AdamW), although unscaling before the step is valid for them
    too: the scaler then hands the fused kernel only its overflow flag."""
    inner = getattr(optimizer, "optimizer", optimizer)  # Fabric's wrapper holds the torch optimizer
    scaler = grad_scaler(fabric)
    if scaler is not None:
        scaler.unscale_(inner)
    parameters = [p for group in inner.param_groups for p in group["params"]]
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm, error_if_nonfinite=False)


def grad_scaler(fabric):
    """The FP16 gradient scaler of Fabric's precision plugin, or None (BF16, FP32, FP64)."""
    return getattr(fabric.strategy.precision, "scaler", None)


def label_ids(videos: pd.DataFrame, column: str) -> dict:
    """Row label -> integer id of its ``column`` value (ids in sorted value order)."""
    ids = {v: i for i, v in enumerate(sorted(videos[column].unique()))}
    return {label: ids[v] for label, v in videos[column].items()}


def label_tensor(ids: list[int], device) -> torch.Tensor:
    """Integer labels on the device without stalling it: a copy from pageable memory would
    make the host wait for every queued kernel, so the next step could not be queued ahead."""
    tensor = torch.tensor(ids)
    if device.type != "cuda":
        return tensor
    return tensor.pin_memory().to(device, non_blocking=True)


def validation_scores(method, source: ClipSource, videos: pd.DataFrame, clip_length: int,
                      fabric, batch_size: int) -> tuple[float, pd.DataFrame | None]:
    """The validation identities' mean per-target AUC and score table (NaN and None when the
    split gives no pairs), through the same scoring path as the test groups."""
    pairs = verification_pairs(videos)
    if pairs.empty:
        return float("nan"), None
    scores = score_videos(method, source, videos, pairs, clip_length, fabric, batch_size)
    aucs = per_target_auc(scores)
    return (float(aucs.mean()) if len(aucs) else float("nan")), scores  # tiny val splits may have none


def progress_path(checkpoint: Path) -> Path:
    """Where a cell's training state is saved after every epoch (beside its best checkpoint)."""
    return checkpoint.with_name("last.ckpt")


def _save_progress(fabric, path: Path, state: dict) -> None:
    """Atomically: a kill while saving leaves the previous epoch's file intact."""
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    fabric.save(tmp, state)
    if fabric.global_rank == 0:
        os.replace(tmp, path)
    fabric.barrier()


def _load_progress(path: Path, identity: str) -> dict | None:
    """The saved training state of an interrupted run, or None.  Run folders travel between
    machines, so the file is untrusted: it is read with ``weights_only=True`` (tensors and
    plain containers only, never code), and anything else is an error naming the file."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable or unsafe file gets the same message
        raise TrainingError(
            f"{path}: not a training state avbench can load safely ({type(exc).__name__}); it was "
            "not unpickled. Delete it to train this cell from the start.") from None
    if not isinstance(state, dict):
        raise TrainingError(f"{path}: not a training state (a {type(state).__name__}, not a dict); "
                            "delete it to train this cell from the start.")
    return state if state.get("identity") == identity else None  # another config's: start afresh


_PART_FIELDS = {"first_epoch": int, "last_epoch": int, "torch_threads": int, "device": str,
                "wall_time_s": (int, float)}


def _earlier_parts(saved: dict) -> list[dict]:
    """The parts recorded in a saved state; a state saved before parts were recorded counts as
    one part of unknown threads, device and duration."""
    parts = saved.get("parts")
    if not (isinstance(parts, list) and parts and all(isinstance(p, dict) for p in parts)):
        parts = [{"first_epoch": 1, "last_epoch": saved["epoch"]}]
    # The file is untrusted: a value of the wrong type is unknown (None), never a crash later.
    return [{key: p.get(key) if isinstance(p.get(key), kind) and not isinstance(p.get(key), bool)
             else None for key, kind in _PART_FIELDS.items()} for p in parts]


def _threads(n: int | None) -> str:
    return f"{n} torch thread{'' if n == 1 else 's'}"


def _resume_note(path: Path, epoch: int, before: dict, now: dict) -> str | None:
    """What differs between the part that saved ``path`` and this one, or None."""
    threads_differ = before["torch_threads"] not in (None, now["torch_threads"])  # None: not recorded
    device_differs = before["device"] not in (None, now["device"])
    if not (threads_differ or device_differs):
        return None
    hint = []
    if threads_differ:
        hint.append(f"OMP_NUM_THREADS={before['torch_threads']}")
    if device_differs:
        hint.append(f"--device {before['device']}")
    return (f"{path}: resuming after epoch {epoch}, saved by a run with "
            f"{_threads(before['torch_threads'])} on {before['device']}; this run has "
            f"{_threads(now['torch_threads'])} on {now['device']}. Float sums depend on both, so "
            "the result is a valid continuation that repeats neither setting's uninterrupted "
            "result exactly; the row records both (environment: torch_threads, "
            "resumed_from_torch_threads, training_parts). For a result that repeats exactly, "
            f"resume with {' and '.join(hint)}, or retrain from the start with --force.")


def resume_environment(result: TrainResult) -> dict:
    """What a resumed training adds to its rows' ``environment``: ``resumes`` (how many times
    it was resumed), ``resumed_from_torch_threads`` and ``resumed_from_device`` (those of the
    part that saved the state this call resumed; ``torch_threads`` stays this process's) and
    ``training_parts`` (every part, see :attr:`TrainResult.parts`).  Empty for a training
    done in one go, so such rows look as they always have."""
    if result.resumes == 0:
        return {}
    before = result.parts[-2]
    return {"resumes": result.resumes, "resumed_from_torch_threads": before["torch_threads"],
            "resumed_from_device": before["device"], "training_parts": result.parts}


def _write_history(path: Path, history: list[dict]) -> None:
    """The per-epoch record (loss, learning rate, skipped steps, validation AUC) as a CSV beside
    the checkpoint, rewritten atomically after every epoch: the training curve while it runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pd.DataFrame(history).to_csv(tmp, index=False)
    os.replace(tmp, path)


def _too_many_skipped(skipped_in_a_row: int, last: StepResult, epoch: int, step: int,
                      fabric) -> TrainingError:
    where = "the loss itself" if not math.isfinite(last.loss) else "the gradients"
    scaler = grad_scaler(fabric)
    scale = f" (FP16 loss scale now {scaler.get_scale():g})" if scaler is not None else ""
    return TrainingError(
        f"{skipped_in_a_row} optimiser steps in a row were skipped in epoch {epoch} (up to step "
        f"{step}): {where} stayed non-finite (last loss {last.loss}, gradient norm {last.grad_norm})"
        f"{scale}. The model diverged or overflows in its forward pass; try --precision "
        "bf16-mixed or 32-true, or a lower learning rate (--train lr=0.0003)")


def train_cell(method, fabric, train: pd.DataFrame, val: pd.DataFrame, source: ClipSource,
               cfg: TrainingConfig, clip_length: int, seed: int, checkpoint: Path,
               progress: Callable[..., None] | None = None,
               compile: bool = False, identity: str = "", resume: bool = True,
               loggers: list | None = None) -> TrainResult:
    """Train ``method`` in place; on return it holds the best validation state.

    ``checkpoint`` is where the caller saves that state (:mod:`avbench.checkpoints`, with what
    it needs to rebuild the method); the training state and ``history.csv`` are kept beside it.

    After every epoch the whole training state (weights, optimizer, schedule, random
    generators, history, best state, and the parts so far: their epochs, torch thread
    count, device type and training time) is saved atomically to :func:`progress_path`;
    a later call with the same ``identity`` (the run's key) resumes after the last saved
    epoch.  On CPU a resumed run gives exactly the uninterrupted run's result; on GPUs
    the loader threads have drawn a few batches ahead, so it is a statistically
    equivalent continuation.

    "Exactly" holds at the same torch thread count and device type only: CPU kernels
    split float sums by thread.  A resume under another count (a job rescheduled on
    another node, another ``OMP_NUM_THREADS``) goes on, with a :class:`ResumeWarning`
    naming both counts, and the result records every part (:func:`resume_environment`).
    It is not refused: the continuation is as valid a training as a GPU resume, the
    finished epochs may be hours of work, and a researcher who needs the exact floats
    sees the warning and the row and can resume with the old count or retrain; a refusal
    would only make every rescheduled job fail until someone intervened.

    ``resume=False`` (``--force``) deletes any saved state first and trains from epoch 1:
    a state left by a finished run (killed between storing its rows and deleting the
    state) must not turn a requested retraining into a no-op "resumed after the last
    epoch".

    ``wall_time_s`` of the result is the whole training's: this call's time plus the
    saved epochs of every earlier part (an epoch a kill cut short is not counted; it is
    trained, and counted, again).

    ``compile`` runs the method's submodules through torch.compile (faster steps on
    GPUs after a compilation pause; the arithmetic is the same up to float rounding).
    """
    start = time.perf_counter()
    fabric.seed_everything(seed, verbose=False)
    if fabric.device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed clip shapes: cuDNN's fastest kernels, found once
    if fabric.world_size > 1:
        sync_batchnorm(method, fabric.device.type)  # in place: ``method`` keeps its identity
    optimizer = make_optimizer(method, cfg, fabric.device.type)
    model, optimizer = fabric.setup(method, optimizer)
    model.mark_forward_method("loss")
    model.mark_forward_method("embed")
    if compile:
        compile_method(method)
    total = cfg.epochs * cfg.steps_per_epoch
    warmup = cfg.warmup_epochs * cfg.steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, warmup, total))
    rng = np.random.default_rng(seed)
    best = (-1.0, -1, None)
    history: list[dict] = []
    step, first_epoch = 0, 1
    saved, earlier = None, []
    if resume:
        saved = _load_progress(progress_path(checkpoint), identity)
    elif progress_path(checkpoint).exists():
        if fabric.global_rank == 0:  # no process reads it: the others need not wait
            progress_path(checkpoint).unlink(missing_ok=True)
        if progress:
            progress(0, total, "saved training state discarded; training from epoch 1")
    if saved is not None:
        method.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
        step, first_epoch, history = saved["step"], saved["epoch"] + 1, saved["history"]
        best = (saved["best_score"], saved["best_epoch"], saved["best_state"])
        earlier = _earlier_parts(saved)
        if progress:
            progress(step, total, f"resumed after epoch {saved['epoch']}")
        note = _resume_note(progress_path(checkpoint), saved["epoch"], earlier[-1],
                            _part(first_epoch, saved["epoch"], fabric, start))
        if note and fabric.global_rank == 0 and first_epoch <= cfg.epochs:  # epochs left to train
            warnings.warn(note, ResumeWarning, stacklevel=2)
    batches = balanced_batches(train, cfg.identities_per_batch, cfg.videos_per_identity, rng)
    on_gpu = fabric.device.type == "cuda"
    dtype = next(method.parameters()).dtype  # FP32 weights under mixed precision, FP64 in FP64 runs
    loader = BatchPrefetcher(source, lambda: next(batches), clip_length, rng,
                             workers=loader_workers() if on_gpu else 0,
                             shard=(fabric.global_rank, fabric.world_size), device=fabric.device,
                             dtype=dtype)
    driver_of, target_of = label_ids(train, "driver"), label_ids(train, "target")
    skipped_in_a_row = 0
    for epoch in range(first_epoch, cfg.epochs + 1):
        model.train()
        losses, skipped = [], 0
        epoch_start = time.perf_counter()

        def account(pending: PendingStep, at_step: int) -> None:
            """Count one step's result (read once the next step is queued, or at epoch end)."""
            nonlocal skipped, skipped_in_a_row
            result = pending.result()
            if result.applied:
                losses.append(result.loss)
                skipped_in_a_row = 0
            else:
                skipped += 1
                skipped_in_a_row += 1
                if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
                    loader.close()
                    raise _too_many_skipped(skipped_in_a_row, result, epoch, at_step, fabric)
            if progress:
                recent = np.mean(losses[-10:]) if losses else float("nan")
                progress(at_step, total, f"epoch {epoch} loss {recent:.3f}"
                         + (f" ({skipped} skipped)" if skipped else ""))

        behind = OneStepBehind(account)
        for _ in range(cfg.steps_per_epoch):
            labels, clips = next(loader)
            d = label_tensor([driver_of[x] for x in labels], fabric.device)
            t = label_tensor([target_of[x] for x in labels], fabric.device)
            pending = train_step(model, optimizer, fabric, clips, d, t, cfg.grad_clip)
            with warnings.catch_warnings():  # torch warns when the first optimiser step was skipped
                warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()`"))
                scheduler.step()  # a skipped step still moves the schedule: it stays a function of the step
            step += 1
            behind.push(pending, step)
        behind.flush()
        seconds = time.perf_counter() - epoch_start
        record = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else float("nan"),
                  "lr": scheduler.get_last_lr()[0], "skipped_steps": skipped,
                  "clips_per_s": cfg.steps_per_epoch * cfg.batch_size / seconds if seconds > 0 else None}
        if epoch % cfg.val_every == 0 or epoch == cfg.epochs:
            # The bare method: validation needs no gradient sync, and every process
            # computes the same AUC, so all keep the same best state.
            record["val_auc"], _ = validation_scores(method, source, val, clip_length, fabric, cfg.batch_size)
            score = record["val_auc"] if not math.isnan(record["val_auc"]) else epoch / 1e6
            if score > best[0]:
                best = (score, epoch, copy.deepcopy(method.state_dict()))
        history.append(record)
        if progress:  # one permanent line per epoch, in a terminal and in a log alike
            progress(step, total, f"epoch {epoch}/{cfg.epochs}", line=epoch_line(record, cfg.epochs))
        for logger in loggers or ():  # --logger csv|tensorboard (Lightning Fabric's loggers)
            logger.log_metrics({k: float(v) for k, v in record.items()
                                if k != "epoch" and isinstance(v, (int, float)) and v is not None}, step=epoch)
        if fabric.global_rank == 0:
            _write_history(checkpoint.with_name("history.csv"), history)
        _save_progress(fabric, progress_path(checkpoint), {
            "identity": identity, "epoch": epoch, "step": step, "history": history,
            "model": method.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(), "best_score": best[0], "best_epoch": best[1],
            "best_state": best[2], "parts": [*earlier, _part(first_epoch, epoch, fabric, start)]})
    loader.close()
    for logger in loggers or ():
        logger.finalize("success")
    if best[2] is not None:
        method.load_state_dict(best[2])
    parts = [*earlier, _part(first_epoch, cfg.epochs, fabric, start)]
    return TrainResult(best[0], best[1], history, sum(p["wall_time_s"] or 0.0 for p in parts),
                       str(checkpoint), saved["epoch"] if saved is not None else 0,
                       sum(r.get("skipped_steps", 0) for r in history), parts)


def epoch_line(record: dict, epochs: int) -> str:
    """``epoch 3/6: loss 3.312, val AUC 0.772, lr 8.1e-04, 1,213 clips/s, 0 skipped steps``."""
    parts = [f"epoch {record['epoch']}/{epochs}: loss {record['loss']:.3f}"]
    if record.get("val_auc") is not None:
        parts.append(f"val AUC {record['val_auc']:.3f}")
    parts.append(f"lr {record['lr']:.1e}")
    if record.get("clips_per_s"):
        parts.append(f"{record['clips_per_s']:,.0f} clips/s")
    parts.append(f"{record['skipped_steps']} skipped steps")
    return ", ".join(parts)


def _part(first_epoch: int, last_epoch: int, fabric, start: float) -> dict:
    """This call's part of the training so far (plain values: saved states load weights-only)."""
    return {"first_epoch": first_epoch, "last_epoch": last_epoch,
            "torch_threads": torch.get_num_threads(), "device": fabric.device.type,
            "wall_time_s": time.perf_counter() - start}
