"""End-to-end training throughput: batches from the frame cache through the model.

The same pieces as :func:`avbench.training.train_cell` (identity-balanced batches,
:class:`~avbench.data.prefetch.BatchPrefetcher` loader threads, pinned memory,
copies on a side stream, scaling on the device, :func:`~avbench.training.train_step`),
timed without validation, so the figure can be set beside the model-only one
(:mod:`avbench.bench.model`): their gap is what data loading costs.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from avbench.bench.model import ModelBench, synchronize, throughput_record
from avbench.config import TrainingConfig
from avbench.data.loader import ClipSource, balanced_batches
from avbench.data.prefetch import BatchPrefetcher
from avbench.distributed import sync_batchnorm
from avbench.training import (OneStepBehind, compile_method, label_ids, label_tensor, make_fabric,
                              make_optimizer, train_step)


def end_to_end_throughput(method, method_name: str, source: ClipSource, train: pd.DataFrame,
                          cfg: ModelBench, device: str, workers: int = 8, seed: int = 0,
                          devices: int = 1) -> dict:
    """Clips/s of the global batch; with ``devices`` > 1, data-parallel as in training
    (Fabric launches the other processes; every process returns the same record)."""
    torch.backends.cudnn.benchmark = True
    fabric = make_fabric(device, cfg.precision, devices)
    if devices > 1:
        fabric.launch()
        sync_batchnorm(method, fabric.device.type)
    optimizer = make_optimizer(method, TrainingConfig(), fabric.device.type)
    model, optimizer = fabric.setup(method, optimizer)
    model.mark_forward_method("loss")
    model.train()
    if cfg.compile:
        compile_method(method, cfg.compile_mode)
    rng = np.random.default_rng(seed)
    draw = balanced_batches(train, max(2, cfg.batch // 8), min(8, cfg.batch), rng)
    driver_of = label_ids(train, "driver")
    behind = OneStepBehind()  # as the training loop: a step is read once the next is queued

    with BatchPrefetcher(source, lambda: next(draw), cfg.clip_length, rng, workers=workers,
                         shard=(fabric.global_rank, fabric.world_size),
                         device=fabric.device) as loader:
        def step(index: int, batch=None) -> None:
            labels, clips = batch or next(loader)
            d = label_tensor([driver_of[x] for x in labels], fabric.device)
            behind.push(train_step(model, optimizer, fabric, clips, d, d, grad_clip=1.0), index)

        def timed(batch=None) -> tuple[float, float]:
            """Seconds per step and of those, seconds the host waited for the GPU."""
            behind.flush()
            synchronize(device)
            behind.waited_s = 0.0
            start = time.perf_counter()
            for i in range(cfg.steps):
                step(i, batch)
            behind.flush()
            synchronize(device)
            return (time.perf_counter() - start) / cfg.steps, behind.waited_s / cfg.steps

        for i in range(cfg.warmup):
            step(i)
        seconds, waited = timed()
        # The same steps on one batch kept on the device: the model's pace in this process, on
        # these clips, without loading any; the e2e figure over it is the data path's share.
        resident, _ = timed(next(loader))
    record = throughput_record("train", method_name, cfg, device, seconds, 0)
    # The host's own time per step (queueing kernels, drawing batches) against the time it
    # waited for the GPU: a wait near zero means the host, not the GPU, sets the pace.
    record.update(benchmark="end_to_end_train", loader_workers=workers, flops_per_step=None,
                  achieved_tflops=None, mfu=None, devices=devices,
                  host_ms_per_step=1000 * (seconds - waited), wait_ms_per_step=1000 * waited,
                  resident_clips_per_s=cfg.batch / resident, data_path_share=resident / seconds)
    return record
