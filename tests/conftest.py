"""Shared fixtures: the CLI as a subprocess and the tiny offline models."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

# No test may reach the network: the Hugging Face libraries must use their caches only.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# Tiny models run far faster on one intra-op thread (here and in CLI subprocesses) than on two shared cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)


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


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Every tiny model, built once per test session in the real formats."""
    from kfbench.methods.tiny import make_tiny_models

    return make_tiny_models(tmp_path_factory.mktemp("tiny-models"))
