"""``kid``: Kernel Inception Distance from cached InceptionV3 features, with torchmetrics' polynomial-kernel MMD."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.fid import INCEPTION
from kfbench.metrics.shapes import InceptionDistance

if TYPE_CHECKING:
    import torch

    from kfbench.metrics.tidy import Context, Scorer

BOOTSTRAP_SUBSETS = 10  # subsets per bootstrap resample (the point estimate uses --kid-subsets)


class KernelDistance:
    """KID between all pairs of subsets of two feature sets, from kernels computed once.

    The mean unbiased MMD^2 (cubic polynomial kernel, gamma = 1/D, coef 1: torchmetrics' KID)
    over random subsets of size at most the smaller set; when a subset covers both sets every
    subset is the same, so the MMD is computed once.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *, degree: int = 3, coef: float = 1.0, device: str = "cpu"):
        import torch
        from torchmetrics.image.kid import poly_kernel

        fx = torch.as_tensor(np.asarray(x), dtype=torch.float64, device=device)
        fy = torch.as_tensor(np.asarray(y), dtype=torch.float64, device=device)
        self.k_xx = poly_kernel(fx, fx, degree, None, coef)
        self.k_yy = poly_kernel(fy, fy, degree, None, coef)
        self.k_xy = poly_kernel(fx, fy, degree, None, coef)

    def __call__(
        self, ix: np.ndarray, iy: np.ndarray, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
    ) -> float:
        """KID of the samples at indices ``ix`` of x and ``iy`` of y (repeats allowed)."""
        import torch

        m = min(subset_size, len(ix), len(iy))
        if m < 2:
            raise KfbenchError(
                f"KID needs at least 2 samples in each set, got {min(len(ix), len(iy))}; evaluate more pairs"
            )
        ix, iy = torch.as_tensor(ix), torch.as_tensor(iy)
        if m == len(ix) == len(iy):
            return float(self._mmd(ix, iy))
        generator = torch.Generator().manual_seed(seed)
        values = [
            self._mmd(
                ix[torch.randperm(len(ix), generator=generator)[:m]],
                iy[torch.randperm(len(iy), generator=generator)[:m]],
            )
            for _ in range(subsets)
        ]
        return float(torch.stack(values).mean())

    def _mmd(self, ix: torch.Tensor, iy: torch.Tensor) -> torch.Tensor:
        from torchmetrics.image.kid import maximum_mean_discrepancy

        ix, iy = ix.to(self.k_xx.device), iy.to(self.k_xx.device)
        return maximum_mean_discrepancy(self.k_xx[ix][:, ix], self.k_xy[ix][:, iy], self.k_yy[iy][:, iy])


def kernel_distance(
    x: np.ndarray, y: np.ndarray, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> float:
    """KID between feature sets x [N1, D] and y [N2, D]."""
    return KernelDistance(x, y)(
        np.arange(len(x)), np.arange(len(y)), subsets=subsets, subset_size=subset_size, seed=seed
    )


class KidMetric(InceptionDistance):
    name = "kid"
    description = "Kernel Inception Distance over the compared frames (cubic polynomial MMD)"
    higher_is_better = False
    label, digits, table = "KID", 4, "table1"
    weights = (INCEPTION,)
    papers = ("Binkowski et al.: Demystifying MMD GANs, ICLR 2018",)

    def prepare(self) -> Scorer:
        config = self.config
        bootstrap_subsets = min(config.kid_subsets, BOOTSTRAP_SUBSETS)

        def prepare(x: np.ndarray, y: np.ndarray) -> Any:
            kernels = KernelDistance(x, y, device=config.device)
            return lambda ix, iy, resample: kernels(
                ix,
                iy,
                subsets=bootstrap_subsets if resample else config.kid_subsets,
                subset_size=config.kid_subset_size,
                seed=config.seed,
            )

        return prepare

    def rows(self, kept: list[tuple[np.ndarray, np.ndarray]], ctx: Context) -> list[dict[str, Any]]:
        config = self.config
        bootstrap_subsets = min(config.kid_subsets, BOOTSTRAP_SUBSETS)
        settings = {
            **self.settings(ctx),
            "subsets": config.kid_subsets,
            "subset_size": config.kid_subset_size,
            "bootstrap_subsets": bootstrap_subsets,
            "kernel": "cubic polynomial, gamma 1/D, coef 1",
        }
        return [self.distance_row(ctx, kept, self.image.tag, settings, frechet=False)]
