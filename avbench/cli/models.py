"""Commands that use trained models or score tables: `evaluate`, `verify`, `embed`, `score`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from avbench.cli.common import (
    State,
    app,
    err,
    out,
)


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
    from avbench.evaluate import EvaluationRequest, checkpoint_of_row, other_build_notice, plan_evaluation
    from avbench.evaluate import evaluate as evaluate_
    from avbench.progress import full_table, progress_bar
    from avbench.report import protocol_table
    from avbench.results import ResultsStore, default_db_path

    if (run is None) == (checkpoint is None):
        raise UsageError("give exactly one of --run ID (a row of --db) and --checkpoint FILE")
    store = ResultsStore(db or default_db_path())
    path = checkpoint_of_row(store, run) if run is not None else checkpoint
    request = EvaluationRequest(checkpoint=path, data=data, protocol=protocol, cell=cell, device=device)
    reg = State.registry()
    err.print("resolving model, protocol and data ...")
    plan, meta = plan_evaluation(reg, request)
    trained = f"{meta.get('dataset', '?')} / {meta.get('protocol', '?')} / {meta.get('cell', '?')}"
    out.print(Text.assemble("model ", (plan.method.name, "bold"), f" from {path} (trained on {trained}), "
                            f"protocol {plan.protocol.name} v{plan.protocol.version}, cell {plan.cells[0].name}, "
                            f"data {plan.index.dataset} ({len(plan.index.videos)} videos, fingerprint "
                            f"{plan.index.fingerprint})"))
    notice = other_build_notice(plan, meta)
    if notice:
        err.print(notice, style="yellow", highlight=False)
    with progress_bar(f"evaluate {plan.method.name}") as update:
        rows = evaluate_(reg, plan, path, meta, store, request, force=force,
                         progress=lambda stage, done, total: update(done, total, stage))
    table = protocol_table(rows)
    grid = full_table("cell", *map(str, table.columns),
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

    reg = State.registry()
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
    reg = State.registry()
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
