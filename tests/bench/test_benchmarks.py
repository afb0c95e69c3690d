"""pytest-benchmark suite (marker ``benchmark``; outside the default run).

Run: ``python -m pytest -m benchmark --benchmark-only tests/bench`` (CPU sizes), and on a
GPU machine ``-m "benchmark and gpu"`` for the paper-profile sizes.  ``--benchmark-json``
saves the figures; ``avbench bench`` measures the same functions with richer records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avbench.bench.model import ModelBench, random_input
from avbench.bench.scoring import score_table
from avbench.bench.suite import build_for_bench
from avbench.data.loader import ClipSource, balanced_batches
from avbench.metrics import summarize
from avbench.registry import load_registry
from avbench.specs import InputKind

pytestmark = pytest.mark.benchmark


def _train_step(name: str, cfg: ModelBench, device: str):
    import torch

    method = build_for_bench(load_registry(), name, cfg.landmark_points).to(device).train()
    optimizer = torch.optim.AdamW(method.parameters(), lr=1e-4)
    clips, drivers, targets = random_input(method, cfg.batch, cfg.clip_length, device)
    dtype = {"16-mixed": torch.float16, "bf16-mixed": torch.bfloat16}.get(cfg.precision)

    def step():
        with torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype is not None):
            loss = method.loss(clips, drivers, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    return step


@pytest.mark.parametrize("name", ["f5c_featdiff", "resnet18_featdiff", "nvfair_ldmk_tcnn", "stgcn"])
def test_train_step_cpu(benchmark, name):
    benchmark(_train_step(name, ModelBench(batch=16, clip_length=16, precision="32-true"), "cpu"))


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_train_step_paper_profile_gpu(benchmark, precision):
    step = _train_step("f5c_featdiff", ModelBench(precision=precision), "cuda")
    for _ in range(3):
        step()  # cuDNN autotuning and allocator warm-up
    benchmark(step)


def test_data_pipeline_from_memory_maps(benchmark, tmp_path):
    frames = {}
    for i in range(32):
        path = tmp_path / f"v{i}.npy"
        np.save(path, np.zeros((100, 128, 128), np.uint8))
        frames[f"v{i}"] = np.load(path, mmap_mode="r")
    train = pd.DataFrame({"driver": [f"d{i % 16}" for i in range(32)]}, index=list(frames))
    source = ClipSource(frames, InputKind.FRAMES)
    batches = balanced_batches(train, 16, 8, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    benchmark(lambda: source.batch(next(batches), 64, lambda x: x, rng))


@pytest.mark.parametrize("targets", [16, 256, 1024])
def test_scoring(benchmark, targets):
    table = score_table(targets)
    benchmark(lambda: summarize(table))
