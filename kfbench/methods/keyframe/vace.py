"""Wan VACE in its first-last-frame mode: ``WanVACEPipeline(video=..., mask=...)``.

As diffusers' WanVACEPipeline example builds them: the conditioning video is keyframe 1, then
num_frames - 2 grey frames (RGB 128), then keyframe 2; the mask is black (keep) on the two
keyframes and white (generate) on every frame between. Read from the pipeline's code (diffusers
0.42.1): the video and mask are encoded at the generated size (the keyframes are already resized to
it, so nothing is rescaled), no reference images are given, and the decoded video has num_frames
frames with keyframe 1 at frame 0 and keyframe 2 at frame num_frames - 1 (times i / (num_frames - 1)).

``wan-vace`` / ``wan-vace-1.3b`` run Wan 2.1 VACE (one transformer). ``wan22-vace`` runs Wan 2.2
VACE-Fun A14B: two VACE experts, ``transformer`` (high noise) while t >= boundary_ratio x 1000 and
``transformer_2`` below, the boundary read from the folder's model_index.json, with the same
conditioning video and mask (the pipeline's loop, as for ``wan22-flf2v``). Each refuses the other's
layout and points to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image

from kfbench.methods.keyframe.wan import WAN_TEXT_TOKENS, WanFLF2V

GREY = (128, 128, 128)  # the example's fill of the frames to generate (PIL; the original code uses 127.5 on arrays)


class WanVACE(WanFLF2V):
    """Wan 2.1 VACE: the keyframes at the first and last frame of a conditioning video, the mask marking the rest."""

    pipeline_class = "WanVACEPipeline"
    tiny_models = "kfbench.methods.keyframe.tiny_modern:make_tiny_modern_models"
    tiny_components = "kfbench.methods.keyframe.tiny_modern:tiny_vace_components"
    transformer_class = "WanVACETransformer3DModel"
    float32_components = ("vae",)
    expert_presets = ("wan-vace or wan-vace-1.3b", "wan22-vace")

    def check_folder(self, folder: Path, index: dict[str, Any]) -> None:
        self.check_wan_folder(folder, index)

    def keyframe_arguments(self, first: Image.Image, last: Image.Image, num_frames: int) -> dict[str, Any]:
        size = first.size
        between = num_frames - 2
        video = [first, *[Image.new("RGB", size, GREY)] * between, last]
        mask = [Image.new("L", size, 0), *[Image.new("L", size, 255)] * between, Image.new("L", size, 0)]
        return {"video": video, "mask": mask}

    def meta_transformer_inputs(self, config: dict[str, Any], frames: int) -> dict[str, Any]:
        """Batch 1 (CFG passes are separate calls), the 512 padded text tokens, the 96-channel VACE context."""
        vae_factor = self.size_multiple // config["patch_size"][1]
        shape = ((frames - 1) // self.temporal_factor + 1, self.height // vae_factor, self.width // vae_factor)
        return {
            "hidden_states": torch.empty(1, config["in_channels"], *shape),
            "timestep": torch.empty(1),
            "encoder_hidden_states": torch.empty(1, WAN_TEXT_TOKENS, config["text_dim"]),
            "control_hidden_states": torch.empty(1, config["vace_in_channels"], *shape),
            "control_hidden_states_scale": torch.ones(len(config["vace_layers"])),
        }


class Wan22VACE(WanVACE):
    """Wan 2.2 VACE-Fun A14B: the VACE first-last-frame inputs through the high-noise and low-noise experts, switched
    at the folder's ``boundary_ratio``."""

    two_experts = True
    tiny_components = "kfbench.methods.keyframe.tiny_modern:tiny_vace22_components"
