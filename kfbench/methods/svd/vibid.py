"""ViBiDSampler (Yang, Kwon, Ye; ICLR 2025) on the SVD engine: sequential bidirectional CFG++ steps with DDS.

Per step sigma_i -> sigma_{i+1}: a forward step from keyframe 1 (CFG on x0, DDS puts keyframe 2's
latent at the last frame, CFG++ Euler update), re-noise back to sigma_i, then the same step on
the time-flipped latents from keyframe 2 (keyframe 1's latent at their last frame), flipped back.
Two CFG-batched UNet calls per step.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator
from kfbench.methods.svd import loading
from kfbench.methods.svd.conditioning import (
    Conditioning,
    diffusion_latent,
    encode_keyframes,
)
from kfbench.methods.svd.denoiser import Denoiser, Request
from kfbench.methods.svd.model import SVDModel, initial_latents, latent_shape
from kfbench.methods.svd.steps import (
    cfgpp_update,
    flip_time,
    guided_x0,
    replace_last_frame,
    v_to_x0,
)
from kfbench.utils.imageops import resize_center_crop
from kfbench.utils.progress import track


def vibid_step(
    denoiser: Denoiser,
    z: torch.Tensor,
    sigma: torch.Tensor,
    sigma_next: torch.Tensor,
    timestep: torch.Tensor,
    conditioning: Conditioning,
    far_keyframe: torch.Tensor,
    guidance_scale: float,
    *,
    dds: bool,
    cfgpp: bool,
) -> torch.Tensor:
    """One direction's step: CFG on x0, DDS replacement of the far end, CFG++ Euler update to sigma_next."""
    ((v_uncond, v_cond),) = denoiser.halves([Request(z, conditioning)], sigma, timestep)
    x0_uncond, x0_cond = v_to_x0(v_uncond, z, sigma), v_to_x0(v_cond, z, sigma)
    x0 = guided_x0(x0_uncond, x0_cond, guidance_scale)
    if dds:
        x0 = replace_last_frame(x0, far_keyframe)
    return cfgpp_update(z, x0, x0_uncond, sigma, sigma_next, cfgpp).to(z.dtype)


class ViBiDInterpolator(Interpolator):
    """ViBiDSampler: 25 EDM steps (rho 7), 2 UNet calls each, training-free on SVD-XT.

    ``svd_model``: an already built SVDModel, as for SVDInterpolator.
    """

    tiny_models = "kfbench.methods.svd.tiny:make_tiny_svd_models"
    random_weights = "kfbench.methods.svd.randomweights:random_svd_method"
    random_models = "kfbench.methods.svd.randomweights:RANDOM_MODELS"
    bench = "kfbench.methods.svd.bench:SVD_BENCH"
    flops = "kfbench.methods.svd.bench:flops_row"
    bench_levers = True

    def __init__(
        self,
        svd_model: SVDModel | None = None,
        *,
        model: str = loading.DEFAULT_MODEL,
        device: str | None = None,
        dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto",
        height: int = 576,
        width: int = 1024,
        num_inference_steps: int = 25,
        guidance_scale: float = 1.0,
        guidance_scale_flip: float = 1.0,
        fps: int = 7,
        motion_bucket_id: int = 127,
        noise_aug_strength: float = 0.02,
        dds: bool = True,
        cfgpp: bool = True,
        decode_chunk_size: int | None = 4,
    ) -> None:
        super().__init__()
        if height % 8 or width % 8:
            raise KfbenchError(f"height and width must be multiples of 8, got {height}x{width}")
        if num_inference_steps < 1:
            raise KfbenchError(f"num_inference_steps must be at least 1, got {num_inference_steps}")
        self.model, self.device, self.dtype = model, device, dtype
        self.height, self.width, self.num_inference_steps = height, width, num_inference_steps
        self.guidance_scale, self.guidance_scale_flip = guidance_scale, guidance_scale_flip
        self.fps, self.motion_bucket_id, self.noise_aug_strength = fps, motion_bucket_id, noise_aug_strength
        self.dds, self.cfgpp, self.decode_chunk_size = dds, cfgpp, decode_chunk_size
        self._model: SVDModel | None = svd_model

    @property
    def frame_size(self) -> tuple[int, int]:
        return self.height, self.width

    def unet_calls_per_video(self) -> int:
        """CFG-batched UNet calls one video takes: the two directions of each step run one after the other."""
        return 2 * self.num_inference_steps

    def loaded(self) -> SVDModel:
        if self._model is None:
            self._model = SVDModel(self.model, device=self.device, dtype=self.dtype)
        return self._model

    @torch.no_grad()
    def _interpolate(
        self,
        first: np.ndarray,
        last: np.ndarray,
        *,
        num_frames: int,
        seed: int,
        latents: Any,
        prompt: str | None = None,
    ) -> np.ndarray:
        m = self.loaded()
        pipe = m.pipe
        first, last = (resize_center_crop(k, self.height, self.width) for k in (first, last))
        generator = torch.Generator("cpu").manual_seed(seed)
        start, end = encode_keyframes(
            pipe,
            [first, last],
            num_frames=num_frames,
            fps=self.fps,
            motion_bucket_id=self.motion_bucket_id,
            noise_aug_strength=self.noise_aug_strength,
            cfg=True,
            generator=generator,
            shared_noise=False,
        )
        first_latent, last_latent = diffusion_latent(pipe, first), diffusion_latent(pipe, last)
        sigmas, timesteps, init_sigma = m.sigmas(self.num_inference_steps)
        shape = latent_shape(pipe, num_frames, self.height, self.width)
        z = (initial_latents(latents, shape, generator) * init_sigma).to(pipe._execution_device)
        denoiser = Denoiser(pipe.unet, m.control)
        options = {"dds": self.dds, "cfgpp": self.cfgpp}
        for i in track(range(self.num_inference_steps), "sampling"):
            sigma, sigma_next, t = sigmas[i], sigmas[i + 1], timesteps[i]
            z = vibid_step(denoiser, z, sigma, sigma_next, t, start, last_latent, self.guidance_scale, **options)
            noise = torch.randn(z.shape, generator=generator, dtype=torch.float32).to(z.device, z.dtype)
            z = z + noise * (sigma**2 - sigma_next**2) ** 0.5
            z = flip_time(
                vibid_step(
                    denoiser, flip_time(z), sigma, sigma_next, t, end, first_latent, self.guidance_scale_flip, **options
                )
            )
        self.stats = {"unet_calls": denoiser.stats["unet_calls"], "denoise_steps": self.num_inference_steps}
        return m.decode(z, num_frames, self.decode_chunk_size)
