"""The F5C paper's reference training loop, written from its description, as a benchmark baseline.

The reference encodes a clip one frame at a time: the backbone is called once per time step in a
Python loop over T, each frame's feature map is subtracted from the next one's, and the T - 1
differences are stacked along time for the identity head.  It trains under FP16 autocast with a
gradient scaler, clips the gradient norm at 1.0 and steps AdamW, with cuDNN autotuning on.
avbench's ``f5c_featdiff`` computes the same function with one backbone call on all B x T frames
(its per-time-step BatchNorm gives each frame the statistics a per-frame call would), so the two
are measured here on the same model, input and machine, in one run: the speed-up is a ratio that
does not depend on which GPU instance ran it (instances of one GPU model differ by about 10 %).

Only methods built like F5C qualify (a per-frame ``backbone``, a temporal ``head`` and the
``featdiff`` condition); :func:`supports_reference` says which.
"""

from __future__ import annotations

import torch
from torch import Tensor

from avbench.bench.model import ModelBench, _flops, _memory_reset, _timed, random_input, throughput_record
from avbench.method import supervised_contrastive_loss

REFERENCE_PRECISION = "16-mixed"  # the reference's FP16 autocast, whatever the run asks for


def supports_reference(method) -> bool:
    """Whether ``method`` has the reference's structure: per-frame backbone, head, featdiff."""
    config = getattr(method, "config", None)
    return (getattr(config, "condition", None) == "featdiff" and hasattr(method, "backbone")
            and hasattr(method, "head") and hasattr(method, "backbone_input"))


def reference_embed(method, clips: Tensor) -> Tensor:
    """Embeddings as the reference computes them: one backbone call per frame, in a loop over T.

    ``method.backbone_input`` applies the method's clip normalisation (featdiff keeps every
    frame); each ``backbone(frames[:, t])`` call normalises its BatchNorms over that time step's
    B frames, as the reference's per-frame calls do.
    """
    frames = method.backbone_input(clips)  # (B, T, 1, H, W)
    features = [method.backbone(frames[:, t]) for t in range(frames.shape[1])]
    differences = [after - before for before, after in zip(features[:-1], features[1:])]
    return method.head(torch.stack(differences, dim=2))  # (B, C, T - 1, h, w)


def _autocast(device: str):
    kind = "cuda" if device.startswith("cuda") else "cpu"
    dtype = torch.float16 if kind == "cuda" else torch.bfloat16  # CPU autocast has no FP16 convs
    return torch.autocast(kind, dtype=dtype)


def reference_train_throughput(method, method_name: str, cfg: ModelBench, device: str) -> dict:
    """Training clips/s of the reference loop: per-frame forward, FP16 autocast with a gradient
    scaler, clipping at 1.0, AdamW (cuDNN autotuning on)."""
    torch.backends.cudnn.benchmark = True
    _memory_reset(device)
    method = method.to(device).train()
    optimizer = torch.optim.AdamW(method.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=device.startswith("cuda"))
    clips, drivers, _ = random_input(method, cfg.batch, cfg.clip_length, device)
    temperature = getattr(method.config, "temperature", 0.07)

    def step() -> None:
        with _autocast(device):
            loss = supervised_contrastive_loss(reference_embed(method, clips), drivers, temperature)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(method.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()

    flops = _flops(step)
    seconds = _timed(step, cfg.steps, cfg.warmup, device)
    run = ModelBench(**{**cfg.__dict__, "precision": REFERENCE_PRECISION, "compile": False})
    return {**throughput_record("train", method_name, run, device, seconds, flops),
            "benchmark": "reference_train"}


def reference_infer_throughput(method, method_name: str, cfg: ModelBench, device: str) -> dict:
    """Inference clips/s of the reference loop (eval mode, no gradients, FP16 autocast)."""
    torch.backends.cudnn.benchmark = True
    _memory_reset(device)
    method = method.to(device).eval()
    clips, _, _ = random_input(method, cfg.batch, cfg.clip_length, device)

    @torch.inference_mode()
    def step() -> None:
        with _autocast(device):
            reference_embed(method, clips)

    flops = _flops(step)
    seconds = _timed(step, cfg.steps, cfg.warmup, device)
    run = ModelBench(**{**cfg.__dict__, "precision": REFERENCE_PRECISION, "compile": False})
    return {**throughput_record("infer", method_name, run, device, seconds, flops),
            "benchmark": "reference_infer"}


def add_ratios(records: list[dict]) -> list[dict]:
    """Give every ``model_train`` / ``model_infer`` record of a method the ratio of its clips/s
    to the reference loop's measured in the same run (``vs_reference``)."""
    reference = {(r["method"], r["benchmark"].removeprefix("reference_")): r["clips_per_s"]
                 for r in records if r["benchmark"].startswith("reference_")}
    for r in records:
        if r["benchmark"].startswith("model_"):
            base = reference.get((r["method"], r["benchmark"].removeprefix("model_")))
            if base:
                r["vs_reference"] = r["clips_per_s"] / base
    return records
