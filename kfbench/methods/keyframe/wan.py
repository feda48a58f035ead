"""Wan first-last-frame-to-video: ``WanImageToVideoPipeline(image=first, last_image=last)``.

``wan-flf2v`` is Wan 2.1 FLF2V 14B (one transformer; both keyframes through the CLIP image
encoder and the VAE). ``wan22-flf2v`` is Wan 2.2 I2V A14B: two experts switched at the folder's
``boundary_ratio``, the last frame entering through the VAE conditioning path, which the
pipeline honours when ``expand_timesteps`` is off. Checkpoints whose path would drop the last
frame (Wan 2.2 TI2V-5B) or that take one image embedding (Wan 2.1 I2V) are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator


class WanFLF2V(KeyframePipelineInterpolator):
    """Wan 2.1 FLF2V through WanImageToVideoPipeline; image encoder and VAE in float32 as diffusers' example loads them."""

    pipeline_class = "WanImageToVideoPipeline"
    float32_components = ("vae", "image_encoder")
    size_multiple = 16  # VAE spatial factor 8 x transformer patch 2
    temporal_factor = 4
    two_experts = False

    def check_options(self) -> None:
        if self.guidance_scale_2 is not None and not self.two_experts:
            raise KfbenchError("guidance_scale_2 is the second expert's (wan22-flf2v); wan-flf2v has one transformer")

    def check_folder(self, folder: Path, index: dict[str, Any]) -> None:
        if index.get("expand_timesteps"):
            raise KfbenchError(
                f"'{self.model}' is a Wan 2.2 TI2V-5B-style checkpoint (expand_timesteps=true): its pipeline path "
                "ignores last_image, so it would run first-frame-only; use wan22-flf2v with Wan-AI/Wan2.2-I2V-A14B-Diffusers"
            )
        super().check_folder(folder, index)
        has_two = bool(index.get("transformer_2") and index["transformer_2"][0]) and index.get("boundary_ratio") is not None
        if has_two != self.two_experts:
            other = "wan22-flf2v (two experts)" if has_two else "wan-flf2v (one transformer)"
            raise KfbenchError(f"'{self.model}' has {'two experts' if has_two else 'one transformer'}; use {other}")
        if not self.two_experts:
            config = json.loads((folder / "transformer" / "config.json").read_text())
            if config.get("image_dim") is None or config.get("pos_embed_seq_len") is None:
                raise KfbenchError(
                    f"'{self.model}' is not a first-last-frame checkpoint (its transformer takes one image embedding); "
                    "use Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers"
                )

    def loaded_size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size[1]

    def denoisers(self, pipe: Any) -> dict[str, torch.nn.Module]:
        experts = {"transformer": pipe.transformer}
        if self.two_experts:
            experts["transformer_2"] = pipe.transformer_2
        return experts

    def keyframe_arguments(self, first: Image.Image, last: Image.Image, num_frames: int) -> dict[str, Any]:
        return {"image": first, "last_image": last}


class Wan22FLF2V(WanFLF2V):
    """Wan 2.2 I2V A14B with the last frame as ``last_image``: high-noise and low-noise experts at ``boundary_ratio``."""

    float32_components = ("vae",)
    two_experts = True
