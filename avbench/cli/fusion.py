"""`avbench fuse`: the saved models of two or more stored rows fused into one score per pair."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from avbench.cli.common import State, app, err, out
from avbench.progress import full_table


@app.command()
def fuse(
    ids: Annotated[list[int], typer.Argument(metavar="ID", help="Two or more rows of --db to fuse (their `id`; the same id twice fuses a run with itself).")],
    db: Annotated[Optional[Path], typer.Option(help="Results database (default ./avbench-results/results.sqlite): read for the rows, written with the fusion's row.")] = None,
    rule: Annotated[str, typer.Option(help="zsum: sum of z-scores (validation mean and std) | logistic: logistic regression fitted on the validation pairs.")] = "zsum",
    data: Annotated[Optional[str], typer.Option(help="NAME:PATH of the data the rows were measured on; default: the embedded synthetic dataset.")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    force: Annotated[bool, typer.Option(help="Fuse again even if these models were fused by this rule on these data already.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the stored row's summary as JSON.")] = False,
) -> None:
    """Fuse the scores of two or more stored rows' models and store the fusion as a row.

    Every row must have a saved model and the same dataset version, protocol, cell and test
    group. Each model scores the cell's validation pairs and the row's test pairs; zsum sums
    each model's z-scores (mean and std of its validation scores), logistic fits a logistic
    regression on the validation pairs. The row is evaluation-only, named
    fusion(RULE):METHOD+METHOD, with the paired difference to the best component."""
    import json

    from avbench.cli.common import row_summary
    from avbench.fusion import FusionRequest, fuse as fuse_, plan_fusion
    from avbench.progress import progress_bar
    from avbench.results import ResultsStore, default_db_path

    store = ResultsStore(db or default_db_path())
    request = FusionRequest(rows=tuple(ids), rule=rule, data=data, device=device)
    reg = State.registry()
    err.print("resolving rows, models and data ...")
    plan = plan_fusion(reg, store, request)
    with progress_bar(f"fuse {plan.name}") as update:
        row = fuse_(reg, plan, store, progress=lambda stage, done, total: update(done, total, stage))
    if json_:
        out.print(json.dumps({**row_summary(row), "vs_best_component": row.metrics["vs_best_component"]}),
                  soft_wrap=True, highlight=False)
        return
    m = row.metrics
    out.print(Text.assemble("fusion ", (row.method, "bold"), f" (row {row.id}), protocol {row.protocol} "
                            f"v{row.protocol_version}, cell {row.cell}, test group {row.test_group}, "
                            f"{row.dataset} (fingerprint {row.dataset_fingerprint})"), soft_wrap=True)
    table = full_table("", "row", "mean per-target AUC", "validation mean", "validation std",
                       title=f"{m['data']['test_pairs']} test pairs every component scored "
                             f"({m['data']['test_pairs_dropped']} dropped), {m['data']['val_pairs']} validation pairs")
    for c in m["fusion"]["components"]:
        table.add_row(f"c{c['component']} {c['method']}", str(c["row_id"]), f"{c['mean_target_auc']:.3f}",
                      f"{c['val_mean']:.4f}", f"{c['val_std']:.4f}")
    table.add_row(row.method, str(row.id), f"{m['mean_target_auc']:.3f} [{m['mean_target_auc_ci_low']:.3f}, "
                  f"{m['mean_target_auc_ci_high']:.3f}]", "", "")
    out.print(table)
    d = m["vs_best_component"]
    out.print(f"  fusion − best component (c{d['component']} {d['method']}): Δ {d['delta']:+.3f} "
              f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] (paired bootstrap over {d['n_targets']} targets), "
              f"P(Δ ≤ 0) = {d['p_not_better']:.3f}", soft_wrap=True, highlight=False)
    if m["fusion"]["logistic"]:
        lg = m["fusion"]["logistic"]
        out.print(f"  logistic: coefficients {', '.join(f'{x:.4f}' for x in lg['coef'])}, intercept "
                  f"{lg['intercept']:.4f} (C = {lg['C']})", soft_wrap=True, highlight=False)
    out.print(f"results: {store.path}", soft_wrap=True, highlight=False)
