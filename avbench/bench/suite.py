"""``avbench bench``: run chosen benchmarks and save their records with the machine as JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from avbench.bench.machine import machine
from avbench.bench.model import ModelBench, infer_throughput, train_throughput
from avbench.registry import Registry
from avbench.specs import InputKind

KINDS = ("train", "infer", "e2e", "pipeline", "landmarks", "latency", "scoring")


def build_for_bench(registry: Registry, name: str, landmark_points: int):
    """A method from its paper-default config (landmark methods: MediaPipe's point count)."""
    from avbench.runner import build_method

    spec = registry.methods.get(name)
    overrides = {"extractor": "mediapipe", "n_points": landmark_points} \
        if spec.input == InputKind.LANDMARKS else {}
    return build_method(spec, overrides)


def model_records(registry: Registry, methods: list[str], kinds: list[str], precisions: list[str],
                  cfg: ModelBench, device: str, say: Callable[[str], None]) -> list[dict]:
    records = []
    for name in methods:
        for precision in precisions:
            run = dataclasses.replace(cfg, precision=precision)
            for kind in ("train", "infer"):
                if kind not in kinds:
                    continue
                say(f"{name}: {kind}, {precision}{', compiled' if run.compile else ''}")
                method = build_for_bench(registry, name, run.landmark_points)
                fn = train_throughput if kind == "train" else infer_throughput
                records.append(fn(method, name, run, device))
    return records


def write(records: list[dict], device: str, out_dir: Path, label: str = "") -> Path:
    """``out_dir/bench-<UTC time>[-label].json`` with the machine and every record."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(out_dir) / f"bench-{stamp}{'-' + label if label else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"created_at": dt.datetime.now(dt.UTC).isoformat(), "machine": machine(device),
               "results": records}
    path.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")
    return path
