"""The `kfbench` command line: one module per command, all registered on :data:`kfbench.cli.app.app`.

Follow `kfbench run` from here: :mod:`kfbench.cli.run` -> :func:`kfbench.run.runner.run_benchmark` ->
:class:`kfbench.store.runstore.RunStore`.
"""

from __future__ import annotations

import errno
import sys

import typer

# The order of these imports is the order of the commands in `kfbench --help`.
# isort: off
from kfbench.cli import listing, run, prepare, evaluate, compare, report, provenance, check, demo  # noqa: F401
from kfbench.cli import convert, bench, train, tiny  # noqa: F401

# isort: on
from kfbench.cli.app import app
from kfbench.errors import KfbenchError, one_line

__all__ = ["app", "main"]

INTERRUPTED = 130  # the exit status of a process ended by Ctrl-C (128 + SIGINT)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit status 2."""
    try:
        code = app(standalone_mode=False)  # returns the code of a typer.Exit
        if code == INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except KfbenchError as exc:
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C
        typer.echo(
            "interrupted: what was completed is kept (every finished pair and results file; nothing half-written); "
            "run the same command again to resume from there",
            err=True,
        )
        sys.exit(INTERRUPTED)
    except typer.TyperException as exc:  # usage errors of typer's bundled click: its short usage message
        exc.show()
        sys.exit(2)
    except OSError as exc:  # a path the user named is missing, of the wrong kind or not writable; or a full disk
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            where = f" writing {one_line(str(exc.filename))}" if exc.filename else ""
            typer.echo(
                f"error: no space left on the device{where}; free some space and run the same command again "
                "(what was completed is kept, nothing half-written is)",
                err=True,
            )
            sys.exit(2)
        if exc.filename is None:
            raise
        typer.echo(
            f"error: {one_line(str(exc.filename))}: {exc.strerror}; check that this path exists, is a file or folder "
            "as needed, and can be written",
            err=True,
        )
        sys.exit(2)
