"""Which frames FILM synthesises from which, in what order, at what fractional time.

A plan is a list of rounds; every step of a round reads only keyframes or frames made in earlier
rounds, so a round is one batched model call (or a few, at the batch size cap). Plans depend on
the frame count alone, never on the pixels, so batching them changes no result.

- ``recursive``: recursive midpoint bisection, as the original FILM release generates video
  (``times_to_interpolate`` = k gives 2^k + 1 frames); every step is at t = 0.5, the only time
  FILM was trained for. Needs num_frames = 2^k + 1.
- ``greedy``: the PyTorch port's inference script: repeatedly synthesise the remaining frame
  whose time lies nearest the middle of the two known frames around it, at that fractional
  time. Identical to ``recursive`` for 2^k + 1 frames. Computed in float32 exactly as the script
  does, whose rounding breaks the many exact ties: for 25 frames it makes 15 midpoints, 6 frames
  at t = 1/3 and 2 at t = 2/3.
- ``uniform``: every in-between directly from the two keyframes at t = i / (num_frames - 1),
  one batched call; far from the midpoint this asks FILM for times it was not trained on.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

import torch

from kfbench.errors import KfbenchError

Schedule = Literal["recursive", "greedy", "uniform"]
SCHEDULES: tuple[str, ...] = ("recursive", "greedy", "uniform")


@dataclass(frozen=True)
class Step:
    """Synthesise frame ``target`` from frames ``left`` and ``right`` at fractional time ``time``."""

    target: int
    left: int
    right: int
    time: float


def plan(schedule: str, num_frames: int) -> list[list[Step]]:
    """Rounds of steps that fill frames 1 .. num_frames - 2 from frames 0 and num_frames - 1."""
    if num_frames < 2:
        raise KfbenchError(f"FILM needs at least 2 frames, got {num_frames}")
    if schedule == "recursive":
        return recursive_midpoint(num_frames)
    if schedule == "greedy":
        return in_rounds(greedy_nearest_midpoint(num_frames))
    if schedule == "uniform":
        return uniform(num_frames)
    raise KfbenchError(f"unknown FILM schedule '{schedule}'; valid: {', '.join(SCHEDULES)}")


def recursive_midpoint(num_frames: int) -> list[list[Step]]:
    """Bisect every gap until all frames exist; round r makes the midpoints of the 2^(r-1) gaps."""
    gaps = num_frames - 1
    if gaps & (gaps - 1):
        raise KfbenchError(
            f"schedule 'recursive' needs 2^k + 1 frames (3, 5, 9, 17, 33, ...), got {num_frames}; "
            "use --schedule greedy (nearest-midpoint order, fractional times) or --schedule uniform"
        )
    rounds = []
    span = gaps
    while span > 1:
        half = span // 2
        rounds.append([Step(left + half, left, left + span, 0.5) for left in range(0, gaps, span)])
        span = half
    return rounds


def greedy_nearest_midpoint(num_frames: int) -> list[Step]:
    """The sequential order of the port's script: always the remaining frame nearest a gap's middle.

    Computed as the script does, in float32 (torch.linspace times, first minimum in gap-major
    order), so its rounding breaks the many exact ties the same way.
    """
    times = torch.linspace(0, 1, num_frames)
    known = [0, num_frames - 1]
    remaining = list(range(1, num_frames - 1))
    steps = []
    while remaining:
        starts, ends = times[known[:-1]], times[known[1:]]
        relative = (times[None, remaining] - starts[:, None]) / (ends[:, None] - starts[:, None])
        flat = int(torch.argmin((relative - 0.5).abs()))
        gap, column = divmod(flat, len(remaining))
        steps.append(Step(remaining[column], known[gap], known[gap + 1], float(relative[gap, column])))
        bisect.insort(known, remaining.pop(column))
    return steps


def uniform(num_frames: int) -> list[list[Step]]:
    """All in-betweens from the keyframes at their own times, in one round."""
    last = num_frames - 1
    steps = [Step(i, 0, last, i / last) for i in range(1, last)]
    return [steps] if steps else []


def in_rounds(steps: list[Step]) -> list[list[Step]]:
    """Group a sequential order into rounds: a step's round is one after the later of its inputs'."""
    depth: dict[int, int] = {}
    rounds: list[list[Step]] = []
    for step in steps:
        level = max(depth.get(step.left, 0), depth.get(step.right, 0)) + 1
        depth[step.target] = level
        if level > len(rounds):
            rounds.append([])
        rounds[level - 1].append(step)
    return rounds
