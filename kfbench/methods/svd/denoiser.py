"""The denoiser: latents at one noise level + conditioning + which weights/maps -> guided v-prediction."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from kfbench.methods.svd.attention import AttentionControl, Pass
from kfbench.methods.svd.conditioning import Conditioning
from kfbench.methods.svd.steps import guide


@dataclass
class Request:
    """One direction of a step: its latents (in its own frame order), conditioning, per-frame guidance and attention
    pass."""

    latents: torch.Tensor
    conditioning: Conditioning
    guidance: torch.Tensor | None = None
    attention: Pass = Pass()


class Denoiser:
    """Calls the UNet with SVD's input scaling (1/sqrt(sigma^2+1)) and continuous timestep (0.25 ln sigma).

    ``stats["unet_calls"]`` counts CFG-batched UNet calls (a fused call of two directions counts as two).
    """

    def __init__(self, unet, control: AttentionControl, *, release_compat: bool = False) -> None:
        self.unet = unet
        self.control = control
        self.release_compat = release_compat
        self.stats = {"unet_calls": 0}

    def __call__(self, requests: list[Request], sigma: torch.Tensor, timestep: torch.Tensor) -> list[torch.Tensor]:
        """Guided v-prediction of each request, running them one after the other (the reference path)."""
        return [self.batched([r], sigma, timestep)[0] for r in requests]

    def batched(self, requests: list[Request], sigma: torch.Tensor, timestep: torch.Tensor) -> list[torch.Tensor]:
        """Guided v-prediction of several requests in one UNet call (their attention passes in batch order)."""
        return [
            guide(uncond, cond, r.guidance)
            for r, (uncond, cond) in zip(requests, self.halves(requests, sigma, timestep))
        ]

    def halves(
        self, requests: list[Request], sigma: torch.Tensor, timestep: torch.Tensor
    ) -> list[tuple[torch.Tensor | None, torch.Tensor]]:
        """Unguided (unconditional, conditional) v-predictions of each request from one UNet call."""
        dtype = self.unet.dtype
        inputs, embeddings, time_ids = [], [], []
        for r in requests:
            cond = r.conditioning
            x = torch.cat([r.latents] * 2) if cond.cfg else r.latents
            x = (x / (sigma**2 + 1) ** 0.5).to(dtype)
            inputs.append(torch.cat([x, cond.image_latents.to(dtype)], dim=2))
            embeddings.append(cond.embeddings)
            time_ids.append(cond.added_time_ids)
        group = 2 if requests[0].conditioning.cfg else 1
        with self.control.running(
            *(r.attention for r in requests), compat_group=group if self.release_compat else None
        ):
            out = self.unet(
                torch.cat(inputs),
                timestep,
                encoder_hidden_states=torch.cat(embeddings),
                added_time_ids=torch.cat(time_ids),
                return_dict=False,
            )[0]
        self.stats["unet_calls"] += len(requests)
        return [
            tuple(v.chunk(2)) if r.conditioning.cfg else (None, v) for r, v in zip(requests, out.chunk(len(requests)))
        ]
