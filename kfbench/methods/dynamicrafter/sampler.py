"""The release's DDIM sampler for v-prediction with CFG, guidance rescale and dynamic rescale."""

from __future__ import annotations

from collections.abc import Callable

import torch

from kfbench.methods.dynamicrafter.schedule import DDIMSchedule
from kfbench.utils.progress import track

# (x, t) -> v prediction under the conditional / unconditional context
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def rescale_guidance(guided: torch.Tensor, conditional: torch.Tensor, rescale: float) -> torch.Tensor:
    """Mix the guided prediction with itself rescaled to the conditional one's per-sample std."""
    dims = list(range(1, conditional.ndim))
    std_cond = conditional.std(dim=dims, keepdim=True)
    std_guided = guided.std(dim=dims, keepdim=True)
    rescaled = guided * (std_cond / std_guided)
    return rescale * rescaled + (1 - rescale) * guided


def sample(
    x: torch.Tensor,
    schedule: DDIMSchedule,
    sqrt_alphas_cumprod: torch.Tensor,
    sqrt_one_minus_alphas_cumprod: torch.Tensor,
    conditional: Denoiser,
    unconditional: Denoiser | None,
    *,
    guidance_scale: float,
    guidance_rescale: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Run DDIM from ``x`` (the initial noise) down the schedule; returns the final latent.

    Per step t -> t_prev: v = v_u + s (v_c - v_u), rescaled with ``guidance_rescale``; eps and x0 from
    v; x0 *= scale_prev / scale; x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev - sigma^2) eps + sigma z
    with fresh noise z at every step, the last included.
    """
    b, device = x.shape[0], x.device

    def f32(value: float) -> torch.Tensor:
        return torch.tensor(float(value), dtype=torch.float32, device=device)

    for index in track(range(len(schedule.timesteps) - 1, -1, -1), "DynamiCrafter DDIM"):
        step = int(schedule.timesteps[index])
        t = torch.full((b,), step, device=device, dtype=torch.long)
        v = conditional(x, t)
        if unconditional is not None and guidance_scale != 1.0:
            v_cond = v
            v_uncond = unconditional(x, t)
            v = v_uncond + guidance_scale * (v_cond - v_uncond)
            if guidance_rescale > 0.0:
                v = rescale_guidance(v, v_cond, guidance_rescale)
        v = v.float()  # the release's schedule lookups are float32 [B,1,1,1,1] tensors, promoting v
        sqrt_a, sqrt_1m_a = sqrt_alphas_cumprod[step], sqrt_one_minus_alphas_cumprod[step]
        eps = sqrt_a * v + sqrt_1m_a * x
        x0 = sqrt_a * x - sqrt_1m_a * v
        x0 = x0 * (f32(schedule.scale_prev[index]) / f32(schedule.scale[index]))
        a_prev, sigma = f32(schedule.alphas_prev[index]), f32(schedule.sigmas[index])
        # At the zero-SNR step with eta 1, 1 - a_prev - sigma^2 is 0 up to float32 rounding: +6e-8 for
        # 50 steps (kept, as in the release), -6e-8 for 25 (NaN in the release; clamped to 0 here).
        dir_xt = (1.0 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
        noise = torch.randn(x.shape, generator=generator, device=device, dtype=torch.float32)
        x = a_prev.sqrt() * x0 + dir_xt + sigma * noise
    return x
