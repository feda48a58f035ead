"""The typer application every command module registers on, and the defaults they share."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="kfbench: keyframe interpolation benchmark. Run methods on keyframe pairs, score them, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}
DEFAULT_OUT = Path("runs")
