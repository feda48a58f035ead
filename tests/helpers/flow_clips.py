"""Small synthetic clips with known motion (a smooth random texture panned across the frame)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def texture(seed: int, height: int, width: int) -> np.ndarray:
    """A smooth random RGB texture, float32 [H, W, 3] in 0..255 (bicubic upsampling of coarse noise)."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.uniform(0, 255, (1, 3, height // 8, width // 8)).astype(np.float32))
    return F.interpolate(coarse, size=(height, width), mode="bicubic")[0].permute(1, 2, 0).clamp(0, 255).numpy()


def panned(seed: int, frames: int, size: tuple[int, int], step: tuple[int, int]) -> np.ndarray:
    """uint8 [T, H, W, 3]: a window of ``size`` moving ``step`` (dx, dy; at most 4) pixels per frame over a texture."""
    height, width = size
    half = 4 * frames
    big = texture(seed, height + 2 * half, width + 2 * half)
    dx, dy = step
    windows = [big[half + dy * t :][:height, half + dx * t :][:, :width] for t in range(frames)]
    return np.stack(windows).round().astype(np.uint8)
