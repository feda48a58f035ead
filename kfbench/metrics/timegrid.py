"""The benchmark's time grid: the one real set of a dataset and protocol, and each method's frames mapped onto it.

A pair spans keyframe to keyframe, t = 0 .. 1. The grid has N frames at t = j / (N - 1); N is the
protocol's frame count or, without one, the pair's ground-truth frame count. The real set is the
ground-truth frame nearest each grid time, resized and centre-cropped to the compared size; it
never depends on the method. A method's frames (meta.json ``frame_times``, its ``output_times``)
are mapped onto the grid by ``MAPPING_RULE``, whatever their number (DynamiCrafter's 16, 81, 8k+1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.utils.imageops import resize_center_crop

MAPPING_RULE = (
    "each grid time takes the generated frame nearest it in time (meta.json frame_times; ties to the earlier frame)"
)


def grid_times(count: int) -> list[float]:
    """``count`` evenly spaced times from the first keyframe (0) to the second (1)."""
    return [j / (count - 1) for j in range(count)]


def nearest(times: Sequence[float], targets: Sequence[float]) -> list[int]:
    """For each target time, the index of the nearest of ``times`` (the earlier one on a tie)."""
    source = np.asarray(times, dtype=np.float64)
    return [int(np.argmin(np.round(np.abs(source - t), 9))) for t in targets]


def grid_positions(count: int, include_keyframes: bool) -> list[int]:
    """The compared grid positions: the in-between ones (1 .. N-2), or all of them with the keyframes."""
    return list(range(count)) if include_keyframes else list(range(1, count - 1))


def clip_window(count: int, size: int | None, start: str) -> slice:
    """``size`` consecutive positions of ``count`` (all for None), the ``"centre"`` ones or the ``"first"``."""
    if size is None or size == count:
        return slice(0, count)
    if size > count:
        raise KfbenchError(
            f"the FVD window of {size} frames is longer than the {count} frames compared per clip; "
            "pass a smaller --fvd-window or --include-keyframes"
        )
    begin = 0 if start == "first" else (count - size) // 2
    return slice(begin, begin + size)


def take(frames: np.ndarray, indices: list[int]) -> np.ndarray:
    """``frames[indices]``, as a view (no copy of the clip) when the indices are evenly spaced upwards."""
    steps = set(np.diff(indices).tolist())
    if len(indices) > 1 and len(steps) == 1 and (step := steps.pop()) > 0:
        return frames[indices[0] : indices[-1] + 1 : step]
    return frames[indices]


@dataclass
class PairFrames:
    """One pair on the grid: the compared generated frames and the real set's frames, position by position."""

    pair_id: str
    generated: np.ndarray
    truth: np.ndarray
    positions: list[int]
    generated_indices: list[int]
    truth_indices: list[int]
    times: list[float]
    num_generated: int
    num_truth: int
    num_grid: int
    mapped: bool


def on_grid(
    pair_id: str,
    generated: np.ndarray,
    times: Sequence[float],
    truth: np.ndarray,
    frames: int | None,
    size: tuple[int, int] | None,
    include_keyframes: bool,
    truth_times: Sequence[float] | None = None,
) -> PairFrames:
    """Map a method's frames (at ``times``) and the ground truth onto the grid, at ``size`` (W, H; None: the
    truth's). The truth's frames are evenly spaced unless ``truth_times`` gives theirs (a reference run's)."""
    count = frames or len(truth)
    grid = grid_times(count)
    positions = grid_positions(count, include_keyframes)
    wanted = [grid[j] for j in positions]
    generated_indices = nearest(times, wanted)
    truth_indices = nearest(grid_times(len(truth)) if truth_times is None else truth_times, wanted)
    height, width = (size[1], size[0]) if size else truth.shape[1:3]
    mapped = len(times) != count or not np.allclose(times, grid, atol=1e-6)
    return PairFrames(
        pair_id,
        resize_center_crop(take(generated, generated_indices), height, width),
        resize_center_crop(take(truth, truth_indices), height, width),
        positions,
        generated_indices,
        truth_indices,
        wanted,
        len(generated),
        len(truth),
        count,
        mapped,
    )
