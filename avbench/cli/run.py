"""`avbench run`: train and evaluate a method under a protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from avbench.cli.common import (
    State,
    app,
    err,
    landmark_table,
    names,
    out,
    row_summary,
)
from avbench.progress import full_table


@app.command()
def run(
    method: Annotated[str, typer.Option("--method", "-m", help="Method name (avbench list methods); "
                                        "a comma-separated list or 'all' runs each in turn.")],
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol name (avbench list protocols); "
                                          "a comma-separated list or 'all' runs each in turn.")],
    data: Annotated[Optional[str], typer.Option(help="NAME:PATH; default: the embedded synthetic dataset.")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    profile: Annotated[str, typer.Option(
        help="auto (standard on a GPU, quick on a CPU) | standard (converges on one GPU in minutes) | "
             "paper (Table I) | quick (CPU demonstration, too short to converge) | smoke "
             "(end-to-end check)")] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    seeds: Annotated[Optional[str], typer.Option(
        help="Comma-separated seeds, e.g. 0,1,2: every cell runs once per seed and a final table "
             "gives mean ± std over them (replaces --seed).")] = None,
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
    force: Annotated[bool, typer.Option(help="Recompute cells already in the results database.")] = False,
    extractor: Annotated[Optional[str], typer.Option(
        help="Landmark methods: landmark extractor (avbench list extractors); default: the method's.")] = None,
    devices: Annotated[int, typer.Option(
        help="Data-parallel processes per training, one per GPU (Lightning Fabric DDP; also under "
             "torchrun).  Same results as 1 for the same seed.")] = 1,
    scaling: Annotated[str, typer.Option(
        help="With --devices N: strong (the profile's batch split over N processes; the same "
             "training as one process) | weak (every process trains on the profile's batch: N times "
             "the drivers per batch, learning rate times sqrt(N); another training, stored as such).")] = "strong",
    jobs: Annotated[int, typer.Option(
        help="Independent protocol cells run at once, each in its own process on its own GPU(s); "
             "0: as many as the GPUs allow.")] = 1,
    compile_: Annotated[bool, typer.Option("--compile", help="torch.compile the method (GPU speed).")] = False,
    precision: Annotated[Optional[str], typer.Option(
        help="32-true | 16-mixed | bf16-mixed | 64-true; default: the profile's (mixed precision "
             "applies on GPUs only).")] = None,
    cell: Annotated[Optional[list[str]], typer.Option(
        help="Only this protocol cell (repeatable); default: all cells.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", metavar="KEY=VALUE",
        help="Method config override, e.g. --set dropout=0 (repeatable; stored with the results).")] = None,
    train: Annotated[Optional[list[str]], typer.Option(
        "--train", metavar="KEY=VALUE",
        help="Training schedule override of the profile, e.g. --train epochs=20 (repeatable; stored "
             "with the results).")] = None,
    logger: Annotated[str, typer.Option(
        help="Also log each epoch through a Lightning Fabric logger into the model's folder "
             "(logs/): none | csv | tensorboard (pip install 'avbench[tensorboard]'). history.csv "
             "is written either way.")] = "none",
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print only a JSON list of the stored rows' summaries on stdout (progress "
                       "stays on stderr).")] = False,
) -> None:
    """Train and evaluate METHOD under PROTOCOL on a dataset, and store the results."""
    from avbench.errors import UsageError
    from avbench.launch import process_rank
    from avbench.runner import RunRequest, plan_run, refuse_training_under

    if process_rank() != 0:  # a data-parallel worker: rank 0 reports
        out.quiet = err.quiet = True
    elif as_json:
        out.quiet = True  # tables stay off stdout; the JSON below is all a script reads

    reg = State.registry()
    methods = names(method, [s.name for s in reg.methods], "--method")
    protocols = names(protocol, [s.name for s in reg.protocols], "--protocol")
    from avbench.specs import InputKind

    for m in methods:  # unknown names fail now, before any dataset is opened
        reg.methods.get(m)
    for p in protocols:
        refuse_training_under(reg.protocols.get(p))

    def extractor_for(m: str) -> str | None:  # in a list, --extractor is for its landmark methods
        if len(methods) > 1 and reg.methods.get(m).input != InputKind.LANDMARKS:
            return None
        return extractor

    seed_list = _seed_list(seeds) if seeds is not None else [seed]
    if devices > 1 and len(methods) * len(protocols) * len(seed_list) > 1:
        raise UsageError(f"--devices {devices} trains one method under one protocol with one seed per "
                         "command (the processes re-run the command); run each separately")
    requests = [RunRequest(method=m, protocol=p, data=data, device=device, profile=profile, seed=s,
                           extractor=extractor_for(m), devices=devices, scaling=scaling, compile=compile_,
                           cells=tuple(cell or ()), method_overrides=_overrides(set_ or [], "--set"),
                           training_overrides=_overrides(train or [], "--train"), precision=precision,
                           logger=logger)
                for m in methods for p in protocols for s in seed_list]
    err.print("resolving method, protocol and data ...")
    plans = [plan_run(reg, r) for r in requests]  # every name checked before the first training
    rows: dict[tuple[str, str], list] = {}
    try:
        for plan in plans:
            if jobs != 1 and len(plan.cells) > 1:
                _run_cells_in_parallel(plan, db, force, jobs)
                got = _run_plan(plan, db, False, note="cells computed by parallel jobs")
            else:
                got = _run_plan(plan, db, force)
            rows.setdefault((plan.method.name, plan.protocol.name), []).extend(got)
    except KeyboardInterrupt:
        from avbench.errors import Interrupted
        from avbench.results import default_db_path, runs_dir_of

        runs = runs_dir_of(db or default_db_path())
        raise Interrupted(f"interrupted. Cells already finished are stored; a cell in training keeps "
                          f"its last finished epoch in {runs}/.../last.ckpt. Run the same command "
                          "again to resume from there.") from None
    if as_json and process_rank() == 0:
        import json

        out.quiet = False
        out.print_json(json.dumps([row_summary(r) for group in rows.values() for r in group]))
    if len(seed_list) > 1 and process_rank() == 0 and not as_json:
        from avbench.report import seed_table

        for (m, p), group in rows.items():
            table = seed_table(group)
            grid = full_table("train \\ test" if p == "cross_gen" else "cell", *map(str, table.columns),
                         title=f"{m} / {p}: mean per-target AUC, mean ± std over seeds "
                               f"{', '.join(map(str, seed_list))}")
            for name, values in table.iterrows():
                grid.add_row(str(name), *[str(v) for v in values])
            out.print(grid)
            print_convergence_note(group[0].profile)
    leave_process_group()


def leave_process_group() -> None:
    """End a finished data-parallel process without the interpreter's exit-time teardown.

    gloo's transport threads can still be joinable when the C++ destructors run at exit,
    which aborts a process whose work is done ("terminate called without an active
    exception", SIGABRT: 4 of 40 two-process gloo runs on 2 busy cores; 0 of 60 leaving
    this way).  Under Fabric's launcher that is worse than an odd exit code: its observer
    kills every process once one child exits non-zero, so a worker finishing first could
    take down rank 0 while it still evaluates and stores.  A process that joined a group
    therefore destroys it, flushes its output and leaves with ``os._exit(0)``; every result
    is committed (SQLite) and every file closed by then.
    """
    import os
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return
    torch.distributed.destroy_process_group()
    for stream in (out.file, err.file, sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


def print_convergence_note(profile: str) -> None:
    from avbench.config import convergence_note

    note = convergence_note(profile)
    if note:
        out.print(note, markup=False)


def _seed_list(text: str) -> list[int]:
    from avbench.errors import UsageError

    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--seeds {text!r}: expected comma-separated integers, e.g. 0,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds {text!r}: give distinct integers, e.g. 0,1,2")
    return seeds


def _overrides(items: list[str], option: str) -> dict:
    """``KEY=VALUE`` strings as config overrides; values are Python literals where they parse
    (``0``, ``0.5``, ``True``, ``(4, 4, 1)``), else strings."""
    import ast

    from avbench.errors import UsageError

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            example = "dropout=0" if option == "--set" else "epochs=20"
            raise UsageError(f"{option} {item!r}: expected KEY=VALUE, e.g. {option} {example}")
        try:
            overrides[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key.strip()] = value
    return overrides


def _run_cells_in_parallel(plan, db: Path | None, force: bool, jobs: int) -> None:
    """Fill the caches once here, then one ``avbench run --cell`` process per cell."""
    from avbench.parallel import cell_jobs, run_jobs, slots
    from avbench.progress import progress_bar
    from avbench.results import default_db_path
    from avbench.runner import clip_source, resolve_device

    gpus = 0
    if resolve_device(plan.request.device) == "cuda":
        import torch

        gpus = torch.cuda.device_count()
    jobs = jobs or max(1, gpus // plan.request.devices)
    jobs = min(jobs, len(plan.cells))
    db = Path(db or default_db_path()).resolve()
    work = cell_jobs(plan, db, force, State.extra_plugins, db.parent / "logs")
    envs = slots(jobs, plan.request.devices, gpus)
    with progress_bar(f"{plan.method.name} / {plan.protocol.name}: inputs") as update:
        generated = plan.index.videos[~plan.index.videos["is_original"]]  # what cells train and test on
        clip_source(plan, generated, progress=lambda stage, d, n: update(d, n, stage))
    out.print(f"{len(work)} cells as {jobs} parallel jobs"
              + (f" ({plan.request.devices} GPU(s) each)" if gpus else "") + f"; logs in {work[0].log.parent}")
    with progress_bar(f"{plan.method.name} / {plan.protocol.name}: cells") as update:
        run_jobs(work, envs, progress=lambda d, n, msg: update(d, n, msg))


def _run_plan(plan, db: Path | None, force: bool, note: str = "") -> list:
    """Run one plan and print its table; returns its result rows (none on data-parallel workers)."""
    from avbench.launch import process_rank
    from avbench.progress import progress_bar
    from avbench.report import protocol_table
    from avbench.results import ResultsStore, default_db_path
    from avbench.runner import execute, preflight

    out.print(Text.assemble("method ", (plan.method.name, "bold"),
                            f" ({plan.method.plugin}), protocol ",
                            (plan.protocol.name, "bold"), f" v{plan.protocol.version}, data "
                            f"{plan.index.dataset} ({len(plan.index.videos)} videos, fingerprint "
                            f"{plan.index.fingerprint})"))
    skipped = plan.index.skip_counts()
    if skipped:  # the skip policy: every command that indexes says what it left out
        out.print(f"  skipped files: {sum(skipped.values())} ("
                  + ", ".join(f"{reason} {n}" for reason, n in skipped.items())
                  + "; avbench data check lists them)")
    if plan.extractor is not None:
        out.print(f"  landmarks: extractor {plan.extractor.name} ({plan.method_overrides['n_points']} points)")
    for cell in plan.cells:
        evals = ", ".join(e.name for e in cell.evals)
        out.print(f"  cell {cell.name}: train on {', '.join(cell.train_generators)}, "
                  f"T={plan.clip_length(cell)}, evaluate on {evals}")
    report = preflight(plan)
    out.print(f"pre-flight ok: {report.parameters:,} parameters, embedding dim {report.embedding_dim}, "
              f"clip {report.clip_shape} from {report.video}")
    store = ResultsStore(db or default_db_path())
    with progress_bar(f"{plan.method.name} / {plan.protocol.name}") as update:
        outcomes = execute(plan, store=store, force=force,
                           progress=lambda stage, done, total, line=None: update(done, total, stage, line=line))
    if process_rank() != 0:
        return []  # a data-parallel worker: rank 0 evaluates, stores and reports
    rows = [r for o in outcomes for r in o.rows]
    reused = sum(o.reused for o in outcomes)
    table = protocol_table(rows)
    if note:
        reused_note = f" ({note})"
    else:
        reused_note = f" ({reused} cell(s) reused; --force recomputes)" if reused else ""
    title = (f"{plan.protocol.name}: mean per-target AUC [95% CI], {plan.index.dataset}, "
             f"seed {plan.request.seed}" + reused_note)
    grid = full_table("train \\ test" if plan.protocol.name == "cross_gen" else "cell",
                 *map(str, table.columns), title=title)
    for name, values in table.iterrows():
        grid.add_row(str(name), *[str(v) for v in values])
    out.print(grid)
    resumed = {r.cell: r.metrics.get("resumed_after_epoch") for r in rows if r.metrics.get("resumed_after_epoch")}
    for name, epoch in resumed.items():
        out.print(f"  cell {name}: resumed after epoch {epoch}, saved by an interrupted run")
    skipped = {r.cell: r.metrics.get("skipped_steps", 0) for r in rows}
    if any(skipped.values()):
        out.print("  skipped optimiser steps (non-finite loss or gradients, e.g. FP16 overflow): "
                  + ", ".join(f"{cell} {n}" for cell, n in skipped.items()))
    print_convergence_note(plan.request.profile)
    landmarks = next((r.metrics["landmarks"] for r in rows if "landmarks" in r.metrics), None)
    if landmarks:
        out.print(landmark_table(landmarks))
    out.print(f"results: {store.path}")
    return rows
