"""`kfbench check`: a small fixed evaluation held against a committed baseline."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from kfbench.cli.app import app
from kfbench.utils import progress
from kfbench.utils.userfiles import output_file


@app.command()
def check(
    baseline: Path = typer.Option(..., "--baseline", help="Baseline JSON (e.g. tests/data/check_baseline.json)."),
    tolerance: str | None = typer.Option(
        None, "--tolerance", help="Allowed relative worsening: 0.02 or psnr=0.01,ssim=0.02."
    ),
    update: bool = typer.Option(False, "--update", help="Write the baseline from this machine's values."),
) -> None:
    """Evaluate a small subset (synthetic, classical methods) and fail naming each metric that regressed.

    Example: kfbench check --baseline tests/data/check_baseline.json
    """
    from kfbench.report.check import run_check

    progress.enabled = False
    if update:
        output_file(baseline, "--baseline")
    outcome = run_check(baseline, tolerance, update)
    for line in outcome.lines:
        typer.echo(line)
    for line in outcome.regressions:
        typer.echo(f"REGRESSED {line}", err=True)
    if not update:
        typer.echo(outcome.summary)
    if outcome.regressions:
        sys.exit(1)  # typer.Exit would be swallowed by main()'s standalone_mode=False
