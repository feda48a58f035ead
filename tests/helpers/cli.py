"""The kfbench CLI as a subprocess of this checkout, and what multi-process launches need."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nothing listens on now, for a multi-process launcher's rendezvous."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    return env


def run_cli(
    *args: str, cwd: Path | None = None, check: bool = False, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `python -m kfbench ARGS` from this checkout (``env`` adds environment variables)."""
    result = subprocess.run(
        [sys.executable, "-m", "kfbench", *map(str, args)],
        capture_output=True,
        text=True,
        env={**cli_env(), **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kfbench {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result
