"""LTX-2 through ``LTX2ConditionPipeline``: ``LTX2VideoCondition`` items at latent index 0 and -1.

Read from the pipeline's code (diffusers 0.42.1; conditioning changed at 0.39, so older releases
are refused and every video records the diffusers version that made it): a condition's ``index``
is a *latent* frame index. Index 0 overwrites latent frame 0 (keyframe 1 = frame 0). Index -1 is
latent frame L - 1 (L = (num_frames - 1) / r + 1, r the VAE's time compression, 8): that keyframe
is VAE-encoded alone and appended as extra tokens whose time coordinate is pixel frame
(L - 2) r + 1 = num_frames - r, clamped to one frame; the appended tokens are dropped before
decoding. So the pipeline returns num_frames frames, keyframe 2 sits at frame num_frames - r
(113 of 121) and the r - 1 frames after it continue past it: frame times are i / (num_frames - r).

Audio is not part of the benchmark, but the pipeline has no switch for it: the transformer
denoises audio latents jointly and the vocoder decodes them; the audio output is discarded. The
audio guidance follows the video's (STG and modality scales tied, audio CFG 7.0 as the pipeline's
default). Per step the transformer runs one CFG-batched call (batch 2), one spatio-temporal-guidance
call when ``stg_scale`` > 0 and one modality-isolation call when ``modality_scale`` > 1 (batch 1 each).
Single-frame keyframes are H.264 re-compressed by the pipeline (CRF 33 for LTX-2's Gemma 3 encoder;
PyAV needed) before VAE encoding.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.methods.keyframe.method import (
    KeyframePipelineInterpolator,
    library_versions,
)

LTX2_TEXT_TOKENS = 1024  # LTX2ConditionPipeline's max_sequence_length: prompts are padded to it
LTX2_PIPELINE_MULTIPLE = 32  # LTX2ConditionPipeline.check_inputs refuses other heights and widths
AUDIO_LATENTS_PER_SECOND = 16000 / 160 / 4  # the audio VAE's sample rate / mel hop / time compression
FIRST_KEYFRAME_TOKENS_DIFFUSERS = (0, 39)  # conditioning at a non-zero index is appended as keyframe tokens from 0.39


class LTX2(KeyframePipelineInterpolator):
    """LTX-2 (audio+video DiT), video path: keyframes at latent index 0 and -1."""

    pipeline_class = "LTX2ConditionPipeline"
    tiny_models = "kfbench.methods.keyframe.tiny_modern:make_tiny_modern_models"
    tiny_components = "kfbench.methods.keyframe.tiny_modern:tiny_ltx2_components"
    folder_classes = ("LTX2ConditionPipeline", "LTX2Pipeline", "LTX2ImageToVideoPipeline")
    transformer_class = "LTX2VideoTransformer3DModel"
    size_multiple = 32
    temporal_factor = 8

    def __init__(
        self,
        *,
        stg_scale: float = 1.0,
        modality_scale: float = 3.0,
        guidance_rescale: float = 0.7,
        audio_guidance_scale: float = 7.0,
        stg_block: int = 28,
        use_cross_timestep: bool = True,
        **options: Any,
    ) -> None:
        self.stg_scale, self.modality_scale, self.guidance_rescale = stg_scale, modality_scale, guidance_rescale
        self.audio_guidance_scale, self.stg_block, self.use_cross_timestep = (
            audio_guidance_scale,
            stg_block,
            use_cross_timestep,
        )
        super().__init__(**options)

    def check_options(self) -> None:
        if self.guidance_scale_2 is not None:
            raise KfbenchError("guidance_scale_2 is for two-expert models (wan22-flf2v); LTX-2 has one transformer")
        if self.stg_scale < 0 or self.modality_scale < 1 or not 0 <= self.guidance_rescale <= 1:
            raise KfbenchError("stg_scale must be >= 0, modality_scale >= 1 and guidance_rescale in [0, 1]")
        installed = tuple(int(p) for p in library_versions()["diffusers"].split(".")[:2])
        if installed < FIRST_KEYFRAME_TOKENS_DIFFUSERS:
            raise KfbenchError(
                f"ltx2 needs diffusers >= 0.39 (earlier LTX2ConditionPipeline overwrites the last keyframe's latent in "
                f"place, a different conditioning); installed: {library_versions()['diffusers']}"
            )

    def loaded_size_multiple(self, pipe: Any) -> int:
        return math.lcm(
            LTX2_PIPELINE_MULTIPLE, pipe.vae_spatial_compression_ratio * pipe.transformer_spatial_patch_size
        )

    def loaded_temporal_factor(self, pipe: Any) -> int:
        return pipe.vae_temporal_compression_ratio * pipe.transformer_temporal_patch_size

    def frame_positions(self, frames: int) -> tuple[int, int]:
        """num_frames returned; keyframe 2 at the first frame of the last latent frame, num_frames - r."""
        return frames, frames - self.temporal_factor

    def guidance(self) -> dict[str, Any]:
        """Every guidance argument of the call (audio tied to video except its CFG scale)."""
        return {
            "stg_scale": self.stg_scale,
            "modality_scale": self.modality_scale,
            "guidance_rescale": self.guidance_rescale,
            "audio_guidance_scale": self.audio_guidance_scale,
            "audio_stg_scale": self.stg_scale,
            "audio_modality_scale": self.modality_scale,
            "audio_guidance_rescale": self.guidance_rescale,
            "spatio_temporal_guidance_blocks": [self.stg_block],
            "use_cross_timestep": self.use_cross_timestep,
        }

    def keyframe_arguments(self, first: Image.Image, last: Image.Image, num_frames: int) -> dict[str, Any]:
        from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

        conditions = [
            LTX2VideoCondition(frames=first, index=0, strength=1.0),
            LTX2VideoCondition(frames=last, index=-1, strength=1.0),
        ]
        return {"conditions": conditions, "frame_rate": self.fps, **self.guidance()}

    def extra_stats(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"guidance": self.guidance(), "audio": "generated jointly by the pipeline and discarded"}

    def passes(self) -> tuple[int, int]:
        """(CFG-batched calls' batch size, extra batch-1 calls per step) by the pipeline's rules."""
        cfg = self.guidance_scale > 1 or self.audio_guidance_scale > 1
        return (2 if cfg else 1), int(self.stg_scale > 0) + int(self.modality_scale > 1)

    def denoiser_calls(self, scheduler: Any, boundary_ratio: float | None, frames: int) -> dict[str, int]:
        """Per step: one CFG-batched call, plus one STG and one modality-isolation call when enabled."""
        return {"transformer": self.num_inference_steps * (1 + self.passes()[1])}

    def flops_passes(self, calls: dict[str, int]) -> int:
        """Batch-1 transformer passes of one video (the CFG call carries two): FLOPs per video = this x per call."""
        batch, extra = self.passes()
        return self.num_inference_steps * (batch + extra)

    def meta_transformer_inputs(self, config: dict[str, Any], frames: int) -> dict[str, Any]:
        """One batch-1 pass: the latent video plus keyframe 2's appended tokens, the audio latents, 1024 text tokens."""
        spatial = self.size_multiple
        latent_frames = (frames - 1) // self.temporal_factor + 1
        tokens = (latent_frames + 1) * (self.height // spatial) * (self.width // spatial)
        audio = round(frames / self.fps * AUDIO_LATENTS_PER_SECOND)
        text = torch.empty(1, LTX2_TEXT_TOKENS, config["caption_channels"])
        return {
            "hidden_states": torch.empty(1, tokens, config["in_channels"]),
            "audio_hidden_states": torch.empty(1, audio, config["audio_in_channels"]),
            "encoder_hidden_states": text,
            "audio_encoder_hidden_states": text,
            "timestep": torch.empty(1, tokens),
            "audio_timestep": torch.empty(1),
            "sigma": torch.empty(1),
            "audio_sigma": torch.empty(1),
            "encoder_attention_mask": torch.ones(1, LTX2_TEXT_TOKENS),
            "audio_encoder_attention_mask": torch.ones(1, LTX2_TEXT_TOKENS),
            "num_frames": latent_frames,
            "height": self.height // spatial,
            "width": self.width // spatial,
            "fps": self.fps,
            "audio_num_frames": audio,
            "video_coords": torch.empty(1, 3, tokens, 2),
            "audio_coords": torch.empty(1, 1, audio, 2),
            "use_cross_timestep": self.use_cross_timestep,
        }
