"""LTX-Video through ``LTXConditionPipeline`` with two image conditions: keyframe 1 at frame 0, keyframe 2 at the last
frame.

``ltx-video`` is LTX-Video 0.9.7 dev (13 B) with the documentation's settings for its first
pass (CFG 5.0, 30 steps, decode timestep 0.05 and noise 0.025, no image-condition noise);
``ltx-video-distilled`` the 0.9.8 13 B distilled checkpoint with the documented distilled
schedule (guidance 1.0, the eight explicit timesteps, guidance rescale 0.7). Frames are 8k+1 and
sizes multiples of 32 (the real VAE's compression). Videos are generated at ``height`` x ``width``
in one pass unless ``upsampler`` names the documented latent upsampler (hub id or folder; off by
default): then the documentation's three stages run, each a diffusers pipeline call with a CPU
generator seeded with the run's seed as the examples seed each stage: ``LTXConditionPipeline`` at
2/3 of the size (rounded down to the size multiple) with ``output_type="latent"``,
``LTXLatentUpsamplePipeline`` doubling the latents, ``LTXConditionPipeline`` again on the upscaled
latents with ``denoise_strength`` (dev: 0.4 of 10 steps; distilled: 0.999 with the timesteps
[1000, 909, 725, 421, 0], AdaIN 1.0, tone mapping 0.6), decoded and resized to ``height`` x ``width``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.methods.keyframe.loading import DTYPES, FETCHED_FILES, read_json
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator
from kfbench.utils.hub import resolve_model_dir

LTX_TEXT_TOKENS = 256  # LTXConditionPipeline's max_sequence_length
LTX_PIPELINE_MULTIPLE = 32  # LTXConditionPipeline.check_inputs refuses other heights and widths


class LTXVideo(KeyframePipelineInterpolator):
    """LTX-Video 0.9.7 dev: the two keyframes as ``LTXVideoCondition`` items at frames 0 and T-1."""

    pipeline_class = "LTXConditionPipeline"
    tiny_components = "kfbench.methods.keyframe.tiny:tiny_ltx_components"
    transformer_class = "LTXVideoTransformer3DModel"
    folder_classes = ("LTXConditionPipeline", "LTXPipeline")  # 0.9.5 folders name the text-to-video class
    size_multiple = 32
    temporal_factor = 8
    timesteps: tuple[float, ...] | None = None
    decode_timestep, decode_noise_scale, image_cond_noise_scale, guidance_rescale = 0.05, 0.025, 0.0, 0.0
    refine_timesteps: tuple[float, ...] | None = None  # the upsampled pass's documented timesteps, if any

    def __init__(
        self,
        *,
        upsampler: str | None = None,
        upsampler_denoise_strength: float = 0.4,
        upsampler_steps: int = 10,
        upsampler_adain_factor: float = 0.0,
        upsampler_tone_map_compression_ratio: float = 0.0,
        **options: Any,
    ) -> None:
        self.upsampler, self.upsampler_denoise_strength = upsampler, upsampler_denoise_strength
        self.upsampler_steps, self.upsampler_adain_factor = upsampler_steps, upsampler_adain_factor
        self.upsampler_tone_map_compression_ratio = upsampler_tone_map_compression_ratio
        self._upsample_pipe: Any = None
        super().__init__(**options)

    def check_options(self) -> None:
        if self.guidance_scale_2 is not None:
            raise KfbenchError("guidance_scale_2 is for two-expert models (wan22-flf2v); LTX-Video has one transformer")
        check_steps(self.timesteps, self.num_inference_steps, "num_inference_steps")
        check_steps(self.refine_timesteps, self.upsampler_steps, "upsampler_steps")
        if not 0 < self.upsampler_denoise_strength <= 1:
            raise KfbenchError(f"upsampler_denoise_strength must be in (0, 1], got {self.upsampler_denoise_strength}")
        if self.upsampler_steps < 1 or self.upsampler_adain_factor < 0:
            raise KfbenchError("upsampler_steps must be >= 1 and upsampler_adain_factor >= 0")
        if not 0 <= self.upsampler_tone_map_compression_ratio <= 1:
            raise KfbenchError(
                "upsampler_tone_map_compression_ratio must be in [0, 1], got "
                f"{self.upsampler_tone_map_compression_ratio}"
            )
        if self.upsampler is not None:
            self.stage_size()

    def check_folder(self, folder: Path, index: dict[str, Any]) -> None:
        """Also check the upsampler's folder before any weights load."""
        super().check_folder(folder, index)
        if self.upsampler is not None:
            upsampler_source(self.upsampler)

    def stage_size(self) -> tuple[int, int]:
        """Stage 1's size with the upsampler: 2/3 of height x width, rounded down to a size LTXConditionPipeline
        takes."""
        m = math.lcm(LTX_PIPELINE_MULTIPLE, self.size_multiple)
        height, width = int(self.height * 2 / 3) // m * m, int(self.width * 2 / 3) // m * m
        if min(height, width) < m:
            raise KfbenchError(
                f"with --upsampler the first stage runs at 2/3 of {self.height}x{self.width}, under {m} px; "
                "pass a larger --height/--width"
            )
        return height, width

    def generate(self, pipe: Any, arguments: dict[str, Any], seed: int) -> np.ndarray:
        """One pass, or with ``upsampler`` the documented three stages (latents, 2x latents, refined and resized)."""
        if self.upsampler is None:
            return super().generate(pipe, arguments, seed)
        height, width = self.stage_size()
        latents = pipe(**{**arguments, "height": height, "width": width, "output_type": "latent"}).frames
        upscaled = self.upsample_pipeline(pipe)(
            latents=latents, adain_factor=self.upsampler_adain_factor,
            tone_map_compression_ratio=self.upsampler_tone_map_compression_ratio, output_type="latent",
        ).frames  # fmt: skip
        refine = {"timesteps": list(self.refine_timesteps)} if self.refine_timesteps is not None else {}
        frames = pipe(**{
            **arguments, "height": 2 * height, "width": 2 * width, "latents": upscaled,
            "num_inference_steps": self.upsampler_steps, "denoise_strength": self.upsampler_denoise_strength,
            "generator": torch.Generator("cpu").manual_seed(seed), "output_type": "pil", **refine,
        }).frames[0]  # fmt: skip
        return np.stack([np.asarray(frame.resize((self.width, self.height))) for frame in frames])

    def upsample_pipeline(self, pipe: Any) -> Any:
        """``LTXLatentUpsamplePipeline`` with ``pipe``'s VAE and the ``upsampler`` weights (loaded on first use)."""
        if self._upsample_pipe is None:
            from diffusers import LTXLatentUpsamplePipeline

            model = load_latent_upsampler(self.upsampler, DTYPES[self.dtype]).to(self.device)
            if model.config.in_channels != pipe.vae.config.latent_channels:
                raise KfbenchError(
                    f"--upsampler '{self.upsampler}' takes {model.config.in_channels} latent channels, the model's "
                    "VAE makes "
                    f"{pipe.vae.config.latent_channels}; pass the upsampler of this LTX-Video version"
                )
            self._upsample_pipe = LTXLatentUpsamplePipeline(vae=pipe.vae, latent_upsampler=model)
            self._upsample_pipe.set_progress_bar_config(disable=True)
        return self._upsample_pipe

    def check_single_pass(self) -> None:
        if self.upsampler is not None:
            raise KfbenchError(
                "kfbench bench counts one LTXConditionPipeline pass; it does not count the upsampler's stages: drop "
                "--upsampler"
            )

    def loaded_size_multiple(self, pipe: Any) -> int:
        return pipe.vae_spatial_compression_ratio * pipe.transformer_spatial_patch_size

    def loaded_temporal_factor(self, pipe: Any) -> int:
        return pipe.vae_temporal_compression_ratio * pipe.transformer_temporal_patch_size

    def keyframe_arguments(self, first: Image.Image, last: Image.Image, num_frames: int) -> dict[str, Any]:
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        arguments = {
            "conditions": [
                LTXVideoCondition(image=first, frame_index=0),
                LTXVideoCondition(image=last, frame_index=num_frames - 1),
            ],
            "frame_rate": self.fps,
            "decode_timestep": self.decode_timestep,
            "decode_noise_scale": self.decode_noise_scale,
            "image_cond_noise_scale": self.image_cond_noise_scale,
            "guidance_rescale": self.guidance_rescale,
        }
        if self.timesteps is not None:
            arguments["timesteps"] = list(self.timesteps)
        return arguments

    def meta_transformer_inputs(self, config: dict[str, Any], frames: int) -> dict[str, Any]:
        """CFG batched (batch 2 when guidance > 1); tokens: the latent video plus keyframe 2's latent frame (an extra
        condition)."""
        self.check_single_pass()
        batch = 2 if self.guidance_scale > 1 else 1
        latent_frames = (frames - 1) // self.temporal_factor + 1
        tokens = (latent_frames + 1) * (self.height // self.size_multiple) * (self.width // self.size_multiple)
        return {
            "hidden_states": torch.empty(batch, tokens, config["in_channels"]),
            "encoder_hidden_states": torch.empty(batch, LTX_TEXT_TOKENS, config["caption_channels"]),
            "timestep": torch.empty(batch, tokens, 1),
            "encoder_attention_mask": torch.ones(batch, LTX_TEXT_TOKENS),
            "video_coords": torch.empty(batch, 3, tokens),
        }

    def denoiser_calls(self, scheduler: Any, boundary_ratio: float | None, frames: int) -> dict[str, int]:
        """One call per step: the pipeline batches the conditional and unconditional halves."""
        self.check_single_pass()
        return {"transformer": len(self.timesteps) if self.timesteps is not None else self.num_inference_steps}


class LTXVideoDistilled(LTXVideo):
    """LTX-Video 0.9.8 13 B distilled: guidance 1.0 (preset) and the documented explicit timesteps."""

    timesteps = (1000, 993, 987, 981, 975, 909, 725, 0.03)
    refine_timesteps = (1000, 909, 725, 421, 0)
    guidance_rescale = 0.7


def check_steps(timesteps: tuple[float, ...] | None, steps: int, option: str) -> None:
    """Refuse a step count other than the number of a pass's documented timesteps."""
    if timesteps is not None and steps != len(timesteps):
        raise KfbenchError(
            f"this checkpoint samples with its {len(timesteps)} documented timesteps; {option} must be "
            f"{len(timesteps)}, got {steps}"
        )


def upsampler_source(upsampler: str) -> tuple[Path, str | None]:
    """Folder and subfolder of an ``LTXLatentUpsamplerModel``: an ``LTXLatentUpsamplePipeline``'s latent_upsampler, or a
    model folder.

    Only the class names are read from the folder's JSON: the model class loaded is diffusers' own,
    whatever the JSON names as its library (the hub folder says "ltx", diffusers' pipelines.ltx module).
    """
    folder = resolve_model_dir(upsampler, flag="--upsampler", allow_patterns=FETCHED_FILES)
    if (folder / "model_index.json").is_file():
        found, subfolder = read_json(folder / "model_index.json", upsampler).get("_class_name"), "latent_upsampler"
    elif (folder / "config.json").is_file():
        found, subfolder = read_json(folder / "config.json", upsampler).get("_class_name"), None
    else:
        found, subfolder = "folder without model_index.json or config.json", None
    if found not in ("LTXLatentUpsamplePipeline", "LTXLatentUpsamplerModel"):
        raise KfbenchError(
            f"--upsampler '{upsampler}' holds a {found}, not an LTXLatentUpsamplePipeline or LTXLatentUpsamplerModel; "
            "pass e.g. Lightricks/ltxv-spatial-upscaler-0.9.7"
        )
    return folder, subfolder


def load_latent_upsampler(upsampler: str, dtype: torch.dtype) -> Any:
    """The ``LTXLatentUpsamplerModel`` of ``upsampler`` (hub id or folder), safetensors only."""
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    folder, subfolder = upsampler_source(upsampler)
    try:
        return LTXLatentUpsamplerModel.from_pretrained(
            folder, subfolder=subfolder, dtype=dtype, use_safetensors=True, local_files_only=True
        )
    except (OSError, ValueError) as exc:
        raise KfbenchError(f"could not load LTXLatentUpsamplerModel from {folder}: {exc}") from None
