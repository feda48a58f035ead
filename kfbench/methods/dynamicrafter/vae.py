"""The Stable Diffusion KL autoencoder as diffusers' ``AutoencoderKL`` under the release's key names.

The module's state_dict uses the original (ldm) names (``encoder.down.0.block.0.norm1.weight``,
``mid.attn_1.q.weight`` as 1x1 convs, ...), so ``first_stage_model.*`` loads strictly; the
renaming is done by state_dict hooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

_RESNET_PARTS = {"conv_shortcut": "nin_shortcut"}
_ATTN_PARTS = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def ldm_key(key: str, num_levels: int) -> str:
    """The ldm name of a diffusers ``AutoencoderKL`` state_dict key."""
    key = re.sub(r"\.conv_norm_out\.", ".norm_out.", key)
    key = re.sub(r"\.mid_block\.resnets\.(\d)\.", lambda m: f".mid.block_{int(m[1]) + 1}.", key)
    for new, old in _ATTN_PARTS.items():
        key = key.replace(f".mid_block.attentions.0.{new}.", f".mid.attn_1.{old}.")
    key = re.sub(r"^encoder\.down_blocks\.(\d+)\.resnets\.", r"encoder.down.\1.block.", key)
    key = re.sub(r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample.", key)

    # diffusers counts decoder levels from the lowest resolution, ldm from the highest.
    def up(part: str) -> Callable[[re.Match], str]:
        return lambda m: f"decoder.up.{num_levels - 1 - int(m[1])}.{part}."

    key = re.sub(r"^decoder\.up_blocks\.(\d+)\.resnets\.", up("block"), key)
    key = re.sub(r"^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.", up("upsample"), key)
    for new, old in _RESNET_PARTS.items():
        key = key.replace(f".{new}.", f".{old}.")
    return key


def _is_attention_linear(ldm: str) -> bool:
    return bool(re.search(r"\.attn_1\.(q|k|v|proj_out)\.weight$", ldm))


def diffusers_vae_config(ddconfig: dict[str, Any]) -> dict[str, Any]:
    """diffusers ``AutoencoderKL`` arguments for an ldm ``ddconfig`` (no attention outside the mid block)."""
    if ddconfig.get("attn_resolutions"):
        raise ValueError("ldm autoencoders with attention outside the mid block are not supported")
    levels = len(ddconfig["ch_mult"])
    return {
        "in_channels": ddconfig["in_channels"],
        "out_channels": ddconfig["out_ch"],
        "block_out_channels": tuple(ddconfig["ch"] * m for m in ddconfig["ch_mult"]),
        "down_block_types": ("DownEncoderBlock2D",) * levels,
        "up_block_types": ("UpDecoderBlock2D",) * levels,
        "layers_per_block": ddconfig["num_res_blocks"],
        "latent_channels": ddconfig["z_channels"],
        "norm_num_groups": 32,
        "sample_size": ddconfig["resolution"],
    }


class LdmAutoencoderKL(nn.Module):
    """``AutoencoderKL`` whose state_dict and load_state_dict speak the ldm key names."""

    def __init__(self, ddconfig: dict[str, Any], embed_dim: int) -> None:
        super().__init__()
        from diffusers import AutoencoderKL

        if embed_dim != ddconfig["z_channels"]:
            raise ValueError("embed_dim must equal z_channels for the KL autoencoder")
        vae = AutoencoderKL(**diffusers_vae_config(ddconfig))
        levels = len(ddconfig["ch_mult"])
        # Adopt the diffusers modules directly so the parameter tree is the autoencoder's own.
        self.encoder, self.decoder = vae.encoder, vae.decoder
        self.quant_conv, self.post_quant_conv = vae.quant_conv, vae.post_quant_conv
        self._vae = [vae]  # a list keeps it out of the module tree (no duplicate keys)
        own = [k for k in vae.state_dict()]
        self._to_ldm = {k: ldm_key(k, levels) for k in own}
        self._from_ldm = {v: k for k, v in self._to_ldm.items()}
        self._register_state_dict_hook(self._rename_out)
        self._register_load_state_dict_pre_hook(self._rename_in)

    @property
    def vae(self):
        return self._vae[0]

    def _rename_out(self, module: nn.Module, state: dict, prefix: str, local_metadata: Any) -> dict:
        for key in [k for k in state if k.startswith(prefix)]:
            local = key[len(prefix) :]
            if local in self._to_ldm:
                ldm = self._to_ldm[local]
                value = state.pop(key)
                state[prefix + ldm] = value[..., None, None] if _is_attention_linear(ldm) else value
        return state

    def _rename_in(self, state: dict, prefix: str, *args: Any) -> None:
        for key in [k for k in state if k.startswith(prefix)]:
            local = key[len(prefix) :]
            if local in self._from_ldm:
                value = state.pop(key)
                state[prefix + self._from_ldm[local]] = value[..., 0, 0] if _is_attention_linear(local) else value

    def encode_moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior (mean, std) of images in [-1, 1]."""
        dist = self.vae.encode(x).latent_dist
        return dist.mean, dist.std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z).sample
