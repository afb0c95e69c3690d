"""`avbench bench`: throughput and latency measurements."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from avbench.cli.common import (
    State,
    app,
    err,
    names,
    out,
)
from avbench.progress import full_table


@app.command()
def bench(
    method: Annotated[str, typer.Option("--method", "-m", help="Method(s) for train/infer: a name, a comma-separated list or 'all'.")] = "f5c_featdiff",
    what: Annotated[str, typer.Option(help="Comma-separated: train, infer, reference (the F5C paper's per-frame training loop, for the speed-up ratio), profile (torch.profiler kernel table and trace of training steps), e2e, pipeline, landmarks, latency, scoring.")] = "train,infer,reference",
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    precision: Annotated[str, typer.Option(help="Comma-separated: 32-true, 16-mixed, bf16-mixed.")] = "16-mixed",
    compile_: Annotated[bool, typer.Option("--compile", help="torch.compile the model.")] = False,
    compile_mode: Annotated[str, typer.Option(help="With --compile: default | reduce-overhead (CUDA graphs) | max-autotune | max-autotune-no-cudagraphs.")] = "default",
    batch: Annotated[int, typer.Option(help="Clips per batch (paper: 128).")] = 128,
    clip_length: Annotated[int, typer.Option(help="Frames per clip T (paper: 64).")] = 64,
    steps: Annotated[int, typer.Option(help="Timed steps (after warm-up).")] = 20,
    warmup: Annotated[int, typer.Option(help="Untimed warm-up steps.")] = 5,
    data: Annotated[Optional[str], typer.Option(help="pipeline: NAME:PATH; default: the embedded synthetic dataset.")] = None,
    targets: Annotated[str, typer.Option(help="scoring: test-set sizes in targets, comma-separated.")] = "16,64,256,1024",
    extractor: Annotated[str, typer.Option(help="landmarks: extractor(s), comma-separated or 'all'.")] = "mediapipe",
    videos: Annotated[int, typer.Option(help="landmarks: test videos to extract from.")] = 48,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the JSON results.")] = Path("bench-results"),
    devices: Annotated[int, typer.Option(help="e2e: data-parallel processes (the batch is split over them).")] = 1,
    loader_threads: Annotated[Optional[str], typer.Option(help="pipeline, e2e: loader thread counts to measure, comma-separated (default: pipeline 0 and the training's count, e2e the training's count).")] = None,
    scaling: Annotated[str, typer.Option(help="e2e with --devices N: strong (--batch is the global batch, split over the N processes) | weak (every process gets --batch: global batch N x --batch).")] = "strong",
) -> None:
    """Measure training/inference clips/s, data-pipeline clips/s and scoring time; save JSON."""
    from avbench.bench.model import ModelBench
    from avbench.bench.suite import KINDS, BenchRequest, describe, run_suite, write
    from avbench.errors import UsageError
    from avbench.launch import process_rank
    from avbench.runner import resolve_device

    reg = State.registry()
    kinds = names(what, list(KINDS), "--what")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise UsageError(f"--what {','.join(bad)}: choose from {', '.join(KINDS)}")
    if devices > 1 and kinds != ["e2e"]:
        raise UsageError(f"--devices {devices} measures data-parallel training: use it with --what e2e alone")
    from avbench.training import COMPILE_MODES

    if compile_mode not in COMPILE_MODES:
        raise UsageError(f"--compile-mode {compile_mode!r}: choose one of {', '.join(COMPILE_MODES)}")
    if scaling not in ("strong", "weak"):
        raise UsageError(f"--scaling {scaling!r}: choose strong or weak")
    if process_rank() != 0:  # a data-parallel worker: rank 0 reports
        out.quiet = err.quiet = True
    methods = names(method, [s.name for s in reg.methods], "--method")
    for m in methods:
        reg.methods.get(m)  # an unknown name: the registry's "did you mean"
    extractors = (names(extractor, [s.name for s in reg.landmark_extractors if s.source != "dataset"],
                        "--extractor") if "landmarks" in kinds else [])
    request = BenchRequest(
        kinds=tuple(kinds), methods=tuple(methods),
        precisions=tuple(names(precision, ["32-true", "16-mixed", "bf16-mixed"], "--precision")),
        model=ModelBench(batch=batch, clip_length=clip_length, steps=steps, warmup=warmup, compile=compile_,
                         compile_mode=compile_mode),
        device=resolve_device(device), data=data, extractors=tuple(extractors), videos=videos,
        targets=tuple(int(x) for x in targets.split(",")) if "scoring" in kinds else (), devices=devices,
        scaling=scaling, out_dir=out_dir,
        loader_threads=tuple(_counts(loader_threads)) if loader_threads else ())
    records = run_suite(reg, request, lambda msg: err.print(msg, highlight=False))
    if process_rank() != 0:
        return
    path = write(records, request.device, out_dir)
    table = full_table("benchmark", "what", "clips/s", "step ms", "TFLOP/s", "MFU", "peak GiB", "seconds",
                  title=f"avbench bench on {request.device}")

    def fmt(value, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for r in records:
        table.add_row(r["benchmark"], describe(r), fmt(r.get("clips_per_s"), ".1f"), fmt(r.get("step_ms"), ".1f"),
                      fmt(r.get("achieved_tflops"), ".2f"), fmt(r.get("mfu"), ".1%"),
                      fmt(r.get("peak_memory_gib"), ".2f"), fmt(r.get("seconds"), ".3f"))
    out.print(table)
    out.print(f"results: {path}")


def _counts(text: str) -> list[int]:
    """``--loader-threads 2,4,8`` as numbers, each at least 0."""
    from avbench.errors import UsageError

    try:
        counts = [int(x) for x in text.split(",")]
    except ValueError:
        raise UsageError(f"--loader-threads {text}: give whole numbers, comma-separated, e.g. 4,8") from None
    if any(c < 0 for c in counts):
        raise UsageError(f"--loader-threads {text}: thread counts must be 0 or more")
    return counts
