"""Dual-directional sampling (paper Algorithm 2), with plain SVD and TRF as configurations of it.

compute conditioning c_0, c_{N-1}                       (conditioning.encode_keyframes)
z_T ~ N(0, I) * init_noise_sigma                        (interpolator)
for each move of the schedule (recurrence / jumps):
    renoise move: z += noise back to the higher level
    denoise move from sigma to sigma':
        v0, {A_i}   = f_theta(z; t, c_0), recording maps     (forward Request)
        v1          = f_theta'(flip(z); t, c_{N-1}, {A'_i})  (backward Request)
        v           = fuse(v0, flip(v1))                     (steps.fuse)
        z           = update(z, v)                           (steps.euler)
return D(z_0)                                           (interpolator)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from kfbench.methods.svd.attention import Pass
from kfbench.methods.svd.conditioning import Conditioning
from kfbench.methods.svd.denoiser import Denoiser, Request
from kfbench.methods.svd.schedules import Move
from kfbench.methods.svd.steps import Weights, euler, flip_time, fuse
from kfbench.utils.progress import track


@dataclass(frozen=True)
class Directions:
    """What each direction runs: the forward pass from keyframe 1, the backward pass from keyframe 2 (None: forward
    only)."""

    forward: Pass
    backward: Pass | None
    blend: Literal["prediction", "latents"] = "prediction"  # fuse v-predictions (paper) or Euler results (TRF)
    fused_call: bool = False  # both directions in one batched UNet call


def denoise_step(
    denoiser: Denoiser,
    z: torch.Tensor,
    sigma: torch.Tensor,
    sigma_next: torch.Tensor,
    timestep: torch.Tensor,
    first: Conditioning,
    last: Conditioning | None,
    weights: Weights,
    directions: Directions,
) -> torch.Tensor:
    """One denoise move: both directions, fused, one update (or a plain SVD step with no backward direction)."""
    forward = Request(z, first, weights.guidance_forward, directions.forward)
    if directions.backward is None or last is None:
        (v0,) = denoiser([forward], sigma, timestep)
        return euler(z, v0, sigma, sigma_next)
    backward = Request(flip_time(z), last, weights.guidance_backward, directions.backward)
    call = denoiser.batched if directions.fused_call else denoiser
    v0, v1 = call([forward, backward], sigma, timestep)
    v1 = flip_time(v1)
    if directions.blend == "prediction":
        return euler(z, fuse(v0, v1, weights.forward_weight), sigma, sigma_next)
    return fuse(euler(z, v0, sigma, sigma_next), euler(z, v1, sigma, sigma_next), weights.forward_weight)


def sample(
    denoiser: Denoiser,
    z: torch.Tensor,
    *,
    sigmas: torch.Tensor,
    timesteps: torch.Tensor,
    moves: list[Move],
    first: Conditioning,
    last: Conditioning | None,
    weights: Weights,
    directions: Directions,
    generator: torch.Generator,
) -> torch.Tensor:
    """Run the schedule's moves from initial latents ``z`` (already scaled by init_noise_sigma) to z_0."""
    for move in track(moves, "sampling"):
        sigma, sigma_next = sigmas[move.src], sigmas[move.dst]
        if move.renoise:
            std = move.noise_scale * (sigma_next**2 - sigma**2) ** 0.5
            noise = torch.randn(z.shape, generator=generator, dtype=torch.float32).to(z.device, z.dtype)
            z = z + noise * std
        else:
            z = denoise_step(denoiser, z, sigma, sigma_next, timesteps[move.src], first, last, weights, directions)
    return z
