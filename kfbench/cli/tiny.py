"""`kfbench make-tiny-models`: tiny random models in the real formats."""

from __future__ import annotations

from pathlib import Path

import typer

from kfbench.cli.app import app
from kfbench.utils.userfiles import output_folder


@app.command("make-tiny-models")
def make_tiny_models_command(
    folder: Path = typer.Argument(..., help="Output folder."),
    methods: str = typer.Option(
        "", "--methods", help="Comma-separated methods: only their families' tiny models (default: every family)."
    ),
) -> None:
    """Write tiny randomly initialised models in the real formats (for tests and offline trials).

    Example: kfbench make-tiny-models /tmp/tiny && kfbench run --method svd --dataset synthetic --model /tmp/tiny/svd

    Example: kfbench make-tiny-models /tmp/tiny --methods film      (FILM's family only)
    """
    from kfbench.methods.tiny import make_tiny_models

    chosen = [m.strip() for m in methods.split(",") if m.strip()] or None
    for name, path in make_tiny_models(output_folder(folder, "FOLDER"), chosen).items():
        typer.echo(f"{name}: {path}")
