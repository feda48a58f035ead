"""Real-size models with random weights, built from embedded configs on the target device (no file, no network).

Speed and memory do not depend on the values of the weights, so a GPU without downloads can still
measure every method at its real size. Each model is constructed with its parameters on the meta
device (buffers, e.g. CLIP's position ids, stay real), then every parameter is allocated on the
target device in the target dtype and filled by one random draw there: seconds even for SVD-XT.

:data:`RANDOM_MODELS` maps a model name to its builder and the real model's parameter count;
another family (Wan, LTX) registers its own entry and its method installer in
:data:`kfbench.suite.RANDOM_INSTALLERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

# stabilityai/stable-video-diffusion-img2vid-xt, vae/config.json (AutoencoderKLTemporalDecoder).
SVD_XT_VAE_CONFIG: dict[str, Any] = {
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "force_upcast": True,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "out_channels": 3,
    "sample_size": 768,
    "scaling_factor": 0.18215,
}

# stabilityai/stable-video-diffusion-img2vid-xt, image_encoder/config.json (OpenCLIP ViT-H/14 vision tower + projection).
SVD_XT_IMAGE_ENCODER_CONFIG: dict[str, Any] = {
    "hidden_act": "gelu",
    "hidden_size": 1280,
    "image_size": 224,
    "intermediate_size": 5120,
    "layer_norm_eps": 1e-05,
    "num_attention_heads": 16,
    "num_channels": 3,
    "num_hidden_layers": 32,
    "patch_size": 14,
    "projection_dim": 1024,
}


@dataclass(frozen=True)
class RandomModel:
    """How to build one model, and the real model's parameter count with where that figure comes from."""

    build: Callable[[], nn.Module]  # constructs the module (called with parameters on the meta device)
    parameters: int
    source: str


def empty(build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` with every parameter on the meta device and real buffers: no memory, no init."""
    from accelerate import init_empty_weights

    with init_empty_weights(include_buffers=False):
        return build().eval()


def fill_random_(tensor: torch.Tensor, name: str, generator: torch.Generator) -> None:
    """Scale-preserving random values: N(0, 1/fan_in) for matrices and kernels, 1 for norm scales, 0 for the rest."""
    if tensor.dim() >= 2:
        fan_in = tensor[0].numel()
        tensor.normal_(0.0, fan_in**-0.5, generator=generator)
    elif name.endswith("weight") and "norm" in name.lower():
        tensor.fill_(1.0)
    else:
        tensor.zero_()


def materialize(module: nn.Module, device: str | torch.device, dtype: torch.dtype, *, seed: int = 0) -> nn.Module:
    """Give every meta parameter random values on ``device`` in ``dtype`` (tied ones stay tied); move the buffers there."""
    device = torch.device(device)
    generator = torch.Generator(device).manual_seed(seed)
    made: dict[int, nn.Parameter] = {}
    for owner_name, owner in module.named_modules(remove_duplicate=False):
        for leaf, param in list(owner._parameters.items()):
            if param is None:
                continue
            if id(param) not in made:
                value = torch.empty(param.shape, device=device, dtype=dtype if param.is_floating_point() else param.dtype)
                with torch.no_grad():
                    fill_random_(value, f"{owner_name}.{leaf}", generator)
                made[id(param)] = nn.Parameter(value, requires_grad=False)
            owner._parameters[leaf] = made[id(param)]
        for leaf, buffer in list(owner._buffers.items()):
            if buffer is not None:
                owner._buffers[leaf] = buffer.to(device)  # schedules and ids keep their own dtype
    return module


def build_random(name: str, device: str | torch.device, dtype: torch.dtype, *, seed: int = 0) -> nn.Module:
    """The real-size model ``name`` of :data:`RANDOM_MODELS` with random weights on ``device`` in ``dtype``."""
    return materialize(empty(RANDOM_MODELS[name].build), device, dtype, seed=seed)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def svd_xt_unet() -> nn.Module:
    from diffusers import UNetSpatioTemporalConditionModel

    return UNetSpatioTemporalConditionModel()  # diffusers' default config is SVD-XT's unet/config.json


def svd_xt_vae() -> nn.Module:
    from diffusers import AutoencoderKLTemporalDecoder

    return AutoencoderKLTemporalDecoder(**SVD_XT_VAE_CONFIG)


def svd_xt_image_encoder() -> nn.Module:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    return CLIPVisionModelWithProjection(CLIPVisionConfig(**SVD_XT_IMAGE_ENCODER_CONFIG))


def film_net() -> nn.Module:
    from kfbench.methods.film.network import FilmNet

    return FilmNet()


def dynamicrafter() -> nn.Module:
    from kfbench.methods.dynamicrafter.model import DynamiCrafter, release_config

    return DynamiCrafter(release_config())


class BackwardTensors(nn.Module):
    """The tensors the released backward model fine-tunes (W_v, W_o of SVD-XT's 16 temporal self-attention layers)."""

    def __init__(self, unet: nn.Module, tensors: str = "vo") -> None:
        super().__init__()
        from kfbench.methods.svd.attention import temporal_self_attention_layers
        from kfbench.methods.svd.loading import expected_weights

        params = dict(unet.named_parameters())
        self.names = expected_weights(temporal_self_attention_layers(unet), tensors)
        self.deltas = nn.ParameterList([nn.Parameter(torch.empty_like(params[n], device="meta")) for n in self.names])

    def state(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.deltas))


def ours_backward_tensors() -> nn.Module:
    return BackwardTensors(empty(svd_xt_unet))


# Parameter counts of the released models. SVD-XT UNet: the released unet/diffusion_pytorch_model.safetensors.
# CLIP ViT-H/14 vision tower with projection: open_clip docs/model_profile.csv, ViT-H-14 image_mparams 632.08 (M).
# SVD VAE: the SD VAE encoder (34,163,592, as in DynamiCrafter's first stage) + SVD's temporal decoder (no published total found).
# DynamiCrafter 512 (interp): the release config's networks; UNet 1,438,854,980 (~1.4 B), text tower 354.03 M
# (open_clip ViT-H-14 text_mparams). FILM: film_net Style, 34,436,667 (kfbench.methods.film, the port's state_dict).
RANDOM_MODELS: dict[str, RandomModel] = {
    "svd-xt-unet": RandomModel(svd_xt_unet, 1_524_623_082, "SVD-XT unet/diffusion_pytorch_model.safetensors (1.52 B)"),
    "svd-xt-vae": RandomModel(svd_xt_vae, 97_742_847, "SVD-XT vae/config.json; SD VAE encoder 34,163,592 + quant conv 72 + temporal decoder 63,579,183"),
    "svd-xt-image-encoder": RandomModel(svd_xt_image_encoder, 632_076_800, "open_clip model_profile.csv: ViT-H-14 image 632.08 M"),
    "ours-backward": RandomModel(
        ours_backward_tensors, 24_780_800, "release name rule: W_v, W_o of the 16 temporal self-attention layers, 2 (5*320^2 + 5*640^2 + 6*1280^2)"
    ),
    "film": RandomModel(film_net, 34_436_667, "film_net Style (the PyTorch port's state_dict)"),
    "dynamicrafter": RandomModel(dynamicrafter, 2_609_129_005, "DynamiCrafter 512 interp release config (UNet 1,438,854,980)"),
}
