"""`kfbench demo`: the weight-free baselines on the embedded synthetic set, evaluated and reported."""

from __future__ import annotations

from pathlib import Path

import typer

from kfbench.cli.app import app
from kfbench.registry import create_dataset, create_method
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from kfbench.utils import progress
from kfbench.utils.userfiles import output_folder


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Where the demo's runs go."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Run, evaluate, compare (flow against linear) and report the weight-free baselines on the embedded synthetic
    dataset (no downloads).

    Example: kfbench demo
    """
    from kfbench.compare.comparison import Request, compare_methods
    from kfbench.compare.comparison import summary_lines as comparison_lines
    from kfbench.metrics.evaluate import (
        EvalConfig,
        evaluate_with_warnings,
        summary_lines,
    )
    from kfbench.report import write_report
    from kfbench.utils.devices import resolve_device

    progress.enabled = not quiet
    data = create_dataset("synthetic")
    store = RunStore(output_folder(out, "--out"))
    for name in ("linear", "flow"):
        summary = run_benchmark(create_method(name), data, store, data.pair_ids())
        typer.echo(f"{name}: {len(summary.done)} written, {len(summary.skipped)} already complete")
    typer.echo(f"demo runs are in {out / data.name}")
    results, warnings = evaluate_with_warnings(out, EvalConfig(device=resolve_device()), datasets=[data.name])
    for line in warnings + summary_lines(results):
        typer.echo(line)
    table, notes = compare_methods(out, Request("flow", "linear", [data.name]))
    for line in notes + comparison_lines(table):
        typer.echo(line)
    typer.echo(f"report: {write_report(out, out.with_name(out.name + '-report')).html}")
