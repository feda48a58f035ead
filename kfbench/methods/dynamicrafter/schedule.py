"""The release's diffusion schedule: zero-terminal-SNR betas, DDIM trailing timesteps, dynamic rescale.

Arrays are computed in float64 with numpy and stored as float32, as lvdm's ``register_schedule``
does; these are the 13 top-level buffers of the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SCHEDULE_BUFFERS = (
    "betas",
    "alphas_cumprod",
    "alphas_cumprod_prev",
    "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod",
    "sqrt_recip_alphas_cumprod",
    "sqrt_recipm1_alphas_cumprod",
    "posterior_variance",
    "posterior_log_variance_clipped",
    "posterior_mean_coef1",
    "posterior_mean_coef2",
)


def linear_betas(num_timesteps: int, linear_start: float, linear_end: float) -> np.ndarray:
    """lvdm's "linear" schedule: linspace of square roots, squared (float64)."""
    return torch.linspace(linear_start**0.5, linear_end**0.5, num_timesteps, dtype=torch.float64).numpy() ** 2


def rescale_zero_terminal_snr(betas: np.ndarray) -> np.ndarray:
    """Shift and scale sqrt(alphas_cumprod) so the last step has zero SNR (Lin et al. 2023, Alg. 1)."""
    sqrt_bar = np.sqrt(np.cumprod(1.0 - betas, axis=0))
    first, last = sqrt_bar[0].copy(), sqrt_bar[-1].copy()
    sqrt_bar = (sqrt_bar - last) * (first / (first - last))
    bar = sqrt_bar**2
    alphas = np.concatenate([bar[0:1], bar[1:] / bar[:-1]])
    return 1.0 - alphas


def schedule_buffers(
    num_timesteps: int = 1000,
    linear_start: float = 0.00085,
    linear_end: float = 0.012,
    zero_snr: bool = True,
    parameterization: str = "v",
) -> dict[str, torch.Tensor]:
    """The DDPM arrays lvdm registers (float32), by name."""
    betas = linear_betas(num_timesteps, linear_start, linear_end)
    if zero_snr:
        betas = rescale_zero_terminal_snr(betas)
    alphas = 1.0 - betas
    acp = np.cumprod(alphas, axis=0)
    acp_prev = np.append(1.0, acp[:-1])
    with np.errstate(divide="ignore"):
        arrays = {
            "betas": betas,
            "alphas_cumprod": acp,
            "alphas_cumprod_prev": acp_prev,
            "sqrt_alphas_cumprod": np.sqrt(acp),
            "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - acp),
            "log_one_minus_alphas_cumprod": np.log(1.0 - acp),
        }
        if parameterization == "v":
            arrays["sqrt_recip_alphas_cumprod"] = np.zeros_like(acp)
            arrays["sqrt_recipm1_alphas_cumprod"] = np.zeros_like(acp)
        else:
            arrays["sqrt_recip_alphas_cumprod"] = np.sqrt(1.0 / acp)
            arrays["sqrt_recipm1_alphas_cumprod"] = np.sqrt(1.0 / acp - 1)
    variance = betas * (1.0 - acp_prev) / (1.0 - acp)
    arrays["posterior_variance"] = variance
    arrays["posterior_log_variance_clipped"] = np.log(np.maximum(variance, 1e-20))
    arrays["posterior_mean_coef1"] = betas * np.sqrt(acp_prev) / (1.0 - acp)
    arrays["posterior_mean_coef2"] = (1.0 - acp_prev) * np.sqrt(alphas) / (1.0 - acp)
    return {name: torch.tensor(arrays[name], dtype=torch.float32) for name in SCHEDULE_BUFFERS}


def dynamic_scale_array(num_timesteps: int = 1000, base_scale: float = 0.7, turning_step: int = 400) -> torch.Tensor:
    """``scale_arr``: linspace(1, base_scale, turning_step) then ``num_timesteps`` times base_scale."""
    arr = np.concatenate([np.linspace(1.0, base_scale, turning_step), np.full(num_timesteps, base_scale)])
    return torch.tensor(arr, dtype=torch.float32)


def trailing_timesteps(num_steps: int, num_timesteps: int = 1000) -> np.ndarray:
    """DDIM "uniform_trailing" timesteps in increasing order (19, 39, ..., 999 for 50 of 1000)."""
    step = num_timesteps / num_steps
    return np.flip(np.round(np.arange(num_timesteps, 0, -step))).astype(np.int64) - 1


@dataclass
class DDIMSchedule:
    """Per-step DDIM quantities, indexed like ``timesteps`` (increasing)."""

    timesteps: np.ndarray
    alphas: np.ndarray
    alphas_prev: np.ndarray
    sigmas: np.ndarray
    scale: np.ndarray
    scale_prev: np.ndarray


def ddim_schedule(
    alphas_cumprod: torch.Tensor, scale_arr: torch.Tensor | None, num_steps: int, eta: float
) -> DDIMSchedule:
    """DDIM parameters from the model's float32 ``alphas_cumprod`` (the release's ``make_schedule``).

    ``alphas_prev`` of the first (lowest) step is ``alphas_cumprod[0]``; the dynamic-rescale factor of
    step i is ``scale[i-1] / scale[i]`` (1 at the lowest step).
    """
    timesteps = trailing_timesteps(num_steps, len(alphas_cumprod))
    acp32 = alphas_cumprod.detach().cpu().float()
    acp = acp32.double().numpy()
    alphas = acp[timesteps]
    alphas_prev = np.concatenate([acp[:1], acp[timesteps[:-1]]])
    # Bit-exact with the release, where (1 - alphas_prev) / (1 - alphas) mixes a float64 array and a
    # float32 tensor: torch evaluates it as float32 reciprocal(1 - alphas) times the float64 array.
    inverse = torch.reciprocal(1 - acp32[torch.from_numpy(timesteps)]).double().numpy()
    sigmas = eta * np.sqrt((1 - alphas_prev) * inverse * (1 - alphas / alphas_prev))
    if scale_arr is None:
        scale = np.ones(len(timesteps))
    else:
        scale = scale_arr.detach().cpu().double().numpy()[timesteps]
    scale_prev = np.concatenate([scale[:1], scale[:-1]])
    return DDIMSchedule(timesteps, alphas, alphas_prev, sigmas, scale, scale_prev)
