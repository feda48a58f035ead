"""One training step of Algorithm 1 on a batch of clips (paper Sec. 4.2, with the release's EDM details).

    x0 = E(clip)                                 VAE latents (posterior sample x scaling factor)
    c_0, c_{N-1} = conditioning of the clip's first and last frame
    sigma ~ LogNormal(0.7, 1.6), eps ~ N(0, I),  x = x0 + sigma eps
    {A_i} = maps of the frozen UNet on (x; sigma, c_0)             (ours only; no gradient)
    D' = c_skip flip(x) + c_out F_theta'(c_in flip(x); c_noise, c_{N-1}, {rot A_i})
    loss = mean(w (D' - flip(x0))^2),  w = (1 + sigma^2) / sigma^2

flip(x) = flip(x0) + sigma flip(eps): the backward clip's noise is the time-flipped forward noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kfbench.methods.svd.attention import AttentionControl, Pass
from kfbench.methods.svd.conditioning import Conditioning, encode_keyframes
from kfbench.training.edm import precondition, sample_sigma, weighted_loss

# The release's conditioning: added_time_ids (fps - 1, motion bucket, noise augmentation) = (6, 127, 0.02).
FPS, MOTION_BUCKET_ID, NOISE_AUG_STRENGTH = 7, 127, 0.02


@dataclass
class Batch:
    latents: torch.Tensor  # x0 [B, N, 4, h, w]
    noise: torch.Tensor  # eps, same shape
    sigma: torch.Tensor  # [B]
    first: Conditioning  # c_0
    last: Conditioning  # c_{N-1}


def sample_generator(seed: int, index: int) -> torch.Generator:
    """The CPU generator of one sample's draws (latent sample, conditioning noise, eps, sigma)."""
    state = int(np.random.SeedSequence([seed, index, 2]).generate_state(1, dtype=np.uint64)[0] >> 1)
    return torch.Generator("cpu").manual_seed(state)


def _cat(conditions: list[Conditioning]) -> Conditioning:
    return Conditioning(
        *(torch.cat([getattr(c, f) for c in conditions]) for f in ("embeddings", "image_latents", "added_time_ids"))
    )


@torch.no_grad()
def prepare_batch(pipe, clips: list[np.ndarray], generators: list[torch.Generator]) -> Batch:
    """Encode uint8 clips [N, H, W, 3] (one generator each) into latents, noise, noise level and conditioning."""
    device, vae = pipe._execution_device, pipe.vae
    latents, noise, sigma, first, last = [], [], [], [], []
    for clip, generator in zip(clips, generators):
        pixels = torch.from_numpy(clip).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(device, vae.dtype)
        x0 = vae.encode(pixels).latent_dist.sample(generator=generator) * vae.config.scaling_factor
        c0, c1 = encode_keyframes(
            pipe,
            [clip[0], clip[-1]],
            num_frames=len(clip),
            fps=FPS,
            motion_bucket_id=MOTION_BUCKET_ID,
            noise_aug_strength=NOISE_AUG_STRENGTH,
            cfg=False,
            generator=generator,
            shared_noise=False,
        )
        latents.append(x0.float().unsqueeze(0))
        noise.append(torch.randn(latents[-1].shape, generator=generator).to(device))
        sigma.append(sample_sigma(generator).to(device))
        first.append(c0)
        last.append(c1)
    return Batch(torch.cat(latents), torch.cat(noise), torch.stack(sigma), _cat(first), _cat(last))


def unet_inputs(
    noisy: torch.Tensor, sigma: torch.Tensor, cond: Conditioning, dtype: torch.dtype
) -> dict[str, torch.Tensor]:
    """SVD UNet arguments: c_in x beside the keyframe latents, c_noise timestep, CLIP embedding, time ids."""
    pre = precondition(sigma)
    return {
        "sample": torch.cat([pre.c_in * noisy, cond.image_latents.float()], dim=2).to(dtype),
        "timestep": pre.c_noise,
        "encoder_hidden_states": cond.embeddings.to(dtype),
        "added_time_ids": cond.added_time_ids.to(dtype),
    }


def backward_loss(
    model, unet, control: AttentionControl, layers: list[str], batch: Batch, *, rotated: bool, backward, autocast
) -> torch.Tensor:
    """Forward the frozen and backward models, backpropagate the loss into the trainable tensors; returns the loss.

    ``model`` is the (possibly DDP-wrapped) :class:`Projections`, ``backward`` the accelerator's
    backward function and ``autocast`` its autocast context factory.
    """
    projections = getattr(model, "module", model)
    noisy = batch.latents + batch.sigma.view(-1, 1, 1, 1, 1) * batch.noise
    maps: dict[str, torch.Tensor] = {}
    if rotated:
        with torch.no_grad(), autocast(), control.running(Pass(record=frozenset(layers))):
            unet(**unet_inputs(noisy, batch.sigma, batch.first, unet.dtype), return_dict=False)
        maps = dict(control.maps)
    reversed_noisy, target = noisy.flip(1), batch.latents.flip(1)
    pre = precondition(batch.sigma)
    spec = Pass(weights=projections.by_layer(), rotated=frozenset(layers) if rotated else frozenset())
    try:
        with control.running(spec):
            out = model(**unet_inputs(reversed_noisy, batch.sigma, batch.last, unet.dtype))
            loss = weighted_loss(pre.c_skip * reversed_noisy + pre.c_out * out.float(), target, batch.sigma)
            # Gradient checkpointing re-runs the layers during backward: they read the maps again.
            control.maps.update(maps)
            backward(loss)
    finally:
        control.maps.clear()
    return loss.detach()
