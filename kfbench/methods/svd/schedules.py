"""Sampling schedules as plain lists of moves between noise levels.

Level k is the k-th sigma of the scheduler (level 0 is sigma_max, level S is 0). A denoise move
takes one step from level k to k+1; a renoise move adds Gaussian noise that takes the latents
from level k+1 back up to level k (std ``noise_scale * sqrt(sigma_k^2 - sigma_{k+1}^2)``).
"""

from __future__ import annotations

from typing import NamedTuple


class Move(NamedTuple):
    renoise: bool
    src: int
    dst: int
    noise_scale: float = 1.0


def denoise(level: int) -> Move:
    return Move(False, level, level + 1)


def renoise(level: int, noise_scale: float = 1.0) -> Move:
    """From level ``level`` back up to ``level - 1``."""
    return Move(True, level, level - 1, noise_scale)


def plain_schedule(steps: int) -> list[Move]:
    return [denoise(k) for k in range(steps)]


def recurrence_schedule(steps: int, recurrence: int, ratio: float) -> list[Move]:
    """Per-step recurrence (paper Sec. 4.3; release ``noise_injection_steps/ratio``).

    For each of the first ``int(steps * ratio)`` steps, after the step from k to k+1, ``recurrence``
    times: re-inject noise back to level k and redo the step.
    """
    moves = []
    for k in range(steps):
        moves.append(denoise(k))
        if k < int(steps * ratio):
            for _ in range(recurrence):
                moves += [renoise(k + 1), denoise(k)]
    return moves


def jump_schedule(
    steps: int, jump_length: int, jump_n_sample: int, repeat_step_ratio: float, noise_scale: float
) -> list[Move]:
    """TRF's RePaint-style schedule: jump back ``jump_length`` levels, ``jump_n_sample - 1`` times per jump point.

    Jump points are the levels ``steps - t`` for t in range(int(steps * repeat_step_ratio),
    steps - jump_length, jump_length); repeat_step_ratio = 1 means no jumps. With 50 steps and TRF's
    defaults (5, 2, 0.8): steps 0..9, back up to level 5, then steps 5..49 (55 steps).
    """
    remaining = {
        steps - t: jump_n_sample - 1 for t in range(int(steps * repeat_step_ratio), steps - jump_length, jump_length)
    }
    moves: list[Move] = []
    level = 0
    while level < steps:
        moves.append(denoise(level))
        level += 1
        if remaining.get(level, 0) > 0:
            remaining[level] -= 1
            for _ in range(jump_length):
                moves.append(renoise(level, noise_scale))
                level -= 1
    return moves


def denoise_count(moves: list[Move]) -> int:
    return sum(not m.renoise for m in moves)
