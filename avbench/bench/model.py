"""Model throughput: training and inference clips/s on random input already on the device.

This is model compute only, the same thing the paper's reference training loop is measured on
(random tensors on the GPU), so the model is isolated from data loading;
:mod:`avbench.bench.pipeline` measures the loader.  Training goes through the same
Lightning Fabric path as :func:`avbench.training.train_cell` (precision plugin,
backward, gradient clipping, the same AdamW, each step's values read after the next is queued), so a faster figure here is a faster training there.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from avbench.bench.machine import peak_flops
from avbench.config import TrainingConfig
from avbench.specs import InputKind
from avbench.training import OneStepBehind, compile_method, make_fabric, make_optimizer, train_step

DTYPES = {"32-true": "fp32", "16-mixed": "fp16", "bf16-mixed": "bf16"}


@dataclass(frozen=True)
class ModelBench:
    """One throughput measurement's settings; the defaults are the paper profile's batch."""

    batch: int = 128  # 16 drivers x 8 videos (Table I)
    clip_length: int = 64  # T (Table I)
    steps: int = 20  # timed steps
    warmup: int = 5  # untimed steps first (cuDNN autotuning, compilation, allocator)
    precision: str = "16-mixed"  # 32-true | 16-mixed | bf16-mixed
    compile: bool = False  # torch.compile the method's loss / embed
    compile_mode: str = "default"  # torch.compile's mode (reduce-overhead: CUDA graphs)
    landmark_points: int = 478  # landmark methods: MediaPipe's mesh


def random_input(method, batch: int, clip_length: int, device, landmark_points: int = 478):
    """Clips of the method's input kind plus identity-balanced labels (8 videos per driver)."""
    if method.input_kind == InputKind.FRAMES:
        clips = torch.rand(batch, clip_length, 1, 128, 128, device=device)
    else:
        clips = torch.rand(batch, clip_length, landmark_points, 3, device=device) * 128
    drivers = torch.arange(batch, device=device) // 8
    targets = torch.arange(batch, device=device) % 8
    return clips, drivers, targets


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(step, steps: int, warmup: int, device: str) -> float:
    """Seconds per step over ``steps`` steps after ``warmup`` untimed ones (one sync at each end)."""
    for _ in range(warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def _flops(fn) -> int:
    """FLOPs of one call, as counted by torch's FlopCounterMode (matmuls and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


def _memory_reset(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_memory_gib(device: str) -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.startswith("cuda") else None


def throughput_record(kind: str, method_name: str, cfg: ModelBench, device: str, seconds: float, flops: int) -> dict:
    name = torch.cuda.get_device_name() if device.startswith("cuda") else None
    peak = peak_flops(name, DTYPES.get(cfg.precision, "fp32"))
    achieved = flops / seconds
    return {
        "benchmark": f"model_{kind}", "method": method_name, **asdict(cfg), "device": device,
        "clips_per_s": cfg.batch / seconds, "step_ms": 1000 * seconds,
        "frames_per_s": cfg.batch * cfg.clip_length / seconds,
        "flops_per_step": flops, "achieved_tflops": achieved / 1e12,
        "mfu": achieved / peak if peak else None, "peak_memory_gib": _peak_memory_gib(device),
    }


def training_step_on_random_input(method, cfg: ModelBench, device: str):
    """The training step every model benchmark times or profiles: the method set up through
    Fabric as :func:`avbench.training.train_cell` sets it up (precision plugin, AdamW, ``loss``
    as a forward method, train mode) and a zero-argument function running one step on a fixed
    random batch of the method's input kind.  Not compiled: callers count FLOPs first."""
    torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    fabric = make_fabric(device, cfg.precision)
    optimizer = make_optimizer(method, TrainingConfig(), fabric.device.type)
    model, optimizer = fabric.setup(method, optimizer)
    model.mark_forward_method("loss")
    model.train()
    clips, drivers, targets = random_input(method, cfg.batch, cfg.clip_length, fabric.device,
                                           cfg.landmark_points)

    behind = OneStepBehind()  # as the training loop: a step's values are read once the next is queued

    def step() -> None:
        behind.push(train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip=1.0), 0)

    return step


def train_throughput(method, method_name: str, cfg: ModelBench, device: str) -> dict:
    """Training clips/s: forward, loss, backward, gradient clipping and AdamW step per batch."""
    _memory_reset(device)
    step = training_step_on_random_input(method, cfg, device)

    flops = _flops(step)  # eager, before compiling: the counter does not see inside compiled graphs
    if cfg.compile:
        compile_method(method, cfg.compile_mode)
    seconds = _timed(step, cfg.steps, cfg.warmup, device)
    return throughput_record("train", method_name, cfg, device, seconds, flops)


def infer_throughput(method, method_name: str, cfg: ModelBench, device: str) -> dict:
    """Inference clips/s: embeddings of a batch in eval mode, no gradients."""
    torch.backends.cudnn.benchmark = True
    _memory_reset(device)
    fabric = make_fabric(device, cfg.precision)
    model = fabric.setup(method)
    model.mark_forward_method("embed")
    model.eval()
    clips, _, _ = random_input(method, cfg.batch, cfg.clip_length, fabric.device, cfg.landmark_points)

    @torch.inference_mode()
    def step() -> None:
        with fabric.autocast():
            model.embed(clips)

    flops = _flops(step)
    if cfg.compile:
        compile_method(method, cfg.compile_mode)
    seconds = _timed(step, cfg.steps, cfg.warmup, device)
    return throughput_record("infer", method_name, cfg, device, seconds, flops)
