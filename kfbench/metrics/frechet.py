"""Frechet distance between Gaussians fitted to two feature sets, in float64.

Covariance convention: ``"n-1"`` (unbiased; torchmetrics, pytorch-fid) or ``"n"`` (maximum
likelihood; StyleGAN-V, cd-fvd). From statistics, the trace of sqrt(Sigma1 Sigma2) comes from the
eigenvalues of Sigma1 @ Sigma2 (as torchmetrics does). From features (Sigma1 = A.T A,
Sigma2 = B.T B) it is computed exactly and faster: the singular values of the small cross matrix
A @ B.T when a set has fewer samples than dimensions, else symmetric eigenvalues.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import torch

from kfbench.errors import KfbenchError

Covariance = Literal["n-1", "n"]
COVARIANCES: tuple[str, ...] = ("n-1", "n")


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
    x: np.ndarray, y: np.ndarray, covariance: Covariance = "n-1", *, what: str = "Frechet distance", device: str = "cpu"
) -> float:
    """Frechet distance between Gaussians fitted to features x [N1, D] and y [N2, D] (float64 on ``device``).

    With fewer samples than dimensions, Tr sqrt(Sigma1 Sigma2) is the nuclear norm of the small
    cross matrix A @ B.T; otherwise the eigenvalues of the symmetric R Sigma2 R, R = sqrt(Sigma1).
    """
    if np.ndim(x) != 2 or np.ndim(y) != 2 or np.shape(x)[1] != np.shape(y)[1]:
        raise KfbenchError(f"{what}: feature sets must be [N, D] with the same D, got {np.shape(x)} and {np.shape(y)}")
    ddof = _ddof(covariance)
    check_sample_size(min(len(x), len(y)), np.shape(x)[1], what)
    fx = torch.as_tensor(np.asarray(x), dtype=torch.float64, device=device)
    fy = torch.as_tensor(np.asarray(y), dtype=torch.float64, device=device)
    a = (fx - fx.mean(dim=0)) / np.sqrt(len(fx) - ddof)
    b = (fy - fy.mean(dim=0)) / np.sqrt(len(fy) - ddof)
    if min(len(a), len(b)) <= a.shape[1]:
        trace_sqrt = torch.linalg.svdvals(a @ b.T).sum()
    else:
        values, vectors = torch.linalg.eigh(a.T @ a)
        root = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
        product = root @ (b.T @ b) @ root
        trace_sqrt = torch.linalg.eigvalsh((product + product.T) / 2).clamp(min=0).sqrt().sum()
    mean_term = (fx.mean(dim=0) - fy.mean(dim=0)).square().sum()
    return float(mean_term + a.square().sum() + b.square().sum() - 2.0 * trace_sqrt)
