"""The keyframe methods on random-weight pipelines: every network of the real size (or tiny), built in memory on the
device.

``full``: each network of the preset's model from its embedded real config
(:mod:`kfbench.methods.keyframe.configs`, the entries of :data:`kfbench.bench.randomweights.KEYFRAME_MODELS`),
materialised on the method's device in its dtype (its ``float32_components`` in float32, as when
loaded); scheduler from the embedded scheduler config; image processors at their real settings.
The tokenizers are the tiny word-level one (no vocabulary can be downloaded): the Wan and LTX
pipelines pad every prompt to their fixed text length (512, 256 tokens), so the text encoder and
the transformer see the real sequence lengths; FramePack trims the Llama tokens to the prompt, so
its text length differs from the real tokenizer's. ``tiny``: the tiny pipelines of
:mod:`kfbench.methods.keyframe.tiny`, in memory.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch

from kfbench.bench.randommethods import Size, Subject
from kfbench.bench.randomweights import empty, keyframe_component, materialize
from kfbench.methods.keyframe.bench import count_transformer_flops, real_pipeline, scheduler_from_config
from kfbench.methods.keyframe.loading import DTYPES
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator
from kfbench.registry import create_method

# method class -> (function of kfbench.methods.keyframe.tiny building its tiny components, its arguments besides seed)
TINY_COMPONENTS = {
    "WanFLF2V": ("tiny_wan_components", {"two_experts": False}),
    "Wan22FLF2V": ("tiny_wan_components", {"two_experts": True}),
    "LTXVideo": ("tiny_ltx_components", {}),
    "LTXVideoDistilled": ("tiny_ltx_components", {}),
    "FramePack": ("tiny_framepack_components", {}),
    "LTX2": ("tiny_modern:tiny_ltx2_components", {}),
    "SkyReelsV2FLF2V": ("tiny_modern:tiny_skyreels_components", {}),
    "SkyReelsV2DF": ("tiny_modern:tiny_skyreels_df_components", {}),
    "WanVACE": ("tiny_modern:tiny_vace_components", {}),
}


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
    """The tiny pipeline's components, its networks cast to the method's device and dtypes."""
    function, kwargs = TINY_COMPONENTS[type(method).__name__]
    module, _, function = function.rpartition(":")
    parts = getattr(importlib.import_module(f"kfbench.methods.keyframe.{module or 'tiny'}"), function)(
        seed=seed, **kwargs
    )
    for name, part in parts.items():
        if isinstance(part, torch.nn.Module):
            parts[name] = torch.nn.Module.to(part, method.device, component_dtype(method, name))
    return parts


def random_keyframe_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """A keyframe method (Wan FLF2V, Wan 2.2, LTX-Video, FramePack) on a random pipeline; the transformer(s) are
    timed."""
    import diffusers

    method = create_method(name, **options)
    parts = full_components(method, seed) if size == "full" else tiny_components(method, seed)
    pipe = getattr(diffusers, method.pipeline_class)(**parts)
    pipe.set_progress_bar_config(disable=True)
    method.use_pipeline(pipe)
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
    )


def keyframe_flops_row(method: Any, num_frames: int) -> dict[str, Any]:
    """Calls and FLOPs of one video of a keyframe method at its real config, on the meta device (no weights)."""
    from kfbench.methods.keyframe.bench import bench_keyframe

    flops = bench_keyframe(method, num_frames=num_frames, seed=0, flops_only=True, repeats=0, warmup=0)["flops"]
    if "missing" in flops:
        return {"method": method.name, "network": "transformer", "calls": flops["calls_per_video"], "flops": None,
                "flops_missing": flops["missing"]}  # fmt: skip
    calls = flops["calls_per_video"]
    return {
        "method": method.name,
        "network": "transformer",
        "calls": calls,
        "flops_per_call": flops["per_call"],
        "flops_per_video": flops["total"],
        "flops_per_video_without_attention_matmuls": flops["total"]
        - flops["per_call_attention_matmuls"] * flops["passes"],
    }
