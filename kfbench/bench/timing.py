"""The one timed loop: the benchmark's keyframes, a timer on a network's forwards, and one timed video."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from kfbench.bench.device import peak_memory, reset_peak_memory, sync
from kfbench.registry import create_dataset


def keyframes(num_frames: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The first synthetic pair's keyframes at the method's frame size."""
    data = create_dataset("synthetic", num_pairs=1, num_frames=num_frames, height=height, width=width)
    pair = data.load(data.pair_ids()[0])
    return pair.first, pair.last


class NetworkTimer:
    """Counts a network's forwards and the time spent in them (forward hooks; CUDA synchronised)."""

    def __init__(self, network: torch.nn.Module | tuple[torch.nn.Module, ...], device: str) -> None:
        self.device = device
        self.forwards, self.seconds, self._start = 0, 0.0, 0.0
        modules = (network,) if isinstance(network, torch.nn.Module) else network  # several: e.g. Wan 2.2's two experts
        self._hooks = [
            h
            for m in modules
            for h in (m.register_forward_pre_hook(self._before), m.register_forward_hook(self._after))
        ]

    def _before(self, *_: Any) -> None:
        sync(self.device)
        self._start = time.perf_counter()

    def _after(self, *_: Any) -> None:
        sync(self.device)
        self.forwards += 1
        self.seconds += time.perf_counter() - self._start

    def reset(self) -> None:
        self.forwards, self.seconds = 0, 0.0

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()


def timed_video(
    method: Any,
    frames: tuple[np.ndarray, np.ndarray],
    num_frames: int,
    *,
    seed: int,
    device: str,
    timer: NetworkTimer | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One video of ``method``: its frames, and wall and CPU time, network time and forwards, peak memory."""
    reset_peak_memory(device)
    if timer is not None:
        timer.reset()
    start, cpu_start = time.perf_counter(), time.process_time()
    video = method.interpolate(*frames, num_frames=num_frames, seed=seed)
    sync(device)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    memory, kind = peak_memory(device)
    return video, {
        "wall_s": wall,
        "cpu_s": cpu,  # this process's CPU time (all threads): steadier than wall time on a shared machine
        "network_s": timer.seconds if timer else None,
        "network_forwards": timer.forwards if timer else None,
        "peak_memory_bytes": memory,
        "peak_memory_kind": kind,
    }
