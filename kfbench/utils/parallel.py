"""Per-frame work on every core: a thread pool sized to the machine (OpenCV, numpy and torch release the GIL).

Results come back in the order of the inputs, so sums over them are the same whatever the number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNK_FRAMES = 4
"""Frames held as floats at once per clip by the streamed metrics (SSIM, PSNR, flicker): memory is bounded by the
frame size, not by the clip's length."""


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=cores(), thread_name_prefix="kfbench-frames")


def map_ordered(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]``, run on every core."""
    items = list(items)
    if len(items) < 2 or cores() == 1:
        return [fn(x) for x in items]
    return list(_pool().map(fn, items))


def chunks(count: int, size: int = CHUNK_FRAMES) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(count)``."""
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


BATCH_SIZE_AT = (576, 1024)
"""The frame size (height, width) at which a network takes its full batch."""


def frames_per_batch(height: int, width: int, most: int) -> int:
    """Frames a network takes at once: ``most`` up to ``BATCH_SIZE_AT``; for larger frames as many as hold the same
    pixels (at least 1), so that its memory stays what it is at 576x1024 (a network's values are per frame)."""
    full = most * BATCH_SIZE_AT[0] * BATCH_SIZE_AT[1]
    return max(1, min(most, full // (height * width)))
