"""The console entry point run in the test process (no interpreter start-up or re-imports)."""

from __future__ import annotations

import contextlib
import io
import sys

import pytest

from kfbench.cli import main


def run_main(*args) -> tuple[int, str, str]:
    """`kfbench ARGS` through kfbench.cli.main: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        patch.setattr(sys, "argv", ["kfbench", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
    return code, out.getvalue(), err.getvalue()


def error_line(*args) -> str:
    """`kfbench ARGS` must fail with exit code 2 and one line ``error: ...`` on stderr; that line."""
    code, _, stderr = run_main(*args)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def check_main(*args) -> str:
    """`kfbench ARGS` in-process, which must succeed; its stdout."""
    code, stdout, stderr = run_main(*args)
    assert code == 0, f"kfbench {' '.join(map(str, args))} failed ({code}):\n{stdout}\n{stderr}"
    return stdout
