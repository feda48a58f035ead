"""The keyframe methods on random-weight pipelines: every network of the real size (or tiny), built in memory on the
device.

``full``: each network of the preset's model from its embedded real config
(:mod:`kfbench.methods.keyframe.configs`, the entries of :data:`KEYFRAME_MODELS`),
materialised on the method's device in its dtype (its ``float32_components`` in float32, as when
loaded); scheduler from the embedded scheduler config; image processors at their real settings.
The tokenizers are the tiny word-level one (no vocabulary can be downloaded): the Wan and LTX
pipelines pad every prompt to their fixed text length (512, 256 tokens), so the text encoder and
the transformer see the real sequence lengths; FramePack trims the Llama tokens to the prompt, so
its text length differs from the real tokenizer's. ``tiny``: the tiny pipelines of
:mod:`kfbench.methods.keyframe.tiny`, in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from kfbench.bench.randommethods import Size, Subject
from kfbench.bench.randomweights import RandomModel, empty, materialize
from kfbench.methods.keyframe.bench import (
    build_component,
    count_transformer_flops,
    real_pipeline,
    scheduler_from_config,
)
from kfbench.methods.keyframe.loading import DTYPES
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator
from kfbench.registry import create_method, import_factory


def processors(pipeline_class: str, networks: dict[str, Any]) -> dict[str, Any]:
    """Tokenizers and image processors of a full-size pipeline, built without files."""
    from transformers import CLIPImageProcessor, SiglipImageProcessor

    from kfbench.methods.keyframe.tiny import tiny_tokenizer

    parts: dict[str, Any] = {"tokenizer": tiny_tokenizer()}
    if "text_encoder_2" in networks:
        parts["tokenizer_2"] = tiny_tokenizer()
    if pipeline_class in ("WanImageToVideoPipeline", "SkyReelsV2ImageToVideoPipeline") and "image_encoder" in networks:
        parts["image_processor"] = CLIPImageProcessor()  # 224 px, CLIP's mean and std, as the Wan FLF2V folder's
    if pipeline_class == "HunyuanVideoFramepackPipeline":
        parts["feature_extractor"] = SiglipImageProcessor(size={"height": 384, "width": 384})  # flux_redux_bfl's
    return parts


def component_dtype(method: KeyframePipelineInterpolator, name: str) -> torch.dtype:
    return torch.float32 if name in method.float32_components else DTYPES[method.dtype]


def full_components(method: KeyframePipelineInterpolator, seed: int) -> dict[str, Any]:
    """Every network of the method's model at its real size with random weights on the method's device."""
    real = real_pipeline(method.model)
    networks = {
        name: materialize(
            empty(keyframe_component(method.model, name)), method.device, component_dtype(method, name), seed=seed + i
        )
        for i, (name, spec) in enumerate(real.items())
        if isinstance(spec, tuple)
    }
    parts = {
        **networks,
        **processors(method.pipeline_class, networks),
        "scheduler": scheduler_from_config(real["scheduler"]),
    }
    if real["boundary_ratio"] is not None:
        parts["boundary_ratio"] = real["boundary_ratio"]
    return parts


def tiny_components(method: KeyframePipelineInterpolator, seed: int) -> dict[str, Any]:
    """The tiny pipeline's components (the class's ``tiny_components``), cast to the method's device and dtypes."""
    parts = import_factory(method.tiny_components)(seed=seed)
    for name, part in parts.items():
        if isinstance(part, torch.nn.Module):
            parts[name] = torch.nn.Module.to(part, method.device, component_dtype(method, name))
    return parts


def random_keyframe_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """A keyframe method (Wan FLF2V, Wan 2.2, LTX-Video, FramePack) on a random pipeline; the transformer(s) are
    timed."""
    import diffusers

    settings = create_method(name, **options)  # its options resolved (nothing is loaded)
    parts = full_components(settings, seed) if size == "full" else tiny_components(settings, seed)
    pipe = getattr(diffusers, settings.pipeline_class)(**parts)
    pipe.set_progress_bar_config(disable=True)
    method = create_method(name, components={"pipeline": pipe}, **options)
    experts = tuple(method.denoisers(pipe).values())
    config, boundary = dict(pipe.transformer.config), pipe.config.get("boundary_ratio")

    def calls_per_video(num_frames: int) -> int:
        scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)  # a copy: set_timesteps changes it
        return sum(method.denoiser_calls(scheduler, boundary, method.frames_for(num_frames)).values())

    def call_flops(num_frames: int) -> int:
        return count_transformer_flops(method, config, method.frames_for(num_frames))["per_call"]

    return Subject(
        method,
        experts if len(experts) > 1 else experts[0],
        "transformer_calls",
        calls_per_video=calls_per_video,
        call_flops=None if method.flops_unavailable else call_flops,
        flops_source="FlopCounterMode on the meta device at the pipeline's shapes (attention matmuls included)",
    )


def keyframe_component(model: str, component: str) -> Callable[[], nn.Module]:
    """The builder of one network of a keyframe pipeline from its embedded real config (keyframe/configs.py)."""

    def build() -> nn.Module:
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
    "wan21-flf2v-transformer": (
        WAN21,
        "transformer",
        16_395_536_704,
        f"{SELF_CHECK}; named '14B' on the hub (the T2V backbone, 14.29 B here, "
        "plus the image cross-attention and CLIP-token embedder)",
    ),
    "wan22-a14b-expert": (
        WAN22,
        "transformer",
        14_288_901_184,
        f"{SELF_CHECK}; each of the two experts, 'A14B' = 14 B active",
    ),
    "wan-umt5-xxl-encoder": (
        WAN21,
        "text_encoder",
        5_680_910_336,
        f"{SELF_CHECK}; google/umt5-xxl's encoder, about 5.7 B",
    ),
    "wan-clip-vit-h-image-encoder": (
        WAN21,
        "image_encoder",
        632_076_800,
        "open_clip model_profile.csv: ViT-H-14 image 632.08 M",
    ),
    "wan21-vae": (WAN21, "vae", 126_892_531, f"{SELF_CHECK}; Wan 2.1 VAE"),
    "ltx-13b-transformer": (
        LTX,
        "transformer",
        13_042_569_344,
        f"{SELF_CHECK}; named '13B' (ltxv-13b-0.9.7-dev, 0.9.8-13B-distilled)",
    ),
    "ltx-t5-xxl-encoder": (LTX, "text_encoder", 4_762_310_656, f"{SELF_CHECK}; T5 v1.1 XXL's encoder, about 4.7 B"),
    "ltx-097-vae": (LTX, "vae", 1_246_913_522, f"{SELF_CHECK}; LTX-Video 0.9.7 VAE"),
    "framepack-transformer": (
        HUNYUAN,
        "transformer",
        12_874_314_816,
        f"{SELF_CHECK}; HunyuanVideo '13B' + FramePack's image projection and clean-latent embedder",
    ),
    "framepack-llama3-8b-encoder": (
        HUNYUAN,
        "text_encoder",
        7_505_186_816,
        "Meta-Llama-3-8B's 8,030,261,248 less its lm_head (128,256 x 4096), "
        "plus llava-llama-3-8b's 64 extra token embeddings",
    ),
    "framepack-clip-l-text-encoder": (
        HUNYUAN,
        "text_encoder_2",
        123_060_480,
        "open_clip model_profile.csv: ViT-L-14 text 123.65 M, less its 768 x 768 text projection",
    ),
    "framepack-siglip-image-encoder": (
        HUNYUAN,
        "image_encoder",
        428_225_600,
        f"{SELF_CHECK}; SigLIP so400m/14 at 384 px",
    ),
    "framepack-hunyuan-vae": (
        HUNYUAN,
        "vae",
        246_478_803,
        f"{SELF_CHECK}; HunyuanVideo VAE (AutoencoderKLHunyuanVideo defaults)",
    ),
    "ltx2-transformer": (
        "Lightricks/LTX-2",
        "transformer",
        18_876_174_592,
        "named '19B' (ltx-2-19b-dev: video and audio streams)",
    ),
    "ltx2-gemma3-12b-encoder": (
        "Lightricks/LTX-2",
        "text_encoder",
        12_202_563_392,
        "google/gemma-3-12b, '12B' (12.2 B with its SigLIP tower)",
    ),
    "ltx2-connectors": ("Lightricks/LTX-2", "connectors", 1_431_475_200, f"{SELF_CHECK}; LTX2TextConnectors defaults"),
    "ltx2-vae": ("Lightricks/LTX-2", "vae", 1_222_479_601, f"{SELF_CHECK}; LTX-2 video VAE"),
    "skyreels-flf2v-1.3b-transformer": (
        "Skywork/SkyReels-V2-FLF2V-1.3B-540P-Diffusers",
        "transformer",
        1_565_086_528,
        f"{SELF_CHECK}; '1.3B' Wan width + image branch, config assumed",
    ),
    "skyreels-df-14b-transformer": (
        "Skywork/SkyReels-V2-DF-14B-720P-Diffusers",
        "transformer",
        14_288_491_584,
        f"{SELF_CHECK}; named '14B' (the Wan 14B text-to-video transformer)",
    ),
    "wan-vace-14b-transformer": (
        "Wan-AI/Wan2.1-VACE-14B-diffusers",
        "transformer",
        17_337_592_896,
        f"{SELF_CHECK}; named '14B' (the T2V backbone) plus 8 VACE blocks",
    ),
    "wan-vace-1.3b-transformer": (
        "Wan-AI/Wan2.1-VACE-1.3B-diffusers",
        "transformer",
        2_153_972_032,
        f"{SELF_CHECK}; named '1.3B' (the T2V backbone) plus 15 VACE blocks",
    ),
    "wan22-vace-fun-a14b-expert": (
        "linoyts/Wan2.2-VACE-Fun-14B-diffusers",
        "transformer",
        17_337_592_896,
        "each of the two experts: the 'A14B' T2V expert (14.29 B) plus 8 VACE blocks (3.049 B; the bf16 "
        "Wan2_2_Fun_VACE_module_A14B_{HIGH,LOW} files are 6,098,227,800 bytes: 2 bytes a value plus the header)",
    ),
}
RANDOM_MODELS = {
    name: RandomModel(keyframe_component(model, component), count, source)
    for name, (model, component, count, source) in KEYFRAME_MODELS.items()
}
