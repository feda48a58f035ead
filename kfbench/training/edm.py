"""EDM training of SVD (Karras et al. 2022, as SVD was trained): noise levels, preconditioning, loss weighting."""

from __future__ import annotations

from dataclasses import dataclass

import torch

P_MEAN, P_STD = 0.7, 1.6


def sample_sigma(generator: torch.Generator) -> torch.Tensor:
    """sigma ~ LogNormal(P_MEAN, P_STD), one per clip (float32 scalar tensor)."""
    return torch.exp(P_MEAN + P_STD * torch.randn((), generator=generator))


@dataclass(frozen=True)
class Preconditioning:
    """D(x) = c_skip x + c_out F(c_in x; c_noise), per clip ([B, 1, 1, 1, 1] or [B] for c_noise)."""

    c_skip: torch.Tensor
    c_out: torch.Tensor
    c_in: torch.Tensor
    c_noise: torch.Tensor


def precondition(sigma: torch.Tensor) -> Preconditioning:
    """SVD's v-prediction preconditioning for per-clip noise levels ``sigma`` [B]."""
    s = sigma.float().view(-1, 1, 1, 1, 1)
    return Preconditioning(
        c_skip=1 / (s**2 + 1),
        c_out=-s / (s**2 + 1) ** 0.5,
        c_in=1 / (s**2 + 1) ** 0.5,
        c_noise=0.25 * sigma.float().log(),
    )


def weighted_loss(denoised: torch.Tensor, target: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """mean over clips of mean(w (D(x) - x0)^2), w = (1 + sigma^2) / sigma^2."""
    weight = ((1 + sigma.float() ** 2) / sigma.float() ** 2).view(-1, 1)
    squared = (denoised.float() - target.float()).pow(2).flatten(1)
    return (weight * squared).mean(dim=1).mean()
