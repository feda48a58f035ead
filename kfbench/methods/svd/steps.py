"""Step rules: classifier-free guidance, the EDM Euler update and the ways two directions are fused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

Fusion = Literal["average", "weighted"]


def flip_time(x: torch.Tensor) -> torch.Tensor:
    """Reverse the frame axis of [B, N, C, H, W] latents."""
    return torch.flip(x, dims=(1,))


def per_frame(values: torch.Tensor) -> torch.Tensor:
    """[N] -> [1, N, 1, 1, 1], to broadcast over [B, N, C, H, W] latents."""
    return values.view(1, -1, 1, 1, 1)


@dataclass(frozen=True)
class Weights:
    """Per-frame guidance of each direction (each in its own frame order) and the forward fusion weight."""

    guidance_forward: torch.Tensor
    guidance_backward: torch.Tensor
    forward_weight: torch.Tensor


def fusion_weights(fusion: Fusion, num_frames: int, min_guidance: float, max_guidance: float) -> Weights:
    """The release's two modes.

    ``average``: weight 0.5 each, guidance symmetrised to (g + flip(g)) / 2 for both directions.
    ``weighted``: each direction keeps its min -> max ramp in its own frame order; the forward
    prediction gets per-frame weight linspace(1, 0, N), the backward (flipped back) the rest.
    """
    ramp = torch.linspace(min_guidance, max_guidance, num_frames)
    if fusion == "average":
        symmetric = (ramp + torch.flip(ramp, (0,))) * 0.5
        return Weights(symmetric, symmetric, torch.full((num_frames,), 0.5))
    if fusion == "weighted":
        return Weights(ramp, ramp, torch.linspace(1, 0, num_frames))
    raise ValueError(f"unknown fusion '{fusion}'")


def guide(uncond: torch.Tensor | None, cond: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Classifier-free guidance with a per-frame scale; no unconditional half means no guidance."""
    if uncond is None:
        return cond
    return uncond + per_frame(scale).to(cond) * (cond - uncond)


def v_to_x0(v: torch.Tensor, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """EDM v-prediction preconditioning: x0 = c_skip x + c_out v (computed in float32)."""
    return v.float() * (-sigma / (sigma**2 + 1) ** 0.5) + x.float() / (sigma**2 + 1)


def euler(x: torch.Tensor, v: torch.Tensor, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
    """One Euler step of the probability-flow ODE from sigma to sigma_next (diffusers' EulerDiscreteScheduler, s_churn
    0)."""
    x32 = x.float()
    derivative = (x32 - v_to_x0(v, x32, sigma)) / sigma
    return (x32 + derivative * (sigma_next - sigma)).to(x.dtype)


def fuse(forward: torch.Tensor, backward_flipped: torch.Tensor, forward_weight: torch.Tensor) -> torch.Tensor:
    """Per-frame weighted sum of a forward and a flipped-back backward tensor.

    The paper fuses the two v-predictions before one Euler step; TRF fuses the two Euler results.
    """
    w = per_frame(forward_weight).to(forward)
    return w * forward + (1 - w) * backward_flipped


def guided_x0(x0_uncond: torch.Tensor, x0_cond: torch.Tensor, scale: float) -> torch.Tensor:
    """ViBiDSampler's CFG on the x0 estimates, one weight for every frame."""
    return x0_uncond + scale * (x0_cond - x0_uncond)


def replace_last_frame(x0: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
    """DDS with a mask on the last frame only: its data-consistency step is replacement by the keyframe latent."""
    out = x0.clone()
    out[:, -1] = latent.to(out)
    return out


def cfgpp_update(
    x: torch.Tensor, x0: torch.Tensor, x0_uncond: torch.Tensor, sigma, sigma_next, cfgpp: bool = True
) -> torch.Tensor:
    """CFG++ Euler step x' = x0 + (sigma'/sigma)(x - x0_uncond); with ``cfgpp`` off the plain Euler step on x0."""
    anchor = x0_uncond if cfgpp else x0
    return x0 + (sigma_next / sigma) * (x.float() - anchor)
