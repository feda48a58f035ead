"""Wan first-last-frame-to-video: ``WanImageToVideoPipeline(image=first, last_image=last)``.

``wan-flf2v`` is Wan 2.1 FLF2V 14B (one transformer; both keyframes through the CLIP image
encoder and the VAE). ``wan22-flf2v`` is Wan 2.2 I2V A14B: two experts switched at the folder's
``boundary_ratio``, the last frame entering through the VAE conditioning path, which the
pipeline honours when ``expand_timesteps`` is off. Checkpoints whose path would drop the last
frame (Wan 2.2 TI2V-5B) or that take one image embedding (Wan 2.1 I2V) are refused, and so are
folders whose experts and ``boundary_ratio`` disagree (:func:`expert_count`, shared with Wan VACE).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.methods.keyframe.loading import read_json, with_flow_shift
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator

WAN_TEXT_TOKENS = 512  # the pipeline's max_sequence_length: prompts are padded to it


class WanFLF2V(KeyframePipelineInterpolator):
    """Wan 2.1 FLF2V through WanImageToVideoPipeline; image encoder and VAE in float32 as diffusers' example loads
    them."""

    pipeline_class = "WanImageToVideoPipeline"
    tiny_components = "kfbench.methods.keyframe.tiny:tiny_wan21_components"
    transformer_class = "WanTransformer3DModel"
    float32_components = ("vae", "image_encoder")
    size_multiple = 16  # VAE spatial factor 8 x transformer patch 2
    temporal_factor = 4
    two_experts = False

    def check_options(self) -> None:
        if self.guidance_scale_2 is not None and not self.two_experts:
            raise KfbenchError(
                f"guidance_scale_2 is the second expert's ({self.expert_presets[1]}); {self.expert_presets[0]} has "
                "one transformer"
            )

    flf2v_hint = "use Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers"  # where a checkpoint with two image embeddings is
    # the presets for a folder with one transformer and with two experts (named when a folder has the other layout)
    expert_presets = ("wan-flf2v", "wan22-flf2v")

    def check_wan_folder(self, folder: Path, index: dict[str, Any]) -> None:
        """The checks of every Wan preset: not TI2V-5B-style, its pipeline class, one or two experts as the preset
        runs."""
        refuse_expand_timesteps(self.model, index)
        super().check_folder(folder, index)
        has_two = expert_count(self.model, folder, index) == 2
        if has_two != self.two_experts:
            layout = "two experts" if has_two else "one transformer"
            raise KfbenchError(f"'{self.model}' has {layout}; use {self.expert_presets[has_two]} ({layout})")

    def check_folder(self, folder: Path, index: dict[str, Any]) -> None:
        self.check_wan_folder(folder, index)
        if not self.two_experts:
            config = read_json(folder / "transformer" / "config.json", self.model)
            if config.get("image_dim") is None or config.get("pos_embed_seq_len") is None:
                raise KfbenchError(
                    f"'{self.model}' is not a first-last-frame checkpoint (its transformer takes one image embedding, "
                    f"so {self.pipeline_class} cannot take last_image); {self.flf2v_hint}"
                )

    def loaded_size_multiple(self, pipe: Any) -> int:
        return pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size[1]

    def loaded_temporal_factor(self, pipe: Any) -> int:
        return pipe.vae_scale_factor_temporal

    def denoisers(self, pipe: Any) -> dict[str, torch.nn.Module]:
        experts = {"transformer": pipe.transformer}
        if self.two_experts:
            experts["transformer_2"] = pipe.transformer_2
        return experts

    def keyframe_arguments(self, first: Image.Image, last: Image.Image, num_frames: int) -> dict[str, Any]:
        return {"image": first, "last_image": last}

    def meta_transformer_inputs(self, config: dict[str, Any], frames: int) -> dict[str, Any]:
        """Batch 1 (cond and uncond are separate calls), the 512 padded text tokens, for FLF2V both keyframes' CLIP
        tokens."""
        vae_factor = self.size_multiple // config["patch_size"][1]
        latent_size = (self.height // vae_factor, self.width // vae_factor)
        image = None
        if config.get("image_dim"):  # 257 tokens per keyframe in the real model (pos_embed_seq_len = 2 x 257)
            image = torch.empty(2, config["pos_embed_seq_len"] // 2, config["image_dim"])
        return {
            "hidden_states": torch.empty(
                1, config["in_channels"], (frames - 1) // self.temporal_factor + 1, *latent_size
            ),
            "timestep": torch.empty(1),
            "encoder_hidden_states": torch.empty(1, WAN_TEXT_TOKENS, config["text_dim"]),
            "encoder_hidden_states_image": image,
        }

    def denoiser_calls(self, scheduler: Any, boundary_ratio: float | None, frames: int) -> dict[str, int]:
        """Expert 1 while t >= boundary_ratio x T; the unconditional pass runs whenever guidance_scale > 1 (both
        experts).

        (WanImageToVideoPipeline.do_classifier_free_guidance reads ``guidance_scale`` alone.)
        """
        if self.flow_shift is not None:
            scheduler = with_flow_shift(scheduler, self.flow_shift)
        scheduler.set_timesteps(self.num_inference_steps, device="cpu")
        steps = len(scheduler.timesteps)
        high = steps
        if boundary_ratio is not None:
            high = int((scheduler.timesteps >= boundary_ratio * scheduler.config.num_train_timesteps).sum())
        passes = 2 if self.guidance_scale > 1 else 1
        calls = {"transformer": high * passes}
        if boundary_ratio is not None:
            calls["transformer_2"] = (steps - high) * passes
        return calls


def expert_count(model: str, folder: Path, index: dict[str, Any]) -> int:
    """1 or 2: the denoisers a Wan folder's model_index.json declares, refusing a folder that declares them
    inconsistently.

    Two experts need a ``transformer_2`` sub-folder and the ``boundary_ratio`` where the pipeline switches to it
    (read from the folder, never assumed); a ``boundary_ratio`` without a second expert would send the low-noise
    steps to no network.
    """
    listed = bool(index.get("transformer_2") and index["transformer_2"][0])
    boundary = index.get("boundary_ratio")
    if listed and not (folder / "transformer_2").is_dir():
        raise KfbenchError(f"'{model}' lists transformer_2 in model_index.json but has no transformer_2 folder")
    if listed and boundary is None:
        raise KfbenchError(
            f"'{model}' has a second expert (transformer_2) but no boundary_ratio in model_index.json: the step "
            "where the experts switch is not guessed; add the checkpoint's boundary_ratio there"
        )
    if boundary is not None and not listed:
        raise KfbenchError(f"'{model}' sets boundary_ratio {boundary} in model_index.json but has no transformer_2")
    if listed and (isinstance(boundary, bool) or not isinstance(boundary, int | float) or not 0 < boundary < 1):
        raise KfbenchError(f"'{model}' has boundary_ratio {boundary!r} in model_index.json; it must lie in (0, 1)")
    return 2 if listed else 1


def refuse_expand_timesteps(model: str, index: dict[str, Any]) -> None:
    """Refuse a Wan 2.2 TI2V-5B-style folder (``expand_timesteps``): the I2V pipeline ignores ``last_image`` there."""
    if index.get("expand_timesteps"):
        raise KfbenchError(
            f"'{model}' is a Wan 2.2 TI2V-5B-style checkpoint (expand_timesteps=true): its pipeline path "
            "ignores last_image, so it would run first-frame-only; use wan22-flf2v with "
            "Wan-AI/Wan2.2-I2V-A14B-Diffusers"
        )


class Wan22FLF2V(WanFLF2V):
    """Wan 2.2 I2V A14B with the last frame as ``last_image``: high-noise and low-noise experts at
    ``boundary_ratio``."""

    float32_components = ("vae",)
    two_experts = True
    tiny_components = "kfbench.methods.keyframe.tiny:tiny_wan22_components"
