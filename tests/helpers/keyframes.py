"""Keyframes for the keyframe-pipeline tests (Wan, LTX-Video, FramePack) at the tiny models' size."""

from __future__ import annotations

import numpy as np

SIZE = 32  # height and width of the tiny keyframe-pipeline runs


def keyframes(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two random SIZE x SIZE RGB keyframes."""
    rng = np.random.default_rng(seed)
    return tuple(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(2))
