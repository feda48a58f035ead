"""The SVD family on random weights: SVD-XT's UNet, VAE and image encoder at their real size (or tiny), built in memory.

The real models' parameter counts (:data:`RANDOM_MODELS`) come with where each figure was published.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from kfbench.bench.randommethods import RANDOM_CHECKPOINT, Size, Subject
from kfbench.bench.randomweights import RandomModel, build_random, empty, materialize
from kfbench.methods.svd.attention import temporal_self_attention_layers
from kfbench.methods.svd.configs import SVD_XT_IMAGE_ENCODER_CONFIG, SVD_XT_VAE_CONFIG
from kfbench.methods.svd.flops import cfg_batch, count_unet_flops
from kfbench.methods.svd.interpolator import SVDInterpolator
from kfbench.methods.svd.loading import backward_tensors, expected_weights
from kfbench.methods.svd.model import SVDModel, resolve_dtype
from kfbench.methods.svd.tiny import SVD_SCHEDULER_CONFIG, tiny_svd_components
from kfbench.registry import create_method, lookup, method_presets
from kfbench.utils.devices import resolve_device


def svd_xt_unet() -> nn.Module:
    from diffusers import UNetSpatioTemporalConditionModel

    return UNetSpatioTemporalConditionModel()  # diffusers' default config is SVD-XT's unet/config.json


def svd_xt_vae() -> nn.Module:
    from diffusers import AutoencoderKLTemporalDecoder

    return AutoencoderKLTemporalDecoder(**SVD_XT_VAE_CONFIG)


def svd_xt_image_encoder() -> nn.Module:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    return CLIPVisionModelWithProjection(CLIPVisionConfig(**SVD_XT_IMAGE_ENCODER_CONFIG))


class BackwardTensors(nn.Module):
    """The tensors the released backward model fine-tunes (W_v, W_o of SVD-XT's 16 temporal self-attention layers)."""

    def __init__(self, unet: nn.Module, tensors: str = "vo") -> None:
        super().__init__()
        params = dict(unet.named_parameters())
        self.names = expected_weights(temporal_self_attention_layers(unet), tensors)
        self.deltas = nn.ParameterList([nn.Parameter(torch.empty_like(params[n], device="meta")) for n in self.names])

    def state(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.deltas))


def ours_backward_tensors() -> nn.Module:
    return BackwardTensors(empty(svd_xt_unet))


# Parameter counts of the released models. SVD-XT UNet: the released unet/diffusion_pytorch_model.safetensors.
# CLIP ViT-H/14 vision tower with projection: open_clip docs/model_profile.csv, ViT-H-14 image_mparams 632.08 (M).
# SVD VAE: the SD VAE encoder (34,163,592, as in DynamiCrafter's first stage) + SVD's temporal decoder (no published
# total found).
RANDOM_MODELS: dict[str, RandomModel] = {
    "svd-xt-unet": RandomModel(svd_xt_unet, 1_524_623_082, "SVD-XT unet/diffusion_pytorch_model.safetensors (1.52 B)"),
    "svd-xt-vae": RandomModel(
        svd_xt_vae,
        97_742_847,
        "SVD-XT vae/config.json; SD VAE encoder 34,163,592 + quant conv 72 + temporal decoder 63,579,183",
    ),
    "svd-xt-image-encoder": RandomModel(
        svd_xt_image_encoder, 632_076_800, "open_clip model_profile.csv: ViT-H-14 image 632.08 M"
    ),
    "ours-backward": RandomModel(
        ours_backward_tensors,
        24_780_800,
        "release name rule: W_v, W_o of the 16 temporal self-attention layers, 2 (5*320^2 + 5*640^2 + 6*1280^2)",
    ),
}


def svd_pipeline(size: Size, device: str, dtype: torch.dtype, seed: int):
    """An SVD img2vid pipeline with random SVD-XT (or tiny) UNet, VAE and image encoder on ``device``."""
    from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline
    from transformers import CLIPImageProcessor

    if size == "tiny":
        parts = tiny_svd_components(seed)
        for key in ("unet", "vae", "image_encoder"):
            parts[key] = nn.Module.to(
                parts[key], device, dtype
            )  # plain cast (diffusers' own warns about float32 modules; it has none)
        return StableVideoDiffusionPipeline(**parts)
    models = {
        key: build_random(RANDOM_MODELS[f"svd-xt-{name}"], device, dtype, seed=seed)
        for key, name in (("unet", "unet"), ("vae", "vae"), ("image_encoder", "image-encoder"))
    }
    return StableVideoDiffusionPipeline(
        **models,
        scheduler=EulerDiscreteScheduler.from_config(SVD_SCHEDULER_CONFIG),
        feature_extractor=CLIPImageProcessor(),
    )


def random_svd_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """An SVD-family method (ours, ablations, trf, svd, vibid) on a random pipeline; ours: random backward tensors."""
    if lookup(method_presets(), name, "method").options.get("backward") == "finetuned":
        options = {"checkpoint": RANDOM_CHECKPOINT, **options}
    settings = create_method(name, **options)  # its options resolved (nothing is loaded)
    device = resolve_device(settings.device)
    pipe = svd_pipeline(size, device, resolve_dtype(settings.dtype, device), seed)
    flags = {"cpu_offload": False, "release_compat": False, "compile": False}
    if isinstance(settings, SVDInterpolator):
        flags.update(cpu_offload=settings.cpu_offload, release_compat=settings.release_compat, compile=settings.compile)
    model = SVDModel.from_pipeline(pipe, device, f"random {size} SVD-XT", **flags)
    if isinstance(settings, SVDInterpolator) and settings.backward == "finetuned":
        unet = pipe.unet
        deltas = materialize(
            BackwardTensors(unet, settings.finetuned_tensors), device, unet.dtype, seed=seed + 1
        ).state()
        tensors = backward_tensors(unet, model.layers, deltas, settings.finetuned_tensors)
        model.backward_weights = {layer: {k: v.to(device) for k, v in ts.items()} for layer, ts in tensors.items()}
    method = create_method(name, components={"svd_model": model}, **options)
    config = dict(pipe.unet.config)

    def call_flops(num_frames: int) -> int:
        return count_unet_flops(
            config, batch=cfg_batch(method), num_frames=num_frames, height=method.height, width=method.width
        ).total

    return Subject(method, pipe.unet, "unet_calls", call_flops=call_flops)
