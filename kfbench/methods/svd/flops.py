"""FLOPs of one SVD UNet call, counted on a weightless copy (meta device) at the run's shape."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import torch

from kfbench.bench.flops import FlopCount, count_flops
from kfbench.methods.svd.configs import SVD_XT_VAE_CONFIG
from kfbench.methods.svd.model import vae_scale_factor

SVD_XT_VAE_SCALE = vae_scale_factor(SVD_XT_VAE_CONFIG)


def count_unet_flops(
    config: dict[str, Any], *, batch: int, num_frames: int, height: int, width: int, vae_scale: int = SVD_XT_VAE_SCALE
) -> FlopCount:
    """FLOPs of one UNet forward on the meta device: no weights, no memory, seconds of CPU even for SVD-XT."""
    return _count_unet_flops(
        json.dumps(config, sort_keys=True, default=str), batch, num_frames, height, width, vae_scale
    )


@cache
def _count_unet_flops(
    config_json: str, batch: int, num_frames: int, height: int, width: int, vae_scale: int
) -> FlopCount:
    """Counted once per shape and process (the family's methods share their shapes)."""
    from diffusers import UNetSpatioTemporalConditionModel

    with torch.device("meta"):
        unet = UNetSpatioTemporalConditionModel.from_config(json.loads(config_json))
    unet.to("meta")  # AlphaBlender creates its mix factor with torch.Tensor([...]), which ignores the default device
    c = unet.config
    ids = c.projection_class_embeddings_input_dim // c.addition_time_embed_dim
    sample = torch.empty(batch, num_frames, c.in_channels, height // vae_scale, width // vae_scale, device="meta")
    context = torch.empty(batch, 1, c.cross_attention_dim, device="meta")
    return count_flops(
        lambda: unet(
            sample,
            torch.tensor(1.0, device="meta"),
            encoder_hidden_states=context,
            added_time_ids=torch.empty(batch, ids, device="meta"),
            return_dict=False,
        )
    )


def cfg_batch(method: Any) -> int:
    """Videos per UNet call: 2 with classifier-free guidance (ViBiD always batches it)."""
    return 2 if getattr(method, "max_guidance_scale", 2.0) > 1 else 1
