"""`kfbench convert-checkpoint`: released weights -> the compact safetensors form a method loads."""

from __future__ import annotations

from pathlib import Path

import typer

from kfbench.cli.app import EXTRA_ARGS, app
from kfbench.cli.options import parse_extra_flags


@app.command("convert-checkpoint", context_settings=EXTRA_ARGS)
def convert_checkpoint_command(
    ctx: typer.Context,
    method: str = typer.Option(..., "--method", "-m", help="Method whose released checkpoint SRC is."),
    src: str = typer.Argument(..., help="Released checkpoint (file, folder or hub id)."),
    dst: Path = typer.Argument(..., help="Output safetensors file."),
) -> None:
    """Convert a released checkpoint into the compact safetensors form kfbench loads.

    Example: kfbench convert-checkpoint --method ours ./released/unet ours_backward.safetensors
    """
    from kfbench.methods.convert import convert_checkpoint

    typer.echo(f"wrote {convert_checkpoint(method, src, dst, parse_extra_flags(ctx.args))}")
