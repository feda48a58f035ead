"""LTX-Video through ``LTXConditionPipeline`` with two image conditions: keyframe 1 at frame 0, keyframe 2 at the last frame.

``ltx-video`` is LTX-Video 0.9.7 dev (13 B) with the documentation's settings for its first
pass (CFG 5.0, 30 steps, decode timestep 0.05 and noise 0.025, no image-condition noise);
``ltx-video-distilled`` the 0.9.8 13 B distilled checkpoint with the documented distilled
schedule (guidance 1.0, the eight explicit timesteps, guidance rescale 0.7). Frames are 8k+1 and
sizes multiples of 32 (the real VAE's compression). The documented latent upsampler (a second
pipeline that doubles the size, then a short refinement pass) is not run: videos are generated
at ``height`` x ``width`` in one pass.
"""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator


LTX_TEXT_TOKENS = 256  # LTXConditionPipeline's max_sequence_length


class LTXVideo(KeyframePipelineInterpolator):
    """LTX-Video 0.9.7 dev: the two keyframes as ``LTXVideoCondition`` items at frames 0 and T-1."""

    pipeline_class = "LTXConditionPipeline"
    transformer_class = "LTXVideoTransformer3DModel"
    folder_classes = ("LTXConditionPipeline", "LTXPipeline")  # 0.9.5 folders name the text-to-video class
    size_multiple = 32
    temporal_factor = 8
    timesteps: tuple[float, ...] | None = None
    decode_timestep, decode_noise_scale, image_cond_noise_scale, guidance_rescale = 0.05, 0.025, 0.0, 0.0

    def check_options(self) -> None:
        if self.guidance_scale_2 is not None:
            raise KfbenchError("guidance_scale_2 is for two-expert models (wan22-flf2v); LTX-Video has one transformer")
        if self.timesteps is not None and self.num_inference_steps != len(self.timesteps):
            raise KfbenchError(
                f"this checkpoint samples with its {len(self.timesteps)} documented timesteps; "
                f"num_inference_steps must be {len(self.timesteps)}, got {self.num_inference_steps}"
            )

    def loaded_size_multiple(self, pipe: Any) -> int:
        return pipe.vae_spatial_compression_ratio * pipe.transformer_spatial_patch_size

    def loaded_temporal_factor(self, pipe: Any) -> int:
        return pipe.vae_temporal_compression_ratio * pipe.transformer_temporal_patch_size

    def keyframe_arguments(self, first: Image.Image, last: Image.Image, num_frames: int) -> dict[str, Any]:
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        arguments = {
            "conditions": [LTXVideoCondition(image=first, frame_index=0), LTXVideoCondition(image=last, frame_index=num_frames - 1)],
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
        """CFG batched (batch 2 when guidance > 1); tokens: the latent video plus keyframe 2's latent frame (an extra condition)."""
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
        return {"transformer": len(self.timesteps) if self.timesteps is not None else self.num_inference_steps}


class LTXVideoDistilled(LTXVideo):
    """LTX-Video 0.9.8 13 B distilled: guidance 1.0 (preset) and the documented explicit timesteps."""

    timesteps = (1000, 993, 987, 981, 975, 909, 725, 0.03)
    guidance_rescale = 0.7
