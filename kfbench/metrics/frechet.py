"""Frechet distance between Gaussians fitted to two feature sets, in float64.

Covariance convention: ``"n-1"`` (unbiased; torchmetrics, pytorch-fid) or ``"n"`` (maximum
likelihood; StyleGAN-V, cd-fvd). From statistics, the trace of sqrt(Sigma1 Sigma2) comes from the
eigenvalues of Sigma1 @ Sigma2 (as torchmetrics does). From features (Sigma1 = A.T A,
Sigma2 = B.T B) it is computed exactly and faster: the eigenvalues of the Gram matrix of the cross
matrix A @ B.T, at most D x D, without eigenvectors.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from kfbench.errors import KfbenchError
from kfbench.metrics.protocol import COVARIANCES, Covariance


class SampleSizeWarning(UserWarning):
    """Fewer samples than feature dimensions: a Frechet distance is strongly biased."""


def check_sample_size(n: int, dims: int, what: str) -> None:
    """Error below 2 samples; warning when n < dims (the value is biased at this n)."""
    if n < 2:
        raise KfbenchError(f"{what} needs at least 2 samples in each set, got {n}; evaluate more pairs")
    if n < dims:
        warnings.warn(
            f"{what}: {n} samples < {dims} feature dimensions: the value is biased at this n "
            "(compare only values computed at the same n)",
            SampleSizeWarning,
            stacklevel=3,
        )


def _ddof(covariance: str) -> int:
    if covariance not in COVARIANCES:
        raise KfbenchError(f"covariance convention must be one of {', '.join(COVARIANCES)}, got '{covariance}'")
    return 1 if covariance == "n-1" else 0


def gaussian_stats(features: np.ndarray, covariance: Covariance = "n-1") -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64) of [N, D] features."""
    x = np.asarray(features, dtype=np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False, ddof=_ddof(covariance)).reshape(x.shape[1], x.shape[1])


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(Sigma1 + Sigma2 - 2 sqrt(Sigma1 Sigma2)) in float64."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2).real
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def frechet_distance_features(
    x: np.ndarray,
    y: np.ndarray,
    covariance: Covariance = "n-1",
    *,
    what: str = "Frechet distance",
    device: str = "cpu",
    x_counts: np.ndarray | None = None,
    y_counts: np.ndarray | None = None,
) -> float:
    """Frechet distance between Gaussians fitted to features x [N1, D] and y [N2, D] (float64 on ``device``).

    ``x_counts`` / ``y_counts``: how often each row is repeated (a bootstrap resample given by its
    distinct rows), exactly as if the rows were repeated. Sigma1 = A.T A and Sigma2 = B.T B with
    A, B the centred, weighted rows; Tr sqrt(Sigma1 Sigma2) is the sum of the square roots of the
    eigenvalues of the m x m Gram matrix of A B.T, m = min(rows, D) (a set with more rows than D
    is first reduced to its D x D QR factor R, R.T R = A.T A): no D x D eigenvectors.
    """
    if np.ndim(x) != 2 or np.ndim(y) != 2 or np.shape(x)[1] != np.shape(y)[1]:
        raise KfbenchError(f"{what}: feature sets must be [N, D] with the same D, got {np.shape(x)} and {np.shape(y)}")
    ddof = _ddof(covariance)
    wx, wy = (_counts(c, len(f), device) for c, f in ((x_counts, x), (y_counts, y)))
    check_sample_size(int(min(wx.sum(), wy.sum())), np.shape(x)[1], what)
    mean_x, a = _centred_factor(torch.as_tensor(np.asarray(x), dtype=torch.float64, device=device), wx, ddof)
    mean_y, b = _centred_factor(torch.as_tensor(np.asarray(y), dtype=torch.float64, device=device), wy, ddof)
    mean_term = (mean_x - mean_y).square().sum()
    return float(mean_term + a.square().sum() + b.square().sum() - 2.0 * _trace_sqrt_product(a, b))


def _counts(counts: np.ndarray | None, rows: int, device: str) -> torch.Tensor:
    if counts is None:
        return torch.ones(rows, dtype=torch.float64, device=device)
    return torch.as_tensor(np.asarray(counts), dtype=torch.float64, device=device)


def _centred_factor(f: torch.Tensor, counts: torch.Tensor, ddof: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted mean and A with A.T @ A = the covariance of f's rows, each repeated ``counts`` times."""
    n = counts.sum()
    mean = (counts[:, None] * f).sum(dim=0) / n
    return mean, (f - mean) * (counts / (n - ddof)).sqrt()[:, None]


def _trace_sqrt_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Tr sqrt(A.T A B.T B) = the nuclear norm of A B.T."""
    a, b = (torch.linalg.qr(f, mode="r").R if len(f) > f.shape[1] else f for f in (a, b))
    return _nuclear_norm(a @ b.T)


def _nuclear_norm(cross: torch.Tensor) -> torch.Tensor:
    """Sum of the singular values, from the eigenvalues of the smaller Gram matrix (no SVD, no eigenvectors)."""
    gram = cross @ cross.T if cross.shape[0] <= cross.shape[1] else cross.T @ cross
    return torch.linalg.eigvalsh((gram + gram.T) / 2).clamp(min=0).sqrt().sum()


class FrechetResampler:
    """Frechet distances of resamples (row indices, repeats allowed) of two fixed feature sets.

    The cross products X @ Y.T are computed once (when they fit in ``MAX_CROSS`` entries); a
    resample with at most D distinct rows per set then costs one Gram matrix of its centred,
    weighted cross products and its eigenvalues. Larger resamples take ``frechet_distance_features``
    with row counts. Both equal the distance of the repeated rows.
    """

    MAX_CROSS = 2**25

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        covariance: Covariance = "n-1",
        *,
        what: str = "Frechet distance",
        device: str = "cpu",
    ):
        if np.ndim(x) != 2 or np.ndim(y) != 2 or np.shape(x)[1] != np.shape(y)[1]:
            raise KfbenchError(
                f"{what}: feature sets must be [N, D] with the same D, got {np.shape(x)} and {np.shape(y)}"
            )
        self.x_array, self.y_array, self.covariance, self.what, self.device = x, y, covariance, what, device
        self.ddof = _ddof(covariance)
        self.x = torch.as_tensor(np.asarray(x), dtype=torch.float64, device=device)
        self.y = torch.as_tensor(np.asarray(y), dtype=torch.float64, device=device)
        self.cross = self.x @ self.y.T if len(x) * len(y) <= self.MAX_CROSS else None

    def __call__(self, ix: np.ndarray, iy: np.ndarray) -> float:
        (u, cu), (v, cv) = np.unique(ix, return_counts=True), np.unique(iy, return_counts=True)
        dims = self.x.shape[1]
        if self.cross is None or max(len(u), len(v)) > dims:
            return frechet_distance_features(
                self.x_array[u],
                self.y_array[v],
                self.covariance,
                what=self.what,
                device=self.device,
                x_counts=cu,
                y_counts=cv,
            )
        check_sample_size(int(min(cu.sum(), cv.sum())), dims, self.what)
        wx, wy = _counts(cu, len(u), self.device), _counts(cv, len(v), self.device)
        fx, fy = self.x[torch.as_tensor(u, device=self.device)], self.y[torch.as_tensor(v, device=self.device)]
        mean_x, mean_y = (wx[:, None] * fx).sum(dim=0) / wx.sum(), (wy[:, None] * fy).sum(dim=0) / wy.sum()
        cross = self.cross[torch.as_tensor(u, device=self.device)][:, torch.as_tensor(v, device=self.device)]
        centred = cross - (fx @ mean_y)[:, None] - (fy @ mean_x)[None, :] + mean_x @ mean_y
        scale_x, scale_y = (wx / (wx.sum() - self.ddof)).sqrt(), (wy / (wy.sum() - self.ddof)).sqrt()
        trace_x = (scale_x.square() * (fx - mean_x).square().sum(dim=1)).sum()
        trace_y = (scale_y.square() * (fy - mean_y).square().sum(dim=1)).sum()
        trace_sqrt = _nuclear_norm(centred * scale_x[:, None] * scale_y[None, :])
        return float((mean_x - mean_y).square().sum() + trace_x + trace_y - 2.0 * trace_sqrt)
