"""Tiny random LTX-2, SkyReels-V2 (FLF2V and diffusion forcing) and Wan VACE (2.1, and 2.2 VACE-Fun's two experts)
folders in the real diffusers layout.

Shapes follow diffusers' own pipeline tests (tests/pipelines/ltx2/test_ltx2_condition.py,
skyreels_v2/test_skyreels_v2_image_to_video.py and _df_image_to_video.py, wan/test_wan_vace.py);
the text encoders are built from small configs (LTX-2: a two-layer Gemma 3 with a one-layer SigLIP
tower, as Gemma3ForConditionalGeneration needs one; the rest: the UMT5 encoder of
:mod:`kfbench.methods.keyframe.tiny`) with the word-level tokenizer, so nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from kfbench.methods.keyframe.tiny import (
    TINY_TEXT_DIM,
    flow_scheduler,
    tiny_text_encoder,
    tiny_tokenizer,
    tiny_vae,
)

WAN_TINY_TRANSFORMER = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 2,
    "attention_head_dim": 12,
    "out_channels": 16,
    "text_dim": TINY_TEXT_DIM,
    "freq_dim": 256,
    "ffn_dim": 32,
    "num_layers": 2,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "rope_max_seq_len": 32,
}
TINY_CLIP_TOKENS = 4 * 4 + 1  # a 4 px CLIP tower with 1 px patches, plus its class token


def tiny_wan_text(seed: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    return {"tokenizer": tokenizer, "text_encoder": tiny_text_encoder(len(tokenizer)), "vae": tiny_vae()}


def tiny_skyreels_components(seed: int = 0) -> dict[str, Any]:
    """A tiny SkyReelsV2ImageToVideoPipeline with FLF2V's two-image embedding (pos_embed_seq_len)."""
    from diffusers import SkyReelsV2Transformer3DModel
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    parts = tiny_wan_text(seed)
    vision = CLIPVisionConfig(
        hidden_size=4,
        projection_dim=4,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=4,
        intermediate_size=16,
        patch_size=1,
    )
    transformer = SkyReelsV2Transformer3DModel(
        in_channels=36, image_dim=4, pos_embed_seq_len=2 * TINY_CLIP_TOKENS, **WAN_TINY_TRANSFORMER
    )
    return {
        **parts,
        "transformer": transformer.eval(),
        "image_encoder": CLIPVisionModelWithProjection(vision).eval(),
        "image_processor": CLIPImageProcessor(crop_size=4, size=4),
        "scheduler": flow_scheduler(8.0),
    }


def tiny_skyreels_df_components(seed: int = 0) -> dict[str, Any]:
    """A tiny SkyReelsV2DiffusionForcingImageToVideoPipeline (text-to-video transformer, the 1.3 B's fps embedding)."""
    from diffusers import SkyReelsV2Transformer3DModel

    parts = tiny_wan_text(seed)
    transformer = SkyReelsV2Transformer3DModel(in_channels=16, inject_sample_info=True, **WAN_TINY_TRANSFORMER)
    return {**parts, "transformer": transformer.eval(), "scheduler": flow_scheduler(8.0)}


def tiny_vace_transformer():
    """A tiny WanVACETransformer3DModel: three blocks, VACE blocks at 0 and 2."""
    from diffusers import WanVACETransformer3DModel

    return WanVACETransformer3DModel(
        in_channels=16, vace_layers=[0, 2], vace_in_channels=96, **{**WAN_TINY_TRANSFORMER, "num_layers": 3}
    ).eval()


def tiny_vace_components(seed: int = 0) -> dict[str, Any]:
    """A tiny Wan 2.1 VACE WanVACEPipeline (one transformer)."""
    parts = tiny_wan_text(seed)
    return {**parts, "transformer": tiny_vace_transformer(), "scheduler": flow_scheduler(3.0)}


def tiny_vace22_components(seed: int = 0) -> dict[str, Any]:
    """A tiny Wan 2.2 VACE-Fun A14B WanVACEPipeline: two experts (different random weights) switched at
    boundary_ratio 0.875 with UniPC at flow shift 3, as diffusers' convert_wan_to_diffusers.py writes
    "Wan2.2-VACE-Fun-14B"."""
    parts = tiny_wan_text(seed)
    return {**parts, "transformer": tiny_vace_transformer(), "transformer_2": tiny_vace_transformer(),
            "scheduler": flow_scheduler(3.0), "boundary_ratio": 0.875}  # fmt: skip


def tiny_gemma3(vocab_size: int):
    """A two-layer Gemma3ForConditionalGeneration (hidden 32) with a one-layer SigLIP tower."""
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        SiglipVisionConfig,
    )

    text = Gemma3TextConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    vision = SiglipVisionConfig(
        hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=8, patch_size=4
    )
    config = Gemma3Config(text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=4)
    return Gemma3ForConditionalGeneration(config).eval()


def tiny_ltx2_components(seed: int = 0) -> dict[str, Any]:
    """A tiny LTX2ConditionPipeline (VAE compression 2 in space and time; the pipeline still needs sizes in 32s)."""
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    text_encoder = tiny_gemma3(len(tokenizer))
    width, layers = text_encoder.config.text_config.hidden_size, text_encoder.config.text_config.num_hidden_layers
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4,
        out_channels=4,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=4,
        audio_out_channels=4,
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=2,
        qk_norm="rms_norm_across_heads",
        caption_channels=width,
        rope_double_precision=False,
        rope_type="split",
    )
    connector = {"num_attention_heads": 4, "attention_head_dim": 8, "num_layers": 1, "num_learnable_registers": None}
    connectors = LTX2TextConnectors(
        caption_channels=width,
        text_proj_in_factor=layers + 1,
        connector_rope_base_seq_len=32,
        rope_theta=10000.0,
        rope_double_precision=False,
        causal_temporal_positioning=False,
        rope_type="split",
        **{f"{stream}_connector_{k}": v for stream in ("video", "audio") for k, v in connector.items()},
    )
    vae = AutoencoderKLLTX2Video(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8,),
        decoder_block_out_channels=(8,),
        layers_per_block=(1,),
        decoder_layers_per_block=(1, 1),
        spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,),
        decoder_inject_noise=(False, False),
        downsample_type=("spatial",),
        upsample_residual=(False,),
        upsample_factor=(1,),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4,
        output_channels=2,
        ch_mult=(1,),
        num_res_blocks=1,
        attn_resolutions=None,
        in_channels=2,
        resolution=32,
        latent_channels=2,
        norm_type="pixel",
        causality_axis="height",
        dropout=0.0,
        mid_block_add_attention=False,
        sample_rate=16000,
        mel_hop_length=160,
        is_causal=True,
        mel_bins=8,
    )
    vocoder = LTX2Vocoder(
        in_channels=2 * 8,
        hidden_channels=32,
        out_channels=2,
        upsample_kernel_sizes=[4, 4],
        upsample_factors=[2, 2],
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1,
        output_sampling_rate=16000,
    )
    return {
        "tokenizer": tokenizer,
        "text_encoder": text_encoder,
        "transformer": transformer.eval(),
        "connectors": connectors.eval(),
        "vae": vae.eval(),
        "audio_vae": audio_vae.eval(),
        "vocoder": vocoder.eval(),
        "scheduler": FlowMatchEulerDiscreteScheduler(),
    }


# folder name -> (diffusers pipeline class, components builder, seed)
TINY_MODERN = {
    "ltx2": ("LTX2ConditionPipeline", tiny_ltx2_components, 5),
    "skyreels-v2": ("SkyReelsV2ImageToVideoPipeline", tiny_skyreels_components, 6),
    "skyreels-v2-df": ("SkyReelsV2DiffusionForcingImageToVideoPipeline", tiny_skyreels_df_components, 7),
    "wan-vace": ("WanVACEPipeline", tiny_vace_components, 8),
    "wan22-vace": ("WanVACEPipeline", tiny_vace22_components, 9),
}


def make_tiny_modern_models(folder: Path) -> dict[str, Path]:
    """Save the tiny LTX-2, SkyReels-V2, SkyReels-V2 DF, Wan 2.1 VACE and Wan 2.2 VACE-Fun folders (safetensors,
    diffusers layout)."""
    import diffusers

    paths = {}
    for name, (pipeline_class, build, seed) in TINY_MODERN.items():
        paths[name] = Path(folder) / name
        getattr(diffusers, pipeline_class)(**build(seed)).save_pretrained(paths[name])
    return paths
