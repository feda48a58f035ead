"""Kernel Inception Distance from cached features, with torchmetrics' polynomial-kernel MMD."""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.image.kid import poly_mmd

from kfbench.errors import KfbenchError


def kernel_distance(
    x: np.ndarray,
    y: np.ndarray,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    coef: float = 1.0,
    seed: int = 0,
) -> float:
    """Mean unbiased MMD^2 (cubic kernel, gamma = 1/D) over random subsets, as torchmetrics' KID.

    The subset size is at most the smaller set; when it covers both sets every subset is the
    same, so the MMD is computed once.
    """
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise KfbenchError(f"KID needs at least 2 samples in each set, got {min(len(x), len(y))}; evaluate more pairs")
    fx, fy = torch.as_tensor(np.asarray(x), dtype=torch.float64), torch.as_tensor(np.asarray(y), dtype=torch.float64)
    if m == len(x) == len(y):
        return float(poly_mmd(fx, fy, degree=degree, coef=coef))
    generator = torch.Generator().manual_seed(seed)
    values = [
        poly_mmd(
            fx[torch.randperm(len(fx), generator=generator)[:m]],
            fy[torch.randperm(len(fy), generator=generator)[:m]],
            degree=degree,
            coef=coef,
        )
        for _ in range(subsets)
    ]
    return float(torch.stack(values).mean())
