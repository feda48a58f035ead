"""Which frames are compared: generated frames by index, ground-truth frames nearest in time."""

from __future__ import annotations

import math

from kfbench.errors import KfbenchError


def selected_indices(num_generated: int, include_keyframes: bool) -> list[int]:
    """In-between frames (1 .. T-2) by default; every frame with the keyframes."""
    return list(range(num_generated)) if include_keyframes else list(range(1, num_generated - 1))


def nearest_truth_indices(frame_times: list[float], indices: list[int], num_truth: int) -> list[int]:
    """For each generated frame, the ground-truth frame nearest its time (GT frame i is at i / (T - 1))."""
    return [min(num_truth - 1, max(0, math.floor(frame_times[i] * (num_truth - 1) + 0.5))) for i in indices]


def centred_window(count: int, size: int | None) -> slice:
    """The ``size`` consecutive positions at the centre of ``count`` (all of them for None)."""
    if size is None or size >= count:
        if size is not None and size > count:
            raise KfbenchError(f"--fvd-window {size} is longer than the {count} frames compared per clip")
        return slice(0, count)
    start = (count - size) // 2
    return slice(start, start + size)
