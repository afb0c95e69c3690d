"""``avbench bench``: run chosen benchmarks and save their records with the machine as JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import Callable
from pathlib import Path

from avbench.bench.machine import machine
from avbench.bench.model import ModelBench, infer_throughput, train_throughput
from avbench.registry import Registry
from avbench.specs import InputKind

KINDS = ("train", "infer", "reference", "profile", "e2e", "pipeline", "landmarks", "latency", "scoring")


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
        if "reference" in kinds:
            from avbench.bench.reference import (reference_infer_throughput, reference_train_throughput,
                                                 supports_reference)

            if not supports_reference(build_for_bench(registry, name, cfg.landmark_points)):
                say(f"{name}: no reference loop (it needs a per-frame backbone and featdiff)")
                continue
            for kind, fn in (("train", reference_train_throughput), ("infer", reference_infer_throughput)):
                if kind in kinds or not {"train", "infer"} & set(kinds):
                    say(f"{name}: the reference's per-frame loop, {kind}, FP16")
                    records.append(fn(build_for_bench(registry, name, cfg.landmark_points), name, cfg, device))
    from avbench.bench.reference import add_ratios

    return add_ratios(records)


def write(records: list[dict], device: str, out_dir: Path, label: str = "") -> Path:
    """``out_dir/bench-<UTC time>[-label].json`` with the machine and every record."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(out_dir) / f"bench-{stamp}{'-' + label if label else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"created_at": dt.datetime.now(dt.UTC).isoformat(), "machine": machine(device),
               "results": records}
    path.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")
    return path


@dataclasses.dataclass(frozen=True)
class BenchRequest:
    """What ``avbench bench`` measures, with names already checked against the registry."""

    kinds: tuple[str, ...]
    methods: tuple[str, ...]
    precisions: tuple[str, ...]
    model: ModelBench                   # batch, clip length, steps, warm-up, compile
    device: str
    data: str | None = None             # pipeline, e2e, landmarks, latency: NAME:PATH
    extractors: tuple[str, ...] = ()    # landmarks
    videos: int = 48                    # landmarks: test videos to extract from
    targets: tuple[int, ...] = (16, 64, 256, 1024)  # scoring: test-set sizes
    devices: int = 1                    # e2e: data-parallel processes
    scaling: str = "strong"             # e2e: strong splits the batch over them, weak gives each one the batch
    loader_threads: tuple[int, ...] = ()  # pipeline, e2e: thread counts to measure (default: training's)
    out_dir: Path = Path("bench-results")  # profile: kernel tables and traces go here


def run_suite(registry: Registry, request: BenchRequest, say: Callable[[str], None]) -> list[dict]:
    """Every record the request asks for, in the order train/infer, pipeline, e2e, landmarks,
    latency, scoring (each a dict of the benchmark's figures and settings)."""
    kinds = set(request.kinds)
    records: list[dict] = []
    if {"train", "infer", "reference"} & kinds:
        records += model_records(registry, list(request.methods), list(request.kinds),
                                 list(request.precisions), request.model, request.device, say)
    if "profile" in kinds:
        from avbench.bench.profile import profile_training

        for m in request.methods:
            for p in request.precisions:
                say(f"{m}: profiling {request.model.steps} training steps, {p}")
                records.append(profile_training(build_for_bench(registry, m, request.model.landmark_points), m,
                                                dataclasses.replace(request.model, precision=p),
                                                request.device, request.out_dir))
    if {"pipeline", "e2e"} & kinds:
        from avbench.data.frame_cache import FrameCache
        from avbench.data.loader import ClipSource
        from avbench.data.spec import open_dataset
        from avbench.progress import progress_bar
        from avbench.training import loader_workers

        index = open_dataset(registry, request.data)
        train = index.select("train")
        with progress_bar("frame cache") as update:
            source = ClipSource.from_frames(index.root, train, FrameCache(), progress=update)
        if "pipeline" in kinds:
            from avbench.bench.pipeline import pipeline_throughput

            for workers in request.loader_threads or (0, loader_workers()):
                records.append(pipeline_throughput(source, train, request.device,
                                                   clip_length=request.model.clip_length,
                                                   batch_drivers=max(1, request.model.batch // 8),
                                                   per_driver=min(8, request.model.batch), workers=workers))
        if "e2e" in kinds:
            from avbench.bench.end_to_end import end_to_end_throughput

            per_process = request.devices if request.scaling == "weak" else 1
            for m, p, workers in itertools.product(request.methods, request.precisions,
                                                   request.loader_threads or (loader_workers(),)):
                say(f"{m}: end to end, {p}, {workers} loader threads")
                record = end_to_end_throughput(
                    build_for_bench(registry, m, 478), m, source, train,
                    dataclasses.replace(request.model, precision=p, batch=request.model.batch * per_process),
                    request.device, workers=workers, devices=request.devices)
                record.update(scaling=request.scaling, batch_per_device=record["batch"] // request.devices)
                records.append(record)
    if {"landmarks", "latency"} & kinds:
        from avbench.data.spec import open_dataset

        index = open_dataset(registry, request.data)
        test = index.select("test")
        if "landmarks" in kinds:
            from avbench.bench.landmarks import extraction_throughput

            for name in request.extractors:
                say(f"landmarks: {name} on {request.videos} videos")
                records.append(extraction_throughput(index.root, test.iloc[:request.videos],
                                                     registry.landmark_extractors.get(name), workers=None))
        if "latency" in kinds:
            from avbench.bench.latency import verification_latency

            video = index.root / test["path"].iloc[0]
            mediapipe = None
            for m in request.methods:
                landmarks = registry.methods.get(m).input == InputKind.LANDMARKS
                if landmarks and mediapipe is None:
                    mediapipe = registry.landmark_extractors.get("mediapipe").load()()
                say(f"latency: {m}")
                records.append(verification_latency(
                    build_for_bench(registry, m, 478), m, video, request.model.clip_length, request.device,
                    extractor=mediapipe if landmarks else None))
    if "scoring" in kinds:
        from avbench.bench.scoring import scoring_time

        for n in request.targets:
            say(f"scoring: {n} targets")
            records.append(scoring_time(n))
    return records


def compiled(record: dict) -> str:
    """`` compiled`` (or `` compiled (reduce-overhead)``) for a compiled measurement, else ''."""
    if not record.get("compile"):
        return ""
    mode = record.get("compile_mode") or "default"
    return " compiled" if mode == "default" else f" compiled ({mode})"


def describe(record: dict) -> str:
    """One line saying what a record measured (the ``what`` column of ``avbench bench``)."""
    kind = record["benchmark"]
    if kind == "profile":
        top = record["top"][0] if record["top"] else None
        first = f"; first: {top['name'][:60]} {top['share']:.0%}" if top else ""
        return (f"{record['method']} {record['precision']}{compiled(record)}: "
                f"{record['self_time_ms_per_step']:.1f} ms of {'kernels' if record['device'].startswith('cuda') else 'operators'} "
                f"per step{first} ({record['table']})")
    if kind.startswith("reference"):
        return (f"{record['method']}: the reference's per-frame loop, FP16, B={record['batch']} "
                f"T={record['clip_length']}")
    if kind.startswith(("model", "end_to_end")):
        ratio = f", {record['vs_reference']:.1f}x the reference" if record.get("vs_reference") else ""
        spread = (f" on {record['devices']} processes ({record.get('scaling', 'strong')} scaling, "
                  f"{record.get('batch_per_device')} clips each)" if (record.get("devices") or 1) > 1 else "")
        share = (f", {record['data_path_share']:.1%} of one batch resident"
                 if record.get("data_path_share") else "")
        return (f"{record.get('method', '')} {record.get('precision', '')} B={record.get('batch', '')} "
                f"T={record.get('clip_length', '')}{compiled(record)}{ratio}{spread}{share}")
    if kind == "data_pipeline":
        return (f"B={record.get('batch', '')} T={record.get('clip_length', '')}, "
                f"{record['loader_workers']} loader threads")
    if kind == "landmark_extraction":
        return (f"{record['extractor']}: {record['videos']} videos, {record['frames']} frames, "
                f"{record['frames_per_s']:.0f} frames/s ({record['frames_per_s_per_worker']:.0f} per worker)")
    if kind == "verification_latency":
        landmarks = "-" if record["landmarks_ms"] is None else format(record["landmarks_ms"], ".1f")
        return (f"{record['method']} T={record['clip_length']}: decode {record['decode_ms']:.1f} ms, "
                f"landmarks {landmarks} ms, embed {record['embed_ms']:.1f} ms, total {record['total_ms']:.1f} ms")
    return f"{record['targets']} targets, {record['pairs']} pairs"
