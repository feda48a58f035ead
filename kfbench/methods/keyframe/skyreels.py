"""SkyReels-V2 with both keyframes: ``SkyReelsV2ImageToVideoPipeline`` and the diffusion-forcing I2V pipeline.

``skyreels-v2`` runs ``SkyReelsV2ImageToVideoPipeline(image=first, last_image=last)`` (Wan 2.1
architecture: both keyframes through CLIP and the VAE, keyframe 2 at the last frame, as in
:class:`~kfbench.methods.keyframe.wan.WanFLF2V`). Only a transformer with ``pos_embed_seq_len``
(Skywork/SkyReels-V2-FLF2V-1.3B-540P-Diffusers) takes two image embeddings: the I2V checkpoints
take one and the pipeline fails on ``last_image``, so they are refused.

``skyreels-v2-df`` runs ``SkyReelsV2DiffusionForcingImageToVideoPipeline(image=first, last_image=last)``.
Read from the pipeline's code (diffusers 0.42.1): keyframe 1's latent replaces latent frame 0;
keyframe 2 is VAE-encoded alone and *appended* as latent frame L (L = (num_frames - 1) / 4 + 1
generated latent frames), kept clean (timestep 0, never updated), and dropped before decoding. So
the pipeline returns num_frames frames starting at keyframe 1, and keyframe 2 lies one latent step
(4 frames) after the last returned frame: frame times are i / (num_frames - 1 + 4). The transformer
runs len(step_matrix) times (the diffusion-forcing schedule over L + 1 latent frames; with
``ar_step`` 0 that is the number of steps), twice with CFG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.methods.keyframe.loading import with_flow_shift
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator
from kfbench.methods.keyframe.wan import (
    WAN_TEXT_TOKENS,
    WanFLF2V,
    refuse_expand_timesteps,
)

DF_FOLDER_CLASSES = (
    "SkyReelsV2DiffusionForcingImageToVideoPipeline",
    "SkyReelsV2DiffusionForcingPipeline",
    "SkyReelsV2DiffusionForcingVideoToVideoPipeline",
)


class SkyReelsV2FLF2V(WanFLF2V):
    """SkyReels-V2 FLF2V: SkyReelsV2ImageToVideoPipeline(image, last_image); VAE and image encoder in float32."""

    pipeline_class = "SkyReelsV2ImageToVideoPipeline"
    tiny_models = "kfbench.methods.keyframe.tiny_modern:make_tiny_modern_models"
    tiny_components = "kfbench.methods.keyframe.tiny_modern:tiny_skyreels_components"
    transformer_class = "SkyReelsV2Transformer3DModel"
    flf2v_hint = "use Skywork/SkyReels-V2-FLF2V-1.3B-540P-Diffusers (the SkyReels-V2 I2V checkpoints take one image)"

    def check_options(self) -> None:
        if self.guidance_scale_2 is not None:
            raise KfbenchError(
                "guidance_scale_2 is for two-expert models (wan22-flf2v); SkyReels-V2 has one transformer"
            )


class SkyReelsV2DF(KeyframePipelineInterpolator):
    """SkyReels-V2 diffusion forcing with keyframe 2 as a clean latent appended after the generated ones."""

    pipeline_class = "SkyReelsV2DiffusionForcingImageToVideoPipeline"
    tiny_models = "kfbench.methods.keyframe.tiny_modern:make_tiny_modern_models"
    tiny_components = "kfbench.methods.keyframe.tiny_modern:tiny_skyreels_df_components"
    folder_classes = DF_FOLDER_CLASSES  # the hub's DF folders name the text-to-video class
    transformer_class = "SkyReelsV2Transformer3DModel"
    float32_components = ("vae",)
    size_multiple = 16
    temporal_factor = 4

    def __init__(
        self, *, ar_step: int = 0, causal_block_size: int | None = None, addnoise_condition: float = 0.0, **options: Any
    ) -> None:
        self.ar_step, self.causal_block_size, self.addnoise_condition = ar_step, causal_block_size, addnoise_condition
        super().__init__(**options)

    def check_options(self) -> None:
        if self.guidance_scale_2 is not None:
            raise KfbenchError(
                "guidance_scale_2 is for two-expert models (wan22-flf2v); SkyReels-V2 has one transformer"
            )
        if (
            self.ar_step < 0
            or self.addnoise_condition < 0
            or (self.causal_block_size is not None and self.causal_block_size < 1)
        ):
            raise KfbenchError("ar_step and addnoise_condition must be >= 0 and causal_block_size >= 1")

    def check_folder(self, folder: Path, index: dict[str, Any]) -> None:
        refuse_expand_timesteps(self.model, index)
        super().check_folder(folder, index)

    def loaded_size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size[1]

    def loaded_temporal_factor(self, pipe: Any) -> int:
        return pipe.vae_scale_factor_temporal

    def frame_positions(self, frames: int) -> tuple[int, int]:
        """num_frames returned; keyframe 2 is the appended latent frame, one latent step (temporal_factor) later."""
        return frames, frames - 1 + self.temporal_factor

    def keyframe_arguments(self, first: Image.Image, last: Image.Image, num_frames: int) -> dict[str, Any]:
        return {
            "image": first,
            "last_image": last,
            "ar_step": self.ar_step,
            "causal_block_size": self.causal_block_size,
            "addnoise_condition": self.addnoise_condition,
            "fps": round(self.fps),
        }

    def generate(self, pipe: Any, arguments: dict[str, Any], seed: int) -> np.ndarray:
        """One call; with addnoise_condition the pipeline draws torch.randn_like from the global RNG: seeded here."""
        if self.addnoise_condition <= 0:
            return super().generate(pipe, arguments, seed)
        with torch.random.fork_rng(devices=[torch.device(self.device)] if self.device.startswith("cuda") else []):
            torch.manual_seed(seed)
            return super().generate(pipe, arguments, seed)

    def meta_transformer_inputs(self, config: dict[str, Any], frames: int) -> dict[str, Any]:
        """Batch 1 (CFG passes are separate calls); the latent frames plus keyframe 2's, per-frame timesteps."""
        vae_factor = self.size_multiple // config["patch_size"][1]
        latent_frames = (frames - 1) // self.temporal_factor + 2
        return {
            "hidden_states": torch.empty(
                1, config["in_channels"], latent_frames, self.height // vae_factor, self.width // vae_factor
            ),
            "timestep": torch.empty(1, latent_frames),
            "encoder_hidden_states": torch.empty(1, WAN_TEXT_TOKENS, config["text_dim"]),
            "enable_diffusion_forcing": True,
            "fps": [1] if config.get("inject_sample_info") else None,
        }

    def denoiser_calls(self, scheduler: Any, boundary_ratio: float | None, frames: int) -> dict[str, int]:
        """Rows of the pipeline's own diffusion-forcing step matrix over L + 1 latent frames, x2 with CFG."""
        from diffusers import SkyReelsV2DiffusionForcingImageToVideoPipeline as Pipeline

        if self.flow_shift is not None:
            scheduler = with_flow_shift(scheduler, self.flow_shift)
        scheduler.set_timesteps(self.num_inference_steps, device="cpu")
        latent_frames = (frames - 1) // self.temporal_factor + 2
        matrix = Pipeline.generate_timestep_matrix(
            None, latent_frames, scheduler.timesteps, latent_frames, self.ar_step, 1, self.causal_block_size or 1
        )[0]
        return {"transformer": len(matrix) * (2 if self.guidance_scale > 1 else 1)}
