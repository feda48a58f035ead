"""HunyuanVideo FramePack: ``HunyuanVideoFramepackPipeline(image=first, last_image=last)``, inverted anti-drifting.

The preset's ``model`` is the HunyuanVideo base folder; as in diffusers' FramePack example, the
transformer comes from ``lllyasviel/FramePackI2V_HY`` and the SigLIP image encoder and its
processor from ``lllyasviel/flux_redux_bfl`` (a folder that already holds a whole
HunyuanVideoFramepackPipeline is loaded as it is). FramePack generates sections of
``latent_window_size`` latent frames backwards from the end: it returns ``sections x 9 x 4 + 1``
frames for a request of ``num_frames`` (91 -> 109), starting at keyframe 1, and places keyframe 2's
latent one latent step after the last generated one (the clean-latent index that follows the
window), so keyframe 2 lies 4 frames after the last returned frame. The pipeline has no
``latents`` argument: passing latents is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.methods.keyframe.loading import DTYPES, model_folder
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator

LATENT_WINDOW_SIZE = 9  # the pipeline's default


class FramePack(KeyframePipelineInterpolator):
    """FramePack I2V (inverted anti-drifting) on HunyuanVideo with both keyframes."""

    pipeline_class = "HunyuanVideoFramepackPipeline"
    tiny_components = "kfbench.methods.keyframe.tiny:tiny_framepack_components"
    folder_classes = ("HunyuanVideoFramepackPipeline", "HunyuanVideoPipeline")
    transformer_class = "HunyuanVideoFramepackTransformer3DModel"
    size_multiple = 16  # VAE 8 x patch 2
    temporal_factor = 1  # any count: the pipeline rounds up to whole sections
    vae_temporal = 4
    flops_unavailable = (
        "the FramePack transformer trims the text tokens to the prompt's length with a data-dependent slice, "
        "which the meta device cannot run"
    )
    transformer_source = "lllyasviel/FramePackI2V_HY"
    image_encoder_source = "lllyasviel/flux_redux_bfl"

    def check_options(self) -> None:
        if self.guidance_scale_2 is not None:
            raise KfbenchError("guidance_scale_2 is for two-expert models (wan22-flf2v); FramePack has one transformer")

    def extra_components(self, index: dict[str, Any]) -> dict[str, Any]:
        """On the HunyuanVideo base folder: the FramePack transformer and the SigLIP image encoder, as diffusers'
        example loads them."""
        if index.get("_class_name") == self.pipeline_class:
            return {}
        from diffusers import HunyuanVideoFramepackTransformer3DModel
        from transformers import SiglipImageProcessor, SiglipVisionModel

        dtype, redux = DTYPES[self.dtype], model_folder(self.image_encoder_source)
        try:
            return {
                "transformer": HunyuanVideoFramepackTransformer3DModel.from_pretrained(
                    model_folder(self.transformer_source), dtype=dtype, use_safetensors=True
                ),
                "image_encoder": SiglipVisionModel.from_pretrained(
                    redux / "image_encoder", dtype=dtype, use_safetensors=True
                ),
                "feature_extractor": SiglipImageProcessor.from_pretrained(redux / "feature_extractor"),
            }
        except (OSError, ValueError) as exc:
            raise KfbenchError(f"could not load FramePack's transformer or image encoder: {exc}") from None

    def frame_positions(self, frames: int) -> tuple[int, int]:
        window = (LATENT_WINDOW_SIZE - 1) * self.vae_temporal + 1
        sections = max(1, (frames + window - 1) // window)
        returned = sections * LATENT_WINDOW_SIZE * self.vae_temporal + 1
        return returned, returned - 1 + self.vae_temporal

    def loaded_temporal_factor(self, pipe: Any) -> int:
        """Any frame count stays allowed (1); the VAE's time factor sets the section length."""
        self.vae_temporal = pipe.vae_scale_factor_temporal
        return 1

    def loaded_size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size

    def call_arguments(
        self, first: np.ndarray, last: np.ndarray, num_frames: int, seed: int, latents: Any, prompt: str | None = None
    ) -> dict[str, Any]:
        if latents is not None:
            raise KfbenchError("HunyuanVideoFramepackPipeline takes no initial latents; drop latents for framepack")
        return super().call_arguments(first, last, num_frames, seed, None, prompt)

    def keyframe_arguments(self, first: Image.Image, last: Image.Image, num_frames: int) -> dict[str, Any]:
        return {"image": first, "last_image": last, "latent_window_size": LATENT_WINDOW_SIZE,
                "sampling_type": "inverted_anti_drifting"}  # fmt: skip

    def denoiser_calls(self, scheduler: Any, boundary_ratio: float | None, frames: int) -> dict[str, int]:
        """One call per step and section (guidance is distilled into an embedding; no true CFG)."""
        returned, _ = self.frame_positions(frames)
        sections = (returned - 1) // (LATENT_WINDOW_SIZE * self.vae_temporal)
        return {"transformer": sections * self.num_inference_steps}
