"""The typer application every command module registers on, and the defaults they share."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="kfbench: keyframe interpolation benchmark. Run methods on keyframe pairs, score them, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}
DEFAULT_OUT = Path("runs")


def _print_version(value: bool) -> None:
    if value:
        from kfbench import __version__

        typer.echo(f"kfbench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", help="Show third-party warnings, log lines and download bars (hidden by default)."
    ),
) -> None:
    """kfbench: keyframe interpolation benchmark. Run methods on keyframe pairs, score them, report."""
    from kfbench.utils import quiet

    quiet.verbose = verbose
    quiet.hide_third_party()
