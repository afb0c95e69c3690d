"""The machine a benchmark ran on, recorded with every result."""

from __future__ import annotations

import os
import platform
import sys

from avbench.provenance import environment, git_commit

# Dense tensor-core peaks (FLOP/s) for model FLOP utilisation; FP32 uses TF32 tensor cores
# only when torch allows it, so its MFU is reported against the plain FP32 peak.
PEAK_FLOPS = {
    "NVIDIA H100 80GB HBM3": {"bf16": 989.4e12, "fp16": 989.4e12, "fp32": 66.9e12},
    "NVIDIA H200": {"bf16": 989.4e12, "fp16": 989.4e12, "fp32": 66.9e12},
}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine(device: str) -> dict:
    """CPU model and cores, memory, GPU name and memory, software versions, commit."""
    info = {
        "cpu": _cpu_model(), "cpu_cores": os.cpu_count(), "memory_gib": _memory_gib(),
        "python": sys.version.split()[0], "platform": platform.platform(), "device": device,
        "git_commit": git_commit(),
    }
    import torch

    info["torch"] = torch.__version__
    info["threads"] = torch.get_num_threads()
    if device.startswith("cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.device(device))
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    gpu_count=torch.cuda.device_count(), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    info["environment"] = environment(device)
    return info


def peak_flops(device_name: str | None, dtype: str) -> float | None:
    """The dense peak of a known GPU for ``dtype`` (bf16 | fp16 | fp32), else None."""
    return PEAK_FLOPS.get(device_name or "", {}).get(dtype)
