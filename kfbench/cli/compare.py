"""`kfbench compare A B`: paired differences of two methods on the same pairs, with intervals and a test."""

from __future__ import annotations

from pathlib import Path

import typer

from kfbench.cli.app import DEFAULT_OUT, app
from kfbench.utils import progress


@app.command()
def compare(
    method_a: str = typer.Argument(..., help="Method A (the difference is A - B)."),
    method_b: str = typer.Argument(..., help="Method B."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Run store folder (evaluated)."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Only these datasets (comma-separated)."),
    metrics: str | None = typer.Option(
        None, "--metrics", help="Only these metrics (comma-separated; default: every evaluated one)."
    ),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=1, help="Bootstrap resamples of the pairs."),
    confidence: float = typer.Option(
        0.95, "--confidence", min=0.5, max=0.999, help="Interval coverage and test level."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    same_pairs: bool = typer.Option(
        False,
        "--same-pairs",
        help="Refuse when the methods completed different pairs (default: compare the common ones, saying so).",
    ),
    device: str | None = typer.Option(
        None, "--device", help="Set metrics: cpu or cuda (default: cuda when available)."
    ),
    allow_torchscript_code: bool = typer.Option(
        False, "--allow-torchscript-code", help="FVD from a TorchScript I3D file: allow torch.jit.load (runs its code)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Paired comparison of two evaluated methods: per metric, A - B on the same pairs with a paired bootstrap
    interval, a Wilcoxon signed-rank test (per-pair metrics), whether it is resolved and, if not, about how many
    pairs would resolve it. Set metrics (FID, KID, FVD, JEDi) are recomputed on the same resampled pairs from the
    feature cache.

    Writes OUT/comparisons.csv and .parquet (rules: docs/comparisons.md).

    Example: kfbench compare flow linear --out runs
    """
    from kfbench.compare.comparison import Request, compare_methods, summary_lines
    from kfbench.utils.devices import resolve_device

    progress.enabled = not quiet
    request = Request(
        method_a,
        method_b,
        dataset.split(",") if dataset else None,
        [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None,
        confidence,
        bootstrap,
        seed,
        same_pairs,
        resolve_device(device),
        allow_torchscript_code,
    )
    table, notes = compare_methods(out, request)
    for line in notes + summary_lines(table):
        typer.echo(line)
    typer.echo(f"comparisons: {out / 'comparisons.csv'} and {out / 'comparisons.parquet'}")
