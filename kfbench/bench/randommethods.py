"""Methods on random-weight models: the real architectures (``full``) or tiny ones (``tiny``), built in memory.

:data:`RANDOM_INSTALLERS` maps a method factory (as in the method presets) to the function that
builds that family's models and returns the ready method with the network to time. A new family
adds one entry: ``"its.module:Factory": "its.module:random_method"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from kfbench.bench.randomweights import BackwardTensors, build_random, empty, materialize
from kfbench.errors import KfbenchError
from kfbench.registry import create_method, import_factory, lookup, method_presets, resolve_options

Size = Literal["full", "tiny"]
RANDOM_CHECKPOINT = "random weights (kfbench bench)"  # recorded in place of a checkpoint path


@dataclass
class Subject:
    """A method ready to interpolate and what a benchmark measures in it."""

    method: Any
    network: nn.Module | tuple[nn.Module, ...]  # the denoiser/synthesis network(s) whose forwards are timed
    calls_key: str  # the method.stats entry counting its calls
    unet_config: dict[str, Any] | None = None  # SVD family: FLOPs are counted on the meta device from this config
    calls_per_video: Callable[[int], int] | None = (
        None  # network calls of one video of num_frames, by the pipeline's rules
    )
    call_flops: Callable[[int], int] | None = None  # FLOPs of one call at num_frames, counted on the meta device


def random_method(name: str, options: dict[str, Any], size: Size, seed: int = 0) -> Subject:
    """Method ``name`` (preset + ``options``) on random ``size`` models, built on its device."""
    preset = lookup(method_presets(), name, "method")
    installer = RANDOM_INSTALLERS.get(preset.factory)
    if installer is None:
        raise KfbenchError(
            f"method '{name}' has no random-weight builder; kfbench bench --random-weights covers "
            f"{', '.join(random_methods())}"
        )
    return import_factory(installer)(name, options, size, seed)


def random_methods() -> list[str]:
    """Method names whose family has a random-weight builder."""
    return sorted(n for n, p in method_presets().items() if p.factory in RANDOM_INSTALLERS)


def svd_pipeline(size: Size, device: str, dtype: torch.dtype, seed: int):
    """An SVD img2vid pipeline with random SVD-XT (or tiny) UNet, VAE and image encoder on ``device``."""
    from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline
    from transformers import CLIPImageProcessor

    from kfbench.methods.tiny import SVD_SCHEDULER_CONFIG, tiny_svd_components

    if size == "tiny":
        parts = tiny_svd_components(seed)
        for key in ("unet", "vae", "image_encoder"):
            parts[key] = nn.Module.to(
                parts[key], device, dtype
            )  # plain cast (diffusers' own warns about float32 modules; it has none)
        return StableVideoDiffusionPipeline(**parts)
    models = {key: build_random(f"svd-xt-{name}", device, dtype, seed=seed) for key, name in
              (("unet", "unet"), ("vae", "vae"), ("image_encoder", "image-encoder"))}  # fmt: skip
    return StableVideoDiffusionPipeline(
        **models,
        scheduler=EulerDiscreteScheduler.from_config(SVD_SCHEDULER_CONFIG),
        feature_extractor=CLIPImageProcessor(),
    )


def random_svd_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """An SVD-family method (ours and its ablations, trf, svd, vibid) on a random pipeline; ours gets random backward
    tensors."""
    from kfbench.methods.svd.interpolator import SVDInterpolator
    from kfbench.methods.svd.loading import backward_tensors
    from kfbench.methods.svd.model import SVDModel, resolve_dtype
    from kfbench.utils.devices import resolve_device

    if lookup(method_presets(), name, "method").options.get("backward") == "finetuned":
        options = {"checkpoint": RANDOM_CHECKPOINT, **options}
    method = create_method(name, **options)
    device = resolve_device(method.device)
    pipe = svd_pipeline(size, device, resolve_dtype(method.dtype, device), seed)
    flags = {"cpu_offload": False, "release_compat": False, "compile": False}
    if isinstance(method, SVDInterpolator):
        flags.update(cpu_offload=method.cpu_offload, release_compat=method.release_compat, compile=method.compile)
    model = SVDModel.from_pipeline(pipe, device, f"random {size} SVD-XT", **flags)
    if isinstance(method, SVDInterpolator) and method.backward == "finetuned":
        unet = pipe.unet
        deltas = materialize(BackwardTensors(unet, method.finetuned_tensors), device, unet.dtype, seed=seed + 1).state()
        tensors = backward_tensors(unet, model.layers, deltas, method.finetuned_tensors)
        model.backward_weights = {layer: {k: v.to(device) for k, v in ts.items()} for layer, ts in tensors.items()}
    method.use_model(model)
    return Subject(method, pipe.unet, "unet_calls", dict(pipe.unet.config))


def random_film_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """FILM on a random film_net (the real network at both sizes: it is small)."""
    preset = lookup(method_presets(), name, "method")
    factory = import_factory(preset.factory)
    network = build_random("film", "cpu", torch.float32, seed=seed)
    resolved = resolve_options(preset, factory, options, "method")
    method = factory(network, **resolved)
    method.name, method.options = name, resolved
    return Subject(method, method.network, "film_calls")


def random_dynamicrafter_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """DynamiCrafter on a random release-config (or tiny-config) model; float32 weights under autocast, as the release
    runs."""
    from kfbench.methods.dynamicrafter.model import DynamiCrafter, release_config
    from kfbench.methods.dynamicrafter.tiny import tiny_config

    method = create_method(name, **{"checkpoint": RANDOM_CHECKPOINT, **options})
    config = release_config() if size == "full" else tiny_config()
    model = materialize(empty(lambda: DynamiCrafter(config)), method.device, torch.float32, seed=seed)
    method.use_model(model)
    for tower in (model.cond_stage_model, model.embedder):
        tower.to("cpu")  # the CLIP towers wait on the CPU, as when loaded
    return Subject(method, model.model, "unet_calls")


RANDOM_INSTALLERS: dict[str, str] = {
    "kfbench.methods.svd:SVDInterpolator": "kfbench.bench.randommethods:random_svd_method",
    "kfbench.methods.svd.vibid:ViBiDInterpolator": "kfbench.bench.randommethods:random_svd_method",
    "kfbench.methods.film.interpolator:FilmInterpolator": "kfbench.bench.randommethods:random_film_method",
    "kfbench.methods.dynamicrafter:DynamiCrafterInterpolator": (
        "kfbench.bench.randommethods:random_dynamicrafter_method"
    ),
    **{
        f"kfbench.methods.keyframe:{cls}": "kfbench.methods.keyframe.randombuild:random_keyframe_method"
        for cls in (
            "WanFLF2V",
            "Wan22FLF2V",
            "LTXVideo",
            "LTXVideoDistilled",
            "FramePack",
            "LTX2",
            "SkyReelsV2FLF2V",
            "SkyReelsV2DF",
            "WanVACE",
        )
    },
}
