"""The whole DynamiCrafter model with the released state_dict layout, and its configuration.

The configuration mirrors ``model.params`` of the release's ``configs/inference_512_v1.0.yaml``
(field names kept); ``clip_config`` is open_clip's model config for the towers that the release
builds from ``arch="ViT-H-14"``. :data:`RELEASE_CONFIG` is the configuration of
``dynamicrafter_512_interp_v1/model.ckpt``; tiny test models store their own next to the weights.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from kfbench.methods.dynamicrafter.encoders import (
    OpenCLIPImageEncoder,
    OpenCLIPTextEncoder,
)
from kfbench.methods.dynamicrafter.resampler import Resampler
from kfbench.methods.dynamicrafter.schedule import dynamic_scale_array, schedule_buffers
from kfbench.methods.dynamicrafter.unet import UNet3D, build_unet
from kfbench.methods.dynamicrafter.vae import LdmAutoencoderKL

RELEASE_CONFIG: dict[str, Any] = {
    "rescale_betas_zero_snr": True,
    "parameterization": "v",
    "linear_start": 0.00085,
    "linear_end": 0.012,
    "timesteps": 1000,
    "scale_factor": 0.18215,
    "use_dynamic_rescale": True,
    "base_scale": 0.7,
    "turning_step": 400,
    "unet_config": {
        "in_channels": 8,
        "out_channels": 4,
        "model_channels": 320,
        "attention_resolutions": [4, 2, 1],
        "num_res_blocks": 2,
        "channel_mult": [1, 2, 4, 4],
        "dropout": 0.1,
        "num_head_channels": 64,
        "transformer_depth": 1,
        "context_dim": 1024,
        "use_linear": True,
        "temporal_conv": True,
        "temporal_attention": True,
        "temporal_selfatt_only": True,
        "use_relative_position": False,
        "use_causal_attention": False,
        "temporal_length": 16,
        "addition_attention": True,
        "image_cross_attention": True,
        "default_fs": 24,
        "fs_condition": True,
    },
    "first_stage_config": {
        "embed_dim": 4,
        "ddconfig": {
            "double_z": True,
            "z_channels": 4,
            "resolution": 256,
            "in_channels": 3,
            "out_ch": 3,
            "ch": 128,
            "ch_mult": [1, 2, 4, 4],
            "num_res_blocks": 2,
            "attn_resolutions": [],
            "dropout": 0.0,
        },
    },
    # open_clip's ViT-H-14 model config (open_clip/model_configs/ViT-H-14.json).
    "clip_config": {
        "embed_dim": 1024,
        "vision_cfg": {"image_size": 224, "layers": 32, "width": 1280, "head_width": 80, "patch_size": 14},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 1024, "heads": 16, "layers": 24},
    },
    "image_proj_stage_config": {
        "dim": 1024,
        "depth": 4,
        "dim_head": 64,
        "heads": 12,
        "num_queries": 16,
        "embedding_dim": 1280,
        "output_dim": 1024,
        "ff_mult": 4,
        "video_length": 16,
    },
}


def release_config() -> dict[str, Any]:
    """A fresh copy of :data:`RELEASE_CONFIG`."""
    return copy.deepcopy(RELEASE_CONFIG)


class DiffusionWrapper(nn.Module):
    """The ``hybrid`` conditioning wrapper: concat latents on channels, context by cross-attention."""

    def __init__(self, diffusion_model: UNet3D) -> None:
        super().__init__()
        self.diffusion_model = diffusion_model

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, c_concat: torch.Tensor, context: torch.Tensor, fs: torch.Tensor
    ) -> torch.Tensor:
        return self.diffusion_model(torch.cat([x, c_concat], dim=1), t, context=context, fs=fs)


class DynamiCrafter(nn.Module):
    """UNet, VAE, text and image towers, resampler and schedule buffers under the release's names."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = config
        self.model = DiffusionWrapper(build_unet(**config["unet_config"]))
        self.first_stage_model = LdmAutoencoderKL(**config["first_stage_config"])
        self.cond_stage_model = OpenCLIPTextEncoder(config["clip_config"])
        self.embedder = OpenCLIPImageEncoder(config["clip_config"])
        self.image_proj_model = Resampler(**config["image_proj_stage_config"])
        buffers = schedule_buffers(
            config["timesteps"],
            config["linear_start"],
            config["linear_end"],
            config["rescale_betas_zero_snr"],
            config["parameterization"],
        )
        if config["use_dynamic_rescale"]:
            buffers["scale_arr"] = dynamic_scale_array(
                config["timesteps"], config["base_scale"], config["turning_step"]
            )
        for name, value in buffers.items():
            self.register_buffer(name, value)

    @property
    def scale_factor(self) -> float:
        return float(self.config["scale_factor"])

    @property
    def latent_factor(self) -> int:
        """Pixels per latent cell (2^(levels-1) of the autoencoder)."""
        return 2 ** (len(self.config["first_stage_config"]["ddconfig"]["ch_mult"]) - 1)

    @property
    def size_multiple(self) -> int:
        """Height and width must be multiples of this (VAE and UNet downsampling)."""
        return self.latent_factor * 2 ** (len(self.config["unet_config"]["channel_mult"]) - 1)


def build_model(config: dict[str, Any] | None = None, *, empty: bool = False) -> DynamiCrafter:
    """The model for ``config`` (the release's by default); ``empty`` puts parameters on the meta device.

    With ``empty`` the buffers stay real (the schedule, CLIP's attention mask), so a strict
    ``load_state_dict(..., assign=True)`` gives a complete model without initialising 2.6 B weights.
    """
    config = config or release_config()
    if not empty:
        return DynamiCrafter(config).eval()
    from accelerate import init_empty_weights

    with init_empty_weights(include_buffers=False):
        return DynamiCrafter(config).eval()
