"""Test session settings (offline, one intra-op thread) and the tiny offline models; helpers live in tests/helpers/."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

# No test may reach the network: the Hugging Face libraries must use their caches only.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# Tiny models run far faster on one intra-op thread (here and in CLI subprocesses) than on two shared cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)
_CV2_THREADS = __import__("cv2").getNumThreads()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Every tiny model, built once per test session in the real formats (once for all pytest-xdist workers: the
    first worker builds them under the session's shared temporary folder, the others wait for it and read them)."""
    from filelock import FileLock

    from kfbench.methods.tiny import make_tiny_models

    if "PYTEST_XDIST_WORKER" not in os.environ:
        return make_tiny_models(tmp_path_factory.mktemp("tiny-models"))
    shared = tmp_path_factory.getbasetemp().parent
    listing = shared / "tiny-models.json"
    with FileLock(shared / "tiny-models.lock"):
        if not listing.exists():
            paths = make_tiny_models(shared / "tiny-models")
            listing.write_text(json.dumps({name: str(path) for name, path in paths.items()}))
    return {name: Path(path) for name, path in json.loads(listing.read_text()).items()}


@pytest.fixture(autouse=True)
def _opencv_threads_restored():
    """vbench's RAFT sets cv2.setNumThreads(0) when imported, and DIS flow's last digits depend on OpenCV's
    thread count: every test starts from the count this process began with."""
    import cv2

    cv2.setNumThreads(_CV2_THREADS)
    yield
