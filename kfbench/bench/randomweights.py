"""Real-size models with random weights, built from embedded configs on the target device (no file, no network).

Speed and memory do not depend on the values of the weights, so a GPU without downloads can still
measure every method at its real size. Each model is constructed with its parameters on the meta
device (buffers, e.g. CLIP's position ids, stay real), then every parameter is allocated on the
target device in the target dtype and filled by one random draw there: seconds even for SVD-XT.

:data:`RANDOM_MODELS` maps a model name to its builder and the real model's parameter count;
another family registers its own entry and its method installer in
:data:`kfbench.bench.randommethods.RANDOM_INSTALLERS`. The keyframe models (Wan, LTX-Video, FramePack)
are built from the configs embedded in :mod:`kfbench.methods.keyframe.configs`, the ones their
FLOP counts use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
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

# stabilityai/stable-video-diffusion-img2vid-xt, image_encoder/config.json
# (OpenCLIP ViT-H/14 vision tower + projection).
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
        module = build().eval()
    if hasattr(module, "tie_weights") and hasattr(module, "get_input_embeddings"):
        # transformers ties at construction, which init_empty_weights undoes (T5's shared embedding)
        module.tie_weights()
    return module


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
    """Give every meta parameter random values on ``device`` in ``dtype`` (tied ones stay tied); move the buffers
    there."""
    device = torch.device(device)
    generator = (
        None if device.type == "meta" else torch.Generator(device).manual_seed(seed)
    )  # meta: shapes and dtypes only
    made: dict[int, nn.Parameter] = {}
    for owner_name, owner in module.named_modules(remove_duplicate=False):
        for leaf, param in list(owner._parameters.items()):
            if param is None:
                continue
            if id(param) not in made:
                value = torch.empty(
                    param.shape, device=device, dtype=dtype if param.is_floating_point() else param.dtype
                )
                if generator is not None:
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


@cache
def meta_count(name: str) -> int:
    """Parameters of :data:`RANDOM_MODELS` ``name`` built on the meta device (counted once per process)."""
    return count_parameters(empty(RANDOM_MODELS[name].build))


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
# SVD VAE: the SD VAE encoder (34,163,592, as in DynamiCrafter's first stage) + SVD's temporal decoder
# (no published total found).
# DynamiCrafter 512 (interp): the release config's networks; UNet 1,438,854,980 (~1.4 B), text tower 354.03 M
# (open_clip ViT-H-14 text_mparams). FILM: film_net Style, 34,436,667 (kfbench.methods.film, the port's state_dict).
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
    "film": RandomModel(film_net, 34_436_667, "film_net Style (the PyTorch port's state_dict)"),
    "dynamicrafter": RandomModel(
        dynamicrafter, 2_609_129_005, "DynamiCrafter 512 interp release config (UNet 1,438,854,980)"
    ),
}


def keyframe_component(model: str, component: str) -> Callable[[], nn.Module]:
    """The builder of one network of a keyframe pipeline from its embedded real config
    (kfbench.methods.keyframe.configs)."""

    def build() -> nn.Module:
        from kfbench.methods.keyframe.bench import build_component, real_pipeline

        library, class_name, config, _ = real_pipeline(model)[component]
        return build_component(library, class_name, config, device="cpu")  # under empty(): parameters on meta

    return build


WAN21 = "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers"
WAN22 = "Wan-AI/Wan2.2-I2V-A14B-Diffusers"
LTX = "Lightricks/LTX-Video-0.9.7-dev"  # 0.9.8-13B-distilled has the same networks
HUNYUAN = "hunyuanvideo-community/HunyuanVideo"  # FramePack's preset: HunyuanVideo base + the FramePack transformer
SELF_CHECK = "computed from the embedded config (a self-check, no exact published count found)"
# Keyframe models: (model, component, parameters, source). Exact counts that are only our embedded config's are marked
# as self-checks; where a figure was published (rounded, or for a larger model) the test checks it against that.
KEYFRAME_MODELS = {
    "wan21-flf2v-transformer": (WAN21, "transformer", 16_395_536_704, f"{SELF_CHECK}; named '14B' on the hub (the "
                                                                      "T2V backbone, "
                                "14.29 B here, plus the image cross-attention and CLIP-token embedder)"),
    "wan22-a14b-expert": (WAN22, "transformer", 14_288_901_184, f"{SELF_CHECK}; each of the two experts, 'A14B' = 14 "
                                                                "B active"),
    "wan-umt5-xxl-encoder": (WAN21, "text_encoder", 5_680_910_336, f"{SELF_CHECK}; google/umt5-xxl's encoder, about "
                                                                   "5.7 B"),
    "wan-clip-vit-h-image-encoder": (WAN21, "image_encoder", 632_076_800, "open_clip model_profile.csv: ViT-H-14 "
                                                                          "image 632.08 M"),
    "wan21-vae": (WAN21, "vae", 126_892_531, f"{SELF_CHECK}; Wan 2.1 VAE"),
    "ltx-13b-transformer": (LTX, "transformer", 13_042_569_344, f"{SELF_CHECK}; named '13B' (ltxv-13b-0.9.7-dev, "
                                                                "0.9.8-13B-distilled)"),
    "ltx-t5-xxl-encoder": (LTX, "text_encoder", 4_762_310_656, f"{SELF_CHECK}; T5 v1.1 XXL's encoder, about 4.7 B"),
    "ltx-097-vae": (LTX, "vae", 1_246_913_522, f"{SELF_CHECK}; LTX-Video 0.9.7 VAE"),
    "framepack-transformer": (HUNYUAN, "transformer", 12_874_314_816, f"{SELF_CHECK}; HunyuanVideo '13B' + "
                                                                      "FramePack's image projection "
                              "and clean-latent embedder"),
    "framepack-llama3-8b-encoder": (HUNYUAN, "text_encoder", 7_505_186_816, "Meta-Llama-3-8B's 8,030,261,248 less "
                                                                            "its lm_head "
                                    "(128,256 x 4096), plus llava-llama-3-8b's 64 extra token embeddings"),
    "framepack-clip-l-text-encoder": (HUNYUAN, "text_encoder_2", 123_060_480, "open_clip model_profile.csv: ViT-L-14 "
                                                                              "text 123.65 M, "
                                      "less its 768 x 768 text projection"),
    "framepack-siglip-image-encoder": (HUNYUAN, "image_encoder", 428_225_600, f"{SELF_CHECK}; SigLIP so400m/14 at "
                                                                              "384 px"),
    "framepack-hunyuan-vae": (HUNYUAN, "vae", 246_478_803, f"{SELF_CHECK}; HunyuanVideo VAE "
                                                           "(AutoencoderKLHunyuanVideo defaults)"),
    "ltx2-transformer": ("Lightricks/LTX-2", "transformer", 18_876_174_592, "named '19B' (ltx-2-19b-dev: video and "
                         "audio streams)"),
    "ltx2-gemma3-12b-encoder": ("Lightricks/LTX-2", "text_encoder", 12_202_563_392, "google/gemma-3-12b, '12B' "
                                "(12.2 B with its SigLIP tower)"),
    "ltx2-connectors": ("Lightricks/LTX-2", "connectors", 1_431_475_200, f"{SELF_CHECK}; LTX2TextConnectors defaults"),
    "ltx2-vae": ("Lightricks/LTX-2", "vae", 1_222_479_601, f"{SELF_CHECK}; LTX-2 video VAE"),
    "skyreels-flf2v-1.3b-transformer": ("Skywork/SkyReels-V2-FLF2V-1.3B-540P-Diffusers", "transformer", 1_565_086_528,
                                        f"{SELF_CHECK}; '1.3B' Wan width + image branch, config assumed"),
    "skyreels-df-14b-transformer": ("Skywork/SkyReels-V2-DF-14B-720P-Diffusers", "transformer", 14_288_491_584,
                                    f"{SELF_CHECK}; named '14B' (the Wan 14B text-to-video transformer)"),
    "wan-vace-14b-transformer": ("Wan-AI/Wan2.1-VACE-14B-diffusers", "transformer", 17_337_592_896,
                                 f"{SELF_CHECK}; named '14B' (the T2V backbone) plus 8 VACE blocks"),
    "wan-vace-1.3b-transformer": ("Wan-AI/Wan2.1-VACE-1.3B-diffusers", "transformer", 2_153_972_032,
                                  f"{SELF_CHECK}; named '1.3B' (the T2V backbone) plus 15 VACE blocks"),
}  # fmt: skip
RANDOM_MODELS.update(
    {
        name: RandomModel(keyframe_component(model, component), count, source)
        for name, (model, component, count, source) in KEYFRAME_MODELS.items()
    }
)
