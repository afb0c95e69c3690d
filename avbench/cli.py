"""The ``avbench`` command line (Typer + Rich).

Every user-facing error is an :class:`~avbench.errors.AvbenchError` (or an unknown
name) printed as one message on stderr with its exit code: 2 for usage errors
and unknown names, 1 for data errors, 3 for parts not in this build.
"""

from __future__ import annotations

import warnings
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from avbench import __version__
from avbench.errors import AvbenchError
from avbench.progress import plain_console
from avbench.registry import Registry, RegistryError, UnknownNameError, load_registry

_python_showwarning = warnings.showwarning

app = typer.Typer(help="avbench: benchmark harness for avatar fingerprinting (who drives this avatar?)",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Inspect datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")
leaderboard_app = typer.Typer(help="Publish leaderboards from the results database.", no_args_is_help=True)
app.add_typer(leaderboard_app, name="leaderboard")
results_app = typer.Typer(help="Work with results databases.", no_args_is_help=True)
app.add_typer(results_app, name="results")

# User strings (paths, file names, identities, method and config values, error messages
# quoting them) are printed as they are: markup is off on both consoles (see plain_console),
# and the few styled words are Text objects.
out = plain_console()
err = plain_console(stderr=True)


class _State:
    extra_plugins: list[str] = []
    _registry: Registry | None = None

    @classmethod
    def registry(cls) -> Registry:
        if cls._registry is None:
            cls._registry = load_registry(cls.extra_plugins)
            for failure in cls._registry.failures:
                err.print(Text.assemble(("warning:", "yellow"), f" {failure}"), highlight=False)
        return cls._registry


def _fail(message: str, code: int) -> typer.Exit:
    err.print(Text.assemble(("error:", "red"), f" {message}"), highlight=False)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out.print(f"avbench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    plugin: Annotated[Optional[list[str]], typer.Option("--plugin", "-p", metavar="MODULE",
                      help="Also register this importable module as a plugin (repeatable).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                       help="Print the version and exit.")] = False,
) -> None:
    _State.extra_plugins = list(plugin or ())
    _State._registry = None
    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """avbench's own warnings (e.g. a resume under another thread count) as one plain
    ``warning:`` line; other libraries' warnings keep Python's format."""
    if category.__module__.startswith("avbench"):
        err.print(Text.assemble(("warning: ", "yellow"), str(message)))
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


class ListKind(StrEnum):
    methods = "methods"
    protocols = "protocols"
    datasets = "datasets"
    extractors = "extractors"
    plugins = "plugins"


@app.command("list")
def list_(kind: Annotated[ListKind, typer.Argument(help="What to list.")]) -> None:
    """List registered methods, protocols, datasets, landmark extractors or plugins."""
    reg = _State.registry()
    if kind is ListKind.plugins:
        table = Table("plugin", "module", "distribution", "version", "status")
        for p in reg.plugins.loaded:
            table.add_row(p.name, p.module, p.distribution, p.version, "loaded")
        for f in reg.failures:
            table.add_row(f.plugin, f.source, "", "",
                          Text(f"failed: {type(f.cause).__name__}", style="red"))
        out.print(table)
        return
    table = Table("name", "summary", "details", "plugin", title=kind.value)
    if kind is ListKind.methods:
        rows = [(s.name, s.summary, f"input: {s.input.value}", s.plugin) for s in reg.methods]
    elif kind is ListKind.protocols:
        rows = [(s.name, s.summary, f"v{s.version}, main score: {s.main_score}", s.plugin)
                for s in reg.protocols]
    elif kind is ListKind.datasets:
        rows = [(s.name, s.summary, f"--data {s.name}:PATH  ({s.layout})", s.plugin)
                for s in reg.datasets]
    else:
        rows = [(s.name, s.summary, (f"{s.n_points} points" if s.n_points else "points as shipped") + f", v{s.version}", s.plugin)
                for s in reg.landmark_extractors]
    for row in rows:
        table.add_row(*row)
    out.print(table if rows else f"no {kind.value} registered")


def _landmark_table(summary: dict) -> Table:
    """Failure to acquire and extraction speed per generator, from a result's landmark summary."""
    table = Table("generator", "videos", "frames", "no face", "failure rate", "extracted frames/s",
                  "skipped videos", title=f"landmarks: {summary['extractor']} (frames without a face "
                  f"filled by policy {summary['fill_policy']!r}; frames/s of this run's extraction, - if all cached)")
    for gen, r in summary["per_generator"].items():
        fps, rate = r["extracted_fps"], r["failure_rate"]
        table.add_row(gen, str(r["videos"]), str(r["frames"]), str(r["missing"]),
                      "-" if rate is None else f"{rate:.2%}", "-" if fps is None else f"{fps:.0f}",
                      str(r["skipped_videos"]))
    return table


def _frame_table(df, title: str) -> Table:
    table = Table(*[str(c) for c in df.columns], title=title)
    for row in df.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    return table


@data_app.command("index")
def data_index(
    spec: Annotated[str, typer.Argument(help="NAME:PATH, e.g. nvfair:/data/NVFAIR-v2-release")],
    strict: Annotated[bool, typer.Option(help="Stop at the first file that cannot be indexed.")] = False,
    refresh: Annotated[bool, typer.Option(help="Rebuild instead of using the cached index.")] = False,
) -> None:
    """Index a dataset and print identities per split and videos per generator / source / kind."""
    from avbench.data.index import IndexOptions
    from avbench.data.spec import open_dataset
    from avbench.data.summary import identity_counts, skip_counts, video_counts

    err.print(f"indexing {spec} ...")  # no spinner: making the synthetic default shows a bar
    index = open_dataset(_State.registry(), spec, IndexOptions(strict=strict, refresh=refresh))
    out.print(Text.assemble((index.dataset, "bold"),
                            f" at {index.root}  (fingerprint {index.fingerprint})"))
    for note in index.notes:
        out.print(f"  {note}")
    out.print(_frame_table(identity_counts(index), "identities per split"))
    out.print(_frame_table(video_counts(index, "generator"), "videos per generator"))
    out.print(_frame_table(video_counts(index, "source"), "videos per source"))
    out.print(_frame_table(video_counts(index, "split"), "videos per split"))
    skipped = skip_counts(index)
    if len(skipped):
        out.print(_frame_table(skipped, f"skipped files ({len(index.skipped)}; see the skip policy "
                                        "in the README)"))
    else:
        out.print("skipped files: none")


@data_app.command("check")
def data_check(
    spec: Annotated[Optional[str], typer.Argument(help="NAME:PATH; default: the embedded synthetic dataset.")] = None,
    clip_length: Annotated[int, typer.Option(help="T: videos with fewer frames are reported.")] = 64,
    workers: Annotated[Optional[int], typer.Option(help="Decoding processes (default: all cores).")] = None,
    landmarks: Annotated[Optional[str], typer.Option(
        help="Also find videos and frames without a face with this extractor (avbench list "
             "extractors); the landmarks are cached for later runs.")] = None,
) -> None:
    """Report everything wrong with a dataset in one table (exit 1 if anything is)."""
    from avbench.data.check import check_dataset
    from avbench.data.spec import open_dataset
    from avbench.paths import default_cache_dir
    from avbench.progress import progress_bar

    reg = _State.registry()
    extractor = reg.landmark_extractors.get(landmarks) if landmarks else None
    with progress_bar("decoding every video" + (f", then landmarks ({landmarks})" if landmarks else "")) as update:
        report = check_dataset(lambda: open_dataset(reg, spec), default_cache_dir(), clip_length,
                               workers, progress=update, extractor=extractor)
    table = Table("check", "count", "first example", "what to do",
                  title=f"data check: {report.dataset} at {report.root}: {report.usable} of "
                        f"{report.videos} generated videos usable")
    for f in report.findings:
        table.add_row(f.check, str(f.count), f.example, f.advice)
    if not report.findings:
        table.add_row("all checks", "0", "-", "nothing to do")
    out.print(table)
    if report.problems:
        raise typer.Exit(1)


@data_app.command("prepare")
def data_prepare(
    spec: Annotated[Optional[str], typer.Argument(help="NAME:PATH; default: the embedded synthetic dataset.")] = None,
    landmarks: Annotated[Optional[str], typer.Option(
        help="Also extract landmarks with this extractor (avbench list extractors).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Processes (default: all cores; dask: local workers).")] = None,
    engine: Annotated[str, typer.Option(help="local (this machine) | dask (a dask.distributed cluster)")] = "local",
    scheduler: Annotated[Optional[str], typer.Option(
        help="dask: scheduler address, e.g. tcp://head:8786 (default: a local Dask cluster).")] = None,
) -> None:
    """Decode every generated video into the frame cache (and extract landmarks) before training."""
    from avbench.data.prepare import prepare_frames
    from avbench.data.spec import open_dataset
    from avbench.paths import default_cache_dir
    from avbench.progress import progress_bar

    reg = _State.registry()
    extractor = reg.landmark_extractors.get(landmarks) if landmarks else None
    index = open_dataset(reg, spec)
    videos = index.videos[~index.videos["is_original"]]
    cache = default_cache_dir()
    with progress_bar(f"frames ({engine})") as update:
        report = prepare_frames(index.root, videos, cache, engine, workers, scheduler, progress=update)
    rate = f"{report.videos_per_s:.1f}" if report.videos_per_s else "-"
    table = Table("videos", "decoded now", "from cache", "failed", "frames", "seconds", "videos/s",
                  title=f"frame cache of {index.dataset} ({cache})")
    table.add_row(str(report.videos), str(report.decoded), str(report.cached), str(len(report.failed)),
                  str(report.frames), f"{report.seconds:.1f}", rate)
    out.print(table)
    for path, reason in report.failed:
        out.print(Text.assemble("  ", ("failed:", "red"), f" {path}: {reason}"))
    if extractor is not None:
        from avbench.landmarks.extract import extract_landmarks

        ok = videos[~videos["path"].isin({p for p, _ in report.failed})]
        with progress_bar(f"landmarks ({extractor.name}, {engine})") as update:
            _, lm_report = extract_landmarks(index.root, ok, extractor, cache, workers=workers,
                                             progress=update, engine=engine, scheduler=scheduler)
        out.print(_landmark_table(lm_report.summary()))
    if report.failed:
        raise typer.Exit(1)


@data_app.command("synth")
def data_synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write (must not exist or be empty).")],
    identities: Annotated[Optional[int], typer.Option(
        help="Number of identities (split like NVFAIR); default: the embedded default dataset's.")] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same frames.")] = 0,
    layout: Annotated[str, typer.Option(help="nvfair | avaprintdb")] = "nvfair",
    preview: Annotated[bool, typer.Option(help="Also write preview.png, a contact sheet.")] = False,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).")] = None,
) -> None:
    """Write a synthetic talking-head dataset in a real dataset layout."""
    import time

    from avbench.errors import UsageError
    from avbench.progress import progress_bar
    from avbench.synth.dataset import LAYOUTS, SynthConfig, synthesize

    if layout not in LAYOUTS:
        raise UsageError(f"--layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
    config = SynthConfig(seed=seed, layout=layout) if identities is None else \
        SynthConfig(identities=identities, seed=seed, layout=layout)
    identities = config.identities
    start = time.perf_counter()
    try:
        with progress_bar(f"synthesising {identities} identities") as update:
            synthesize(config, out_dir, workers=workers, progress=update)
    except (FileExistsError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    out.print(f"wrote {out_dir} in {time.perf_counter() - start:.1f} s")
    if preview:
        from avbench.synth.preview import contact_sheet

        out.print(f"contact sheet: {contact_sheet(config, out_dir / 'preview.png')}")


def _names(given: str, choices: list[str], option: str) -> list[str]:
    """``--method a,b`` / ``--method all`` as a list of names (each checked by the registry)."""
    names = [n.strip() for n in given.split(",") if n.strip()]
    if not names:
        from avbench.errors import UsageError

        raise UsageError(f"{option} is empty; give a name, a comma-separated list, or 'all'")
    return list(choices) if names == ["all"] else names


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
) -> None:
    """Train and evaluate METHOD under PROTOCOL on a dataset, and store the results."""
    from avbench.launch import process_rank
    from avbench.errors import UsageError
    from avbench.runner import RunRequest, plan_run

    if process_rank() != 0:  # a data-parallel worker: rank 0 reports
        out.quiet = err.quiet = True

    reg = _State.registry()
    methods = _names(method, [s.name for s in reg.methods], "--method")
    protocols = _names(protocol, [s.name for s in reg.protocols], "--protocol")
    from avbench.specs import InputKind

    for m in methods:  # unknown names fail now, before any dataset is opened
        reg.methods.get(m)
    for p in protocols:
        reg.protocols.get(p)

    def extractor_for(m: str) -> str | None:  # in a list, --extractor is for its landmark methods
        if len(methods) > 1 and reg.methods.get(m).input != InputKind.LANDMARKS:
            return None
        return extractor

    seed_list = _seed_list(seeds) if seeds is not None else [seed]
    if devices > 1 and len(methods) * len(protocols) * len(seed_list) > 1:
        raise UsageError(f"--devices {devices} trains one method under one protocol with one seed per "
                         "command (the processes re-run the command); run each separately")
    requests = [RunRequest(method=m, protocol=p, data=data, device=device, profile=profile, seed=s,
                           extractor=extractor_for(m), devices=devices, compile=compile_,
                           cells=tuple(cell or ()), method_overrides=_overrides(set_ or [], "--set"),
                           training_overrides=_overrides(train or [], "--train"), precision=precision)
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
    if len(seed_list) > 1 and process_rank() == 0:
        from avbench.report import seed_table

        for (m, p), group in rows.items():
            table = seed_table(group)
            grid = Table("train \\ test" if p == "cross_gen" else "cell", *map(str, table.columns),
                         title=f"{m} / {p}: mean per-target AUC, mean ± std over seeds "
                               f"{', '.join(map(str, seed_list))}")
            for name, values in table.iterrows():
                grid.add_row(str(name), *[str(v) for v in values])
            out.print(grid)
            _print_convergence_note(group[0].profile)
    _leave_process_group()


def _leave_process_group() -> None:
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


def _print_convergence_note(profile: str) -> None:
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
    work = cell_jobs(plan, db, force, _State.extra_plugins, db.parent / "logs")
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
                           progress=lambda stage, done, total: update(done, total, stage))
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
    grid = Table("train \\ test" if plan.protocol.name == "cross_gen" else "cell",
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
    _print_convergence_note(plan.request.profile)
    landmarks = next((r.metrics["landmarks"] for r in rows if "landmarks" in r.metrics), None)
    if landmarks:
        out.print(_landmark_table(landmarks))
    out.print(f"results: {store.path}")
    return rows


@leaderboard_app.command("publish")
def leaderboard_publish(
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder of the published boards, one sub-folder per dataset.")] = Path("leaderboards"),
    dataset: Annotated[Optional[list[str]], typer.Option(help="Only this dataset's board (repeatable).")] = None,
    against: Annotated[str, typer.Option(help="Method the comparison table measures every other method against.")] = "f5c_featdiff",
    replace: Annotated[bool, typer.Option(help="Overwrite boards in --out that show results this database lacks.")] = False,
    include_quick: Annotated[bool, typer.Option("--include-quick", help="Also publish rows of the quick profile (too short to converge), labelled \"not converged (quick profile)\". Smoke rows are never published.")] = False,
) -> None:
    """Render each dataset's board (HTML, Markdown, JSON, CSV, plots) from stored results only."""
    from avbench.errors import UsageError
    from avbench.leaderboard.publish import publish
    from avbench.results import ResultsStore, default_db_path

    path = db or default_db_path()
    if not Path(path).is_file():
        raise UsageError(f"--db {path}: no results database there; run `avbench run` first or "
                         "point --db at one")
    written = publish(ResultsStore(path), out_dir, dataset, against, replace,
                      progress=lambda msg: err.print(msg, highlight=False, markup=False, soft_wrap=True),
                      include_quick=include_quick)
    for folder in written:
        out.print(f"published {folder / 'index.html'}  ({folder / 'README.md'}, results.json, results.csv)")


@results_app.command("merge")
def results_merge(
    sources: Annotated[list[Path], typer.Argument(help="Results databases to copy rows from (their runs folders beside them).")],
    db: Annotated[Optional[Path], typer.Option(help="Destination database (default ./avbench-results/results.sqlite); made if missing.")] = None,
) -> None:
    """Copy the rows the destination lacks (by run key), with their score files and models,
    from other results databases: one portable folder from a sweep measured in parts."""
    from avbench.merge import merge_results
    from avbench.results import default_db_path

    dest = db or default_db_path()
    report = merge_results(list(sources), dest)
    for source in sources:
        out.print(f"{source}: {report.added[str(source)]} rows added, "
                  f"{report.already_present[str(source)]} already present", soft_wrap=True)
    out.print(f"{report.models_copied} model folders copied into {Path(dest).parent}", soft_wrap=True)
    if report.models_missing:
        out.print(f"{len(report.models_missing)} models are not in their source folders (rows kept; "
                  "copy those model folders beside the database to evaluate them):", soft_wrap=True)
        for path in report.models_missing:
            out.print(f"  {path}", soft_wrap=True)


@results_app.command("halve-models")
def results_halve_models(
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
) -> None:
    """Store every model of a results folder with float16 weights (half the bytes), for
    shipping it; loading casts them back. The sidecars record it."""
    from avbench.checkpoints import store_in_half_precision
    from avbench.errors import UsageError
    from avbench.results import ResultsStore, default_db_path

    path = db or default_db_path()
    if not Path(path).is_file():
        raise UsageError(f"--db {path}: no results database there")
    store = ResultsStore(path)
    root = store.path.parent.resolve()
    before = after = count = 0
    for stored in sorted({r.checkpoint for r in store.rows() if r.checkpoint}):
        file = store.resolve(stored)
        if not file.is_file() or not file.resolve().is_relative_to(root):
            out.print(f"skipped {stored}: not a model file inside {root}", soft_wrap=True)
            continue
        old, new = store_in_half_precision(file)
        before, after, count = before + old, after + new, count + 1
        out.print(f"{stored}: {old / 1e6:.2f} MB -> {new / 1e6:.2f} MB", soft_wrap=True)
    out.print(f"{count} models: {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB", soft_wrap=True)


@app.command()
def compare(
    method_a: Annotated[str, typer.Argument(metavar="A", help="Method whose advantage is measured.")],
    method_b: Annotated[str, typer.Argument(metavar="B", help="Method it is compared with, or 'reported' (A's published figures).")],
    protocol: Annotated[Optional[str], typer.Option(help="Only this protocol's evaluations.")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="Only this dataset (default: every dataset with both).")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Only results of this profile (when a method has several).")] = None,
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite).")] = None,
) -> None:
    """A minus B in mean per-target AUC, with a paired bootstrap CI over target identities.

    B = ``reported``: A against its published figures, each on the figure's own statistic
    (mean per-target or pooled AUC)."""
    from avbench.errors import UsageError
    from avbench.leaderboard.board import eval_header
    from avbench.leaderboard.compare import REPORTED, compare_methods
    from avbench.leaderboard.entries import ScoreReader, build_entries, latest_rows
    from avbench.results import ResultsStore, default_db_path

    path = db or default_db_path()
    if not Path(path).is_file():
        raise UsageError(f"--db {path}: no results database there; run `avbench run` first or "
                         "point --db at one")
    store = ResultsStore(path)
    rows = latest_rows(store)
    if dataset is not None:
        rows = rows[rows["dataset"] == dataset]
        if rows.empty:
            raise UsageError(f"--dataset {dataset}: no stored results for it in {path}")
    reader = ScoreReader(store)
    entries = build_entries(rows, reader)
    if method_b == REPORTED:
        _print_against_reported(entries, method_a, protocol, profile)
        return
    result = compare_methods(entries, reader, method_a, method_b, protocol, profile)
    table = Table("dataset", "protocol", "evaluation", method_a, method_b, "Δ (A − B)", "95% CI",
                  "P(Δ ≤ 0)", "targets",
                  title=f"{method_a} − {method_b}: mean per-target AUC, paired bootstrap over targets")
    cells = result.groupby("protocol")["cell"].nunique().to_dict()
    for r in result.itertuples():
        table.add_row(r.dataset, f"{r.protocol} v{r.protocol_version}",
                      eval_header(r.cell, r.test_group, cells[r.protocol] == 1),
                      f"{r.a_auc:.3f}", f"{r.b_auc:.3f}", f"{r.delta:+.3f}",
                      f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]", f"{r.p_not_better:.3f}", str(r.n_targets))
    out.print(table)
    compared = entries[entries["method"].isin([method_a, method_b])]
    for name in sorted(set(compared["profile"]) if profile is None else {profile}):
        _print_convergence_note(name)


def _print_against_reported(entries, method: str, protocol: str | None, profile: str | None) -> None:
    """``avbench compare A reported``: measured minus published, on the published statistic."""
    from avbench.leaderboard.board import eval_header
    from avbench.leaderboard.compare import compare_with_reported
    from avbench.leaderboard.reported import STATISTICS, load_reported, where

    result = compare_with_reported(entries, load_reported(), method, protocol, profile)
    table = Table("dataset", "protocol", "evaluation", "statistic", method, "reported", "Δ (measured − reported)",
                  "source", title=f"{method} − its published figures, each on the figure's statistic")
    cells = entries.groupby("protocol")["cell"].nunique().to_dict()
    for r in result.itertuples():
        table.add_row(r.dataset, f"{r.protocol} v{r.protocol_version}",
                      eval_header(r.cell, r.test_group, cells[r.protocol] == 1), STATISTICS[r.statistic],
                      f"{r.measured:.3f}", f"{r.reported:.3f}", f"{r.delta:+.3f}", f"{r.source}, {where(r.table)}")
    out.print(table)


@app.command()
def evaluate(
    run: Annotated[Optional[int], typer.Option("--run", metavar="ID", help="Evaluate the model saved by this row of --db (its `id`).")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Evaluate this saved model: a .safetensors file with its .json sidecar.")] = None,
    data: Annotated[Optional[str], typer.Option(help="NAME:PATH of the data to evaluate on; default: the embedded synthetic dataset.")] = None,
    protocol: Annotated[Optional[str], typer.Option(help="Protocol whose test groups are scored; default: the one the model was trained under.")] = None,
    cell: Annotated[Optional[str], typer.Option(help="Protocol cell whose test groups are scored; default: the model's own cell, or the protocol's only one.")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite): read for --run, written with the rows.")] = None,
    force: Annotated[bool, typer.Option(help="Score again even if this model was evaluated on this data already.")] = False,
) -> None:
    """Score a trained model on a dataset's test groups without training, and store the rows.

    The rows are evaluation-only: they name the run, dataset, protocol and cell the model was
    trained on. With another --data this is cross-dataset evaluation."""
    from avbench.errors import UsageError
    from avbench.evaluate import EvaluationRequest, checkpoint_of_row, evaluate as evaluate_, plan_evaluation
    from avbench.progress import progress_bar
    from avbench.report import protocol_table
    from avbench.results import ResultsStore, default_db_path

    if (run is None) == (checkpoint is None):
        raise UsageError("give exactly one of --run ID (a row of --db) and --checkpoint FILE")
    store = ResultsStore(db or default_db_path())
    path = checkpoint_of_row(store, run) if run is not None else checkpoint
    request = EvaluationRequest(checkpoint=path, data=data, protocol=protocol, cell=cell, device=device)
    reg = _State.registry()
    err.print("resolving model, protocol and data ...")
    plan, meta = plan_evaluation(reg, request)
    trained = f"{meta.get('dataset', '?')} / {meta.get('protocol', '?')} / {meta.get('cell', '?')}"
    out.print(Text.assemble("model ", (plan.method.name, "bold"), f" from {path} (trained on {trained}), "
                            f"protocol {plan.protocol.name} v{plan.protocol.version}, cell {plan.cells[0].name}, "
                            f"data {plan.index.dataset} ({len(plan.index.videos)} videos, fingerprint "
                            f"{plan.index.fingerprint})"))
    with progress_bar(f"evaluate {plan.method.name}") as update:
        rows = evaluate_(reg, plan, path, meta, store, request, force=force,
                         progress=lambda stage, done, total: update(done, total, stage))
    table = protocol_table(rows)
    grid = Table("cell", *map(str, table.columns),
                 title=f"{plan.protocol.name}: mean per-target AUC [95% CI], {plan.index.dataset}, "
                       "evaluation only (no training)")
    for name, values in table.iterrows():
        grid.add_row(str(name), *[str(v) for v in values])
    out.print(grid)
    threshold = rows[0].metrics.get("threshold") if rows else None
    if threshold is not None:
        out.print("  at the model's threshold " + f"{threshold:.4f}: "
                  + ", ".join(f"{r.test_group} FAR {r.metrics['far_at_threshold']:.3f} FRR "
                              f"{r.metrics['frr_at_threshold']:.3f}" for r in rows))
    out.print(f"results: {store.path}")


@app.command()
def verify(
    video_a: Annotated[Path, typer.Argument(metavar="A", help="A video file.")],
    video_b: Annotated[Path, typer.Argument(metavar="B", help="Another video file.")],
    run: Annotated[Optional[int], typer.Option("--run", metavar="ID", help="Use the model saved by this row of --db (its `id`).")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Use this saved model: a .safetensors file with its .json sidecar.")] = None,
    db: Annotated[Optional[Path], typer.Option(help="Results database for --run (default ./avbench-results/results.sqlite).")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "cpu",
    json_: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Are A and B driven by the same person? Prints the score, the model's threshold (the EER
    threshold of its validation identities) and the decision at it."""
    import json

    from avbench.inference import open_model, verify_videos

    reg = _State.registry()
    model = open_model(reg, checkpoint=checkpoint, run=run, db=db, device=_resolved_device(device))
    v = verify_videos(reg, model, video_a, video_b, device=device)
    if json_:
        out.print(json.dumps(v.__dict__), soft_wrap=True, highlight=False)
        return
    verdict = ("same driver" if v.same_driver else "different drivers") if v.same_driver is not None \
        else "no decision: the model was saved without a threshold"
    threshold = "none" if v.threshold is None else f"{v.threshold:.4f}"
    out.print(f"score {v.score:.4f}, threshold {threshold}: {verdict} ({v.seconds:.2f} s)",
              soft_wrap=True, highlight=False)


@app.command()
def embed(
    data: Annotated[Optional[str], typer.Argument(metavar="SPEC", help="NAME:PATH of a dataset; default: the embedded synthetic dataset.")] = None,
    out_file: Annotated[Path, typer.Option("--out", metavar="FILE.parquet", help="Where to write one row per video.")] = Path("embeddings.parquet"),
    run: Annotated[Optional[int], typer.Option("--run", metavar="ID", help="Use the model saved by this row of --db (its `id`).")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Use this saved model: a .safetensors file with its .json sidecar.")] = None,
    split: Annotated[Optional[str], typer.Option(help="Only this split: train | val | test; default: every video.")] = None,
    db: Annotated[Optional[Path], typer.Option(help="Results database for --run (default ./avbench-results/results.sqlite).")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
) -> None:
    """Write one embedding per video of a dataset, with its index columns, to a Parquet file."""
    from avbench.errors import UsageError
    from avbench.inference import embed_dataset, open_model
    from avbench.progress import progress_bar

    if out_file.suffix != ".parquet":
        raise UsageError(f"--out {out_file}: embeddings are written as Parquet; give a .parquet file name")
    reg = _State.registry()
    model = open_model(reg, checkpoint=checkpoint, run=run, db=db,
                       device=_resolved_device(device))
    with progress_bar(f"embed {model.meta['method']}") as update:
        table = embed_dataset(reg, model, data, split, device=device,
                              progress=lambda stage, done, total: update(done, total, stage))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(f".{out_file.name}.tmp")
    table.to_parquet(tmp, index=False)
    tmp.replace(out_file)
    for path in table.attrs.get("left_out", []):
        out.print(f"  left out (no face in any frame): {path}", soft_wrap=True, highlight=False)
    out.print(f"{len(table)} embeddings of dimension {len(table['embedding'].iloc[0])} "
              f"({table.attrs['dataset']}, fingerprint {table.attrs['dataset_fingerprint']}): {out_file}",
              soft_wrap=True, highlight=False)


def _resolved_device(device: str) -> str:
    from avbench.runner import resolve_device

    return resolve_device(device)


@app.command()
def score(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Score table: .parquet, .csv or .tsv, one row per pair.")],
    column_target: Annotated[str, typer.Option(help="The file's column grouping the pairs (the AUC's target).")] = "target",
    column_label: Annotated[str, typer.Option(help="The file's label column: 1 = same driver, 0 = different.")] = "label",
    column_score: Annotated[str, typer.Option(help="The file's score column (higher = more likely the same driver).")] = "score",
    positive_label: Annotated[Optional[str], typer.Option(metavar="VALUE", help="String labels: the value meaning same driver; the one other value means different.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples (over targets) of the 95% CIs.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap draws.")] = 0,
    json_: Annotated[bool, typer.Option("--json", help="Print every number as JSON instead of a table.")] = False,
    roc: Annotated[Optional[Path], typer.Option(metavar="FILE.csv", help="Write the ROC curve: threshold, fpr, tpr.")] = None,
    det: Annotated[Optional[Path], typer.Option(metavar="FILE.csv", help="Write the DET curve: threshold, fpr, fnr, fpr_probit, fnr_probit.")] = None,
    plot: Annotated[Optional[Path], typer.Option(metavar="FILE.png", help="Draw ROC and DET (normal-deviate axes) side by side.")] = None,
) -> None:
    """Verification metrics of any score table: AUCs with CIs, EER, TAR at FAR.

    FILE is a run's scores-*.parquet or another tool's table with one row per pair: mean
    per-target and pooled AUC with cluster-bootstrap CIs over targets, EER and its threshold
    (accept score >= threshold), TAR at FAR 1% and 0.1%, and the counts."""
    from avbench import score_file

    table = score_file.load_score_table(file, column_target, column_label, column_score, positive_label)
    report = score_file.score_report(table, n_boot=n_boot, seed=seed, source=file)
    written = [score_file.write_roc(table, roc)] if roc else []
    written += [score_file.write_det(table, det)] if det else []
    written += [score_file.plot(table, plot, file.name)] if plot else []
    if json_:
        out.print(score_file.to_json(report), soft_wrap=True, highlight=False)
    else:
        score_file.print_report(report, file, out)
    for path in written:
        err.print(f"wrote {path}", soft_wrap=True, highlight=False)


@app.command()
def bench(
    method: Annotated[str, typer.Option("--method", "-m", help="Method(s) for train/infer: a name, a comma-separated list or 'all'.")] = "f5c_featdiff",
    what: Annotated[str, typer.Option(help="Comma-separated: train, infer, e2e, pipeline, landmarks, latency, scoring.")] = "train,infer",
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    precision: Annotated[str, typer.Option(help="Comma-separated: 32-true, 16-mixed, bf16-mixed.")] = "16-mixed",
    compile_: Annotated[bool, typer.Option("--compile", help="torch.compile the model.")] = False,
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
) -> None:
    """Measure training/inference clips/s, data-pipeline clips/s and scoring time; save JSON."""
    import dataclasses

    from avbench.bench.model import ModelBench
    from avbench.bench.suite import KINDS, model_records, write
    from avbench.errors import UsageError
    from avbench.runner import resolve_device

    from avbench.launch import process_rank

    reg = _State.registry()
    kinds = _names(what, list(KINDS), "--what")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise UsageError(f"--what {','.join(bad)}: choose from {', '.join(KINDS)}")
    if devices > 1 and kinds != ["e2e"]:
        raise UsageError(f"--devices {devices} measures data-parallel training: use it with --what e2e alone")
    if process_rank() != 0:  # a data-parallel worker: rank 0 reports
        out.quiet = err.quiet = True
    precisions = _names(precision, ["32-true", "16-mixed", "bf16-mixed"], "--precision")
    dev = resolve_device(device)
    records: list[dict] = []
    if {"train", "infer"} & set(kinds):
        methods = _names(method, [s.name for s in reg.methods], "--method")
        for m in methods:
            reg.methods.get(m)
        cfg = ModelBench(batch=batch, clip_length=clip_length, steps=steps, warmup=warmup, compile=compile_)
        records += model_records(reg, methods, kinds, precisions, cfg, dev,
                                 lambda msg: err.print(msg, highlight=False))
    if {"pipeline", "e2e"} & set(kinds):
        from avbench.data.frame_cache import FrameCache
        from avbench.data.loader import ClipSource
        from avbench.data.spec import open_dataset
        from avbench.progress import progress_bar

        index = open_dataset(reg, data)
        train = index.select("train")
        with progress_bar("frame cache") as update:
            source = ClipSource.from_frames(index.root, train, FrameCache(), progress=update)
        if "pipeline" in kinds:
            from avbench.bench.pipeline import pipeline_throughput

            from avbench.training import loader_workers

            for workers in (0, loader_workers()):
                records.append(pipeline_throughput(source, train, dev, clip_length=clip_length,
                                                   batch_drivers=max(1, batch // 8),
                                                   per_driver=min(8, batch), workers=workers))
        if "e2e" in kinds:
            from avbench.bench.end_to_end import end_to_end_throughput
            from avbench.bench.suite import build_for_bench
            from avbench.training import loader_workers

            cfg = ModelBench(batch=batch, clip_length=clip_length, steps=steps, warmup=warmup,
                             compile=compile_)
            for m in _names(method, [s.name for s in reg.methods], "--method"):
                for p in precisions:
                    err.print(f"{m}: end to end, {p}", highlight=False)
                    records.append(end_to_end_throughput(
                        build_for_bench(reg, m, 478), m, source, train,
                        dataclasses.replace(cfg, precision=p), dev, workers=loader_workers(),
                        devices=devices))
    if {"landmarks", "latency"} & set(kinds):
        from avbench.data.spec import open_dataset

        index = open_dataset(reg, data)
        test = index.select("test")
        if "landmarks" in kinds:
            from avbench.bench.landmarks import extraction_throughput

            for name in _names(extractor, [s.name for s in reg.landmark_extractors if s.source != "dataset"],
                               "--extractor"):
                err.print(f"landmarks: {name} on {videos} videos", highlight=False)
                records.append(extraction_throughput(index.root, test.iloc[:videos],
                                                     reg.landmark_extractors.get(name), workers=None))
        if "latency" in kinds:
            from avbench.bench.latency import verification_latency
            from avbench.bench.suite import build_for_bench
            from avbench.specs import InputKind

            video = index.root / test["path"].iloc[0]
            mp = None
            for m in _names(method, [s.name for s in reg.methods], "--method"):
                if reg.methods.get(m).input == InputKind.LANDMARKS and mp is None:
                    mp = reg.landmark_extractors.get("mediapipe").load()()
                err.print(f"latency: {m}", highlight=False)
                records.append(verification_latency(
                    build_for_bench(reg, m, 478), m, video, clip_length, dev,
                    extractor=mp if reg.methods.get(m).input == InputKind.LANDMARKS else None))
    if "scoring" in kinds:
        from avbench.bench.scoring import scoring_time

        for n in (int(x) for x in targets.split(",")):
            err.print(f"scoring: {n} targets", highlight=False)
            records.append(scoring_time(n))
    if process_rank() != 0:
        return
    path = write(records, dev, out_dir)
    table = Table("benchmark", "what", "clips/s", "step ms", "TFLOP/s", "MFU", "peak GiB", "seconds",
                  title=f"avbench bench on {dev}")
    for r in records:
        what_ = (f"{r.get('method', '')} {r.get('precision', '')} B={r.get('batch', '')} "
                 f"T={r.get('clip_length', '')}{' compiled' if r.get('compile') else ''}"
                 if r["benchmark"].startswith(("model", "end_to_end"))
                 else f"B={r.get('batch', '')} T={r.get('clip_length', '')}, {r['loader_workers']} loader threads"
                 if r["benchmark"] == "data_pipeline"
                 else f"{r['extractor']}: {r['videos']} videos, {r['frames']} frames, "
                      f"{r['frames_per_s']:.0f} frames/s ({r['frames_per_s_per_worker']:.0f} per worker)"
                 if r["benchmark"] == "landmark_extraction"
                 else f"{r['method']} T={r['clip_length']}: decode {r['decode_ms']:.1f} ms, landmarks "
                      f"{'-' if r['landmarks_ms'] is None else format(r['landmarks_ms'], '.1f')} ms, "
                      f"embed {r['embed_ms']:.1f} ms, total {r['total_ms']:.1f} ms"
                 if r["benchmark"] == "verification_latency"
                 else f"{r['targets']} targets, {r['pairs']} pairs")
        fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        table.add_row(r["benchmark"], what_, fmt(r.get("clips_per_s"), ".1f"), fmt(r.get("step_ms"), ".1f"),
                      fmt(r.get("achieved_tflops"), ".2f"), fmt(r.get("mfu"), ".1%"),
                      fmt(r.get("peak_memory_gib"), ".2f"), fmt(r.get("seconds"), ".3f"))
    out.print(table)
    out.print(f"results: {path}")


def main() -> None:
    """Console entry point: Typer handles usage errors; ours become one clean message."""
    try:
        app()
    except UnknownNameError as exc:
        raise SystemExit(_fail(str(exc), 2).exit_code) from None
    except (AvbenchError, RegistryError) as exc:
        raise SystemExit(_fail(str(exc), getattr(exc, "exit_code", 1)).exit_code) from None


if __name__ == "__main__":
    main()
