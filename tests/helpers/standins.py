"""Cheap stand-ins for the feature networks, for tests of which frames are compared (not of the networks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


class PooledColours(torch.nn.Module):
    """A stand-in for InceptionV3 (uint8 [N, 3, H, W] -> 48-d: each channel averaged over a 4x4 grid of cells)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.adaptive_avg_pool2d(x.float(), 4).flatten(1)


class PooledClip:
    """A stand-in for I3D's ``ClipFeatures`` (a clip uint8 [T, H, W, 3] -> [1, 96]: the mean and the spread over time
    of each frame's pooled colours); built with ClipFeatures' arguments, which it ignores."""

    tag = "pooled-clip-stand-in"
    runs_code = hassony2 = False

    def __init__(self, path: Path, **options: object) -> None:
        self.pool = PooledColours()

    def __call__(self, clip: np.ndarray) -> np.ndarray:
        frames = self.pool(torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2)).double()
        return torch.cat([frames.mean(0), frames.std(0)]).numpy()[None]
