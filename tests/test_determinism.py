"""Same inputs, same bytes: mp4 previews, safetensors checkpoints and report figures, within and across processes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import torch

from kfbench.utils.safetensorsio import save_safetensors
from kfbench.utils.videoio import write_mp4
from tests.helpers.cli import REPO, cli_env


def moving_noise(frames: int = 9, height: int = 192, width: int = 320) -> np.ndarray:
    """Noise drifting sideways with fresh grain per frame: enough motion and detail for x264's threads to matter."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8)
    video = np.concatenate([np.roll(base, 3 * i, axis=2) for i in range(frames)]).astype(np.int16)
    return np.clip(video + rng.integers(-20, 20, video.shape), 0, 255).astype(np.uint8)


def in_subprocess(code: str, *, one_cpu: bool = False) -> None:
    """Run ``code`` in a fresh interpreter (on the first allowed CPU only with ``one_cpu``, where the OS allows)."""
    pin = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n" if one_cpu else ""
    if one_cpu and not hasattr(os, "sched_setaffinity"):
        pin = ""
    subprocess.run([sys.executable, "-c", pin + code], check=True, env=cli_env(), cwd=REPO, timeout=120)


def test_write_mp4_gives_the_same_bytes_in_this_and_another_process(tmp_path):
    """x264 picks its thread count from the CPUs the process may use, and its output depends on it: a process pinned
    to one CPU wrote other bytes than one with two before the encoder was held to one thread. (On a machine that
    gives this process a single CPU both sides run one thread and the cross-process half cannot tell.)"""
    frames = moving_noise()
    np.save(tmp_path / "frames.npy", frames)
    write_mp4(frames, tmp_path / "a.mp4")
    write_mp4(frames, tmp_path / "b.mp4")
    in_subprocess(
        "import numpy as np; from pathlib import Path; from kfbench.utils.videoio import write_mp4; "
        f"write_mp4(np.load({str(tmp_path / 'frames.npy')!r}), Path({str(tmp_path / 'c.mp4')!r}))",
        one_cpu=True,
    )
    first = (tmp_path / "a.mp4").read_bytes()
    assert len(first) > 1000
    assert (tmp_path / "b.mp4").read_bytes() == first
    assert (tmp_path / "c.mp4").read_bytes() == first


def test_safetensors_with_several_metadata_entries_are_byte_identical(tmp_path):
    """safetensors orders ``__metadata__`` by a hash keyed afresh for every file (it differs call to call, in one
    process too); kfbench's writer sorts it, and the file still reads back as written."""
    from safetensors import safe_open

    metadata = {"format": "pt", "source": "x", "tensors": "vo", "checkpoint_base": "base", "step": "3"}
    torch.manual_seed(0)
    tensors = {"b": torch.randn(3), "a": torch.randn(2).half(), "c.weight": torch.randn(2, 2)}
    paths = [save_safetensors(tensors, tmp_path / f"{i}.safetensors", metadata) for i in range(12)]
    assert {p.read_bytes() for p in paths} == {paths[0].read_bytes()}
    with safe_open(str(paths[0]), "pt") as f:
        assert f.metadata() == metadata
        assert sorted(f.keys()) == sorted(tensors)
        for key, value in tensors.items():
            assert torch.equal(f.get_tensor(key), value)


def test_report_figures_are_byte_identical(tmp_path):
    """matplotlib stamps the date into SVGs and salts their element ids at random unless told otherwise."""
    import matplotlib.pyplot as plt

    from kfbench.report.plots import save

    written = []
    for name in ("a", "b"):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 4], label="psnr")
        ax.legend()
        written.append([p.read_bytes() for p in save(fig, tmp_path / name)])
    assert written[0] == written[1]
    assert b"<dc:date>" not in written[0][1]
