"""Keyframe conditioning for SVD, computed once per pair with diffusers' own pipeline helpers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers.utils.torch_utils import randn_tensor


@dataclass
class Conditioning:
    """One keyframe's UNet conditioning, CFG-batched (unconditional half first) when ``cfg``."""

    embeddings: torch.Tensor  # [B, 1, C] CLIP image embedding (zeros for the unconditional half)
    image_latents: torch.Tensor  # [B, N, 4, h, w] VAE latent of the noise-augmented keyframe, repeated over frames
    added_time_ids: torch.Tensor  # [B, 3] (fps - 1, motion bucket, noise augmentation)

    @property
    def cfg(self) -> bool:
        return self.embeddings.shape[0] == 2


def encode_keyframes(
    pipe,
    keyframes: list[np.ndarray],
    *,
    num_frames: int,
    fps: int,
    motion_bucket_id: int,
    noise_aug_strength: float,
    cfg: bool,
    generator: torch.Generator,
    shared_noise: bool = True,
) -> list[Conditioning]:
    """Conditioning of each keyframe, as diffusers' StableVideoDiffusionPipeline computes it.

    Noise augmentation (image + strength * randn) draws from ``generator`` once for all keyframes
    (``shared_noise``, as the paper's release does) or once per keyframe.
    """
    device = pipe._execution_device
    height, width = keyframes[0].shape[:2]
    images = [PIL.Image.fromarray(k) for k in keyframes]
    embeddings = [pipe._encode_image(image, device, 1, cfg) for image in images]
    dtype = embeddings[0].dtype
    pixels = [pipe.video_processor.preprocess(image, height=height, width=width).to(device) for image in images]
    noise = None
    augmented = []
    for image in pixels:
        if noise is None or not shared_noise:
            noise = randn_tensor(image.shape, generator=generator, device=device, dtype=image.dtype)
        augmented.append(image + noise_aug_strength * noise)
    latents = [vae_latent(pipe, image, cfg).to(dtype) for image in augmented]
    time_ids = pipe._get_add_time_ids(fps - 1, motion_bucket_id, noise_aug_strength, dtype, 1, 1, cfg).to(device)
    return [
        Conditioning(embedding, latent.unsqueeze(1).repeat(1, num_frames, 1, 1, 1), time_ids)
        for embedding, latent in zip(embeddings, latents)
    ]


def vae_latent(pipe, pixels: torch.Tensor, cfg: bool) -> torch.Tensor:
    """``latent_dist.mode()`` of [-1, 1] pixels (zeros prepended for CFG), upcasting an fp16 VAE as diffusers does."""
    upcast = pipe.vae.dtype == torch.float16 and pipe.vae.config.force_upcast
    if upcast:
        pipe.vae.to(dtype=torch.float32)
    latent = pipe._encode_vae_image(pixels, pipe._execution_device, 1, cfg)
    if upcast:
        pipe.vae.to(dtype=torch.float16)
    return latent


def diffusion_latent(pipe, keyframe: np.ndarray) -> torch.Tensor:
    """The clean keyframe in diffusion latent space: VAE latent times the scaling factor, [1, 4, h, w] float32.

    The posterior mode, so it is deterministic (ViBiDSampler's release draws an unseeded posterior sample).
    """
    height, width = keyframe.shape[:2]
    pixels = pipe.video_processor.preprocess(PIL.Image.fromarray(keyframe), height=height, width=width)
    return vae_latent(pipe, pixels.to(pipe._execution_device), False).float() * pipe.vae.config.scaling_factor
