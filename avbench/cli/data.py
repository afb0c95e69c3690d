"""`avbench data ...`: index, check, prepare and make datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from avbench.cli.common import (
    State,
    data_app,
    err,
    frame_table,
    landmark_table,
    out,
)
from avbench.progress import full_table


@data_app.command("index")
def data_index(
    spec: Annotated[str, typer.Argument(help="NAME:PATH, e.g. nvfair:/data/NVFAIR-v2-release")],
    strict: Annotated[bool, typer.Option(help="Stop at the first file that cannot be indexed.")] = False,
    refresh: Annotated[bool, typer.Option(help="Rebuild instead of using the cached index.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as one JSON object.")] = False,
) -> None:
    """Index a dataset and print identities per split and videos per generator / source / kind
    (exit 1 if it holds no usable video)."""
    import json

    from avbench.data.index import IndexOptions
    from avbench.data.spec import open_dataset
    from avbench.data.summary import identity_counts, skip_counts, video_counts

    err.print(f"indexing {spec} ...")  # no spinner: making the synthetic default shows a bar
    index = open_dataset(State.registry(), spec, IndexOptions(strict=strict, refresh=refresh))
    if as_json:
        def records(frame):
            import pandas as pd

            plain = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
            return json.loads(plain.to_json(orient="records"))
        out.print_json(json.dumps({
            "dataset": index.dataset, "root": str(index.root), "fingerprint": index.fingerprint,
            "videos": len(index.videos), "notes": list(index.notes),
            "identities_per_split": records(identity_counts(index)),
            "videos_per_generator": records(video_counts(index, "generator")),
            "videos_per_source": records(video_counts(index, "source")),
            "videos_per_split": records(video_counts(index, "split")),
            "skipped": records(skip_counts(index))}))
        _require_videos(index)
        return
    out.print(Text.assemble((index.dataset, "bold"),
                            f" at {index.root}  (fingerprint {index.fingerprint})"))
    for note in index.notes:
        out.print(f"  {note}")
    out.print(frame_table(identity_counts(index), "identities per split"))
    out.print(frame_table(video_counts(index, "generator"), "videos per generator"))
    out.print(frame_table(video_counts(index, "source"), "videos per source"))
    out.print(frame_table(video_counts(index, "split"), "videos per split"))
    skipped = skip_counts(index)
    if len(skipped):
        out.print(frame_table(skipped, f"skipped files ({len(index.skipped)}; see the skip policy "
                                        "in the README)"))
    else:
        out.print("skipped files: none")
    _require_videos(index)


def _require_videos(index) -> None:
    from avbench.errors import DatasetError

    if len(index.videos) == 0:
        raise DatasetError(f"{index.root}: no usable video found for {index.dataset}; `avbench data check "
                           f"{index.dataset}:{index.root}` lists what was skipped and why")


@data_app.command("check")
def data_check(
    spec: Annotated[Optional[str], typer.Argument(help="NAME:PATH; default: the embedded synthetic dataset.")] = None,
    clip_length: Annotated[int, typer.Option(help="T: videos with fewer frames are reported.")] = 64,
    workers: Annotated[Optional[int], typer.Option(help="Decoding processes (default: all cores).")] = None,
    landmarks: Annotated[Optional[str], typer.Option(
        help="Also find videos and frames without a face with this extractor (avbench list "
             "extractors); the landmarks are cached for later runs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as one JSON object.")] = False,
) -> None:
    """Report everything wrong with a dataset in one table (exit 1 if anything is)."""
    from avbench.data.spec import open_dataset
    from avbench.data_check import check_dataset
    from avbench.paths import default_cache_dir
    from avbench.progress import full_table, progress_bar

    reg = State.registry()
    extractor = reg.landmark_extractors.get(landmarks) if landmarks else None
    with progress_bar("decoding every video" + (f", then landmarks ({landmarks})" if landmarks else "")) as update:
        report = check_dataset(lambda: open_dataset(reg, spec), default_cache_dir(), clip_length,
                               workers, progress=update, extractor=extractor)
    if as_json:
        import json

        out.print_json(json.dumps({
            "dataset": report.dataset, "root": str(report.root), "videos": report.videos,
            "usable": report.usable, "problems": bool(report.problems),
            "findings": [{"check": f.check, "count": f.count, "first_example": f.example,
                          "what_to_do": f.advice} for f in report.findings]}))
        if report.problems:
            raise typer.Exit(1)
        return
    table = full_table("check", "count", "first example", "what to do",
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

    reg = State.registry()
    extractor = reg.landmark_extractors.get(landmarks) if landmarks else None
    index = open_dataset(reg, spec)
    videos = index.videos[~index.videos["is_original"]]
    cache = default_cache_dir()
    with progress_bar(f"frames ({engine})") as update:
        report = prepare_frames(index.root, videos, cache, engine, workers, scheduler, progress=update)
    rate = f"{report.videos_per_s:.1f}" if report.videos_per_s else "-"
    table = full_table("videos", "decoded now", "from cache", "failed", "frames", "seconds", "videos/s",
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
        out.print(landmark_table(lm_report.summary()))
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
