"""Which frames a two-frame interpolator synthesises from which, in what order, at what fractional time.

A plan works on its own grid of ``positions`` frames, keyframes at 0 and ``positions - 1``, and
is a list of rounds; every step of a round reads only keyframes or frames made in earlier rounds,
so a round is one batched model call (or a few, at the batch size cap). ``kept`` are the grid
positions returned, one per output frame, and ``times`` their times in [0, 1]: the frame-time map
the run records in meta.json (``frame_times``) and evaluation maps onto the benchmark's grid.
Plans depend on the frame count alone, never on the pixels, so batching them changes no result.

- ``uniform``: every in-between directly from the two keyframes at t = i / (num_frames - 1), one
  batched call: the direct inference of models trained for any t (RIFE 4.x, AMT); their default.
- ``recursive``: recursive midpoint bisection, every step at t = 0.5, for models trained for the
  midpoint only (FILM; FILM's release makes 2^k + 1 frames by ``times_to_interpolate`` = k). For
  num_frames = 2^k + 1 the bisection frames are the output. For other counts it bisects to the
  first depth k with 2^k >= num_frames - 1 and returns, for each i / (num_frames - 1), the frame
  nearest it in time (ties to the earlier), whose time j / 2^k is recorded; frames no output
  needs are not made. For 25 frames: depth 5, the 23 in-betweens at j / 32 (j = 1, 3, 4, 5, 7, ...;
  at most 1/96 from i / 24), 31 network calls in 5 rounds.
- ``greedy``: the FILM PyTorch port's inference script: repeatedly synthesise the remaining frame
  whose time lies nearest the middle of the two known frames around it, at that fractional time.
  Identical to ``recursive`` for 2^k + 1 frames. Computed in float32 exactly as the script does,
  whose rounding breaks the many exact ties: for 25 frames it makes 15 midpoints, 6 frames at
  t = 1/3 and 2 at t = 2/3.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

import torch

from kfbench.errors import KfbenchError

Schedule = Literal["uniform", "recursive", "greedy"]
SCHEDULES: tuple[str, ...] = ("uniform", "recursive", "greedy")


@dataclass(frozen=True)
class Step:
    """Synthesise grid frame ``target`` from grid frames ``left`` and ``right`` at fractional time ``time``."""

    target: int
    left: int
    right: int
    time: float


@dataclass(frozen=True)
class Plan:
    """Rounds of steps on a grid of ``positions`` frames, and the grid positions returned, in order."""

    positions: int
    rounds: list[list[Step]]
    kept: list[int]

    @property
    def times(self) -> list[float]:
        """Time in [0, 1] of each returned frame."""
        return [p / (self.positions - 1) for p in self.kept]

    @property
    def calls(self) -> int:
        """Frames synthesised (network evaluations)."""
        return sum(len(r) for r in self.rounds)


def plan(schedule: str, num_frames: int) -> Plan:
    """The plan that fills frames 1 .. num_frames - 2 from frames 0 and num_frames - 1."""
    if num_frames < 2:
        raise KfbenchError(f"a frame interpolator needs at least 2 frames, got {num_frames}")
    every = list(range(num_frames))
    if schedule == "uniform":
        return Plan(num_frames, uniform(num_frames), every)
    if schedule == "greedy":
        return Plan(num_frames, in_rounds(greedy_nearest_midpoint(num_frames)), every)
    if schedule == "recursive":
        return bisection(num_frames)
    raise KfbenchError(f"unknown schedule '{schedule}'; valid: {', '.join(SCHEDULES)}")


def uniform(num_frames: int) -> list[list[Step]]:
    """All in-betweens from the keyframes at their own times, in one round."""
    last = num_frames - 1
    steps = [Step(i, 0, last, i / last) for i in range(1, last)]
    return [steps] if steps else []


def bisection(num_frames: int) -> Plan:
    """Midpoints only, to the first depth whose grid has a frame for every output; unneeded frames skipped."""
    gaps = num_frames - 1
    depth = max(gaps - 1, 0).bit_length()  # the smallest k with 2^k >= gaps
    span = 1 << depth
    kept = [nearest_position(i, gaps, span) for i in range(num_frames)]
    needed = set(kept[1:-1])
    levels = [
        [Step(p, p - half, p + half, 0.5) for p in range(half, span, 2 * half)]
        for half in (span >> level for level in range(1, depth + 1))
    ]  # coarse to fine
    for steps in reversed(levels):  # a frame's inputs lie on coarser levels
        needed.update(p for s in steps if s.target in needed for p in (s.left, s.right) if 0 < p < span)
    rounds = [[s for s in steps if s.target in needed] for steps in levels]
    return Plan(span + 1, [r for r in rounds if r], kept)


def nearest_position(index: int, gaps: int, span: int) -> int:
    """The grid position j of 0 .. span whose time j / span is nearest index / gaps (the earlier on a tie)."""
    whole, rest = divmod(index * span, gaps)
    return whole + (2 * rest > gaps)


def greedy_nearest_midpoint(num_frames: int) -> list[Step]:
    """The sequential order of the FILM port's script: always the remaining frame nearest a gap's middle.

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
