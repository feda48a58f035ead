"""The real configurations of the keyframe models' networks, for FLOP and parameter counts without weights.

LTX-Video: diffusers' scripts/convert_ltx_to_diffusers.py, version "0.9.7" (the 13 B transformer,
also the architecture of 0.9.8-13B-distilled, and the 0.9.7 VAE); text encoder T5-XXL v1.1's
encoder; scheduler FlowMatchEuler without dynamic shifting (the script's 0.9.7 choice).

FramePack (not checked against the hub's config.json, which was not reachable here): diffusers'
HunyuanVideoFramepackTransformer3DModel defaults (the HunyuanVideo 13 B transformer) with FramePack's
SigLIP image projection (1152) and clean-latent embedder on; text encoders: llava-llama-3-8b's
Llama 3 8B and CLIP ViT-L/14's text tower; image encoder SigLIP so400m/14 at 384 px
(lllyasviel/flux_redux_bfl); VAE: AutoencoderKLHunyuanVideo's defaults.

Wan:
Transformers: diffusers' scripts/convert_wan_to_diffusers.py (TRANSFORMER_CONFIGS of
"Wan-FLF2V-14B-720P" and "Wan2.2-I2V-14B-720p"), which wrote the hub folders; rope_max_seq_len 1024
is WanTransformer3DModel's default. Text encoder: the hub folders' text_encoder/config.json
(google/umt5-xxl's encoder). Image encoder: CLIP ViT-H/14 (laion/CLIP-ViT-H-14-laion2B-s32B-b79K's
vision tower, loaded by the conversion script). VAE: AutoencoderKLWan's defaults, the Wan 2.1 VAE.
Schedulers: what the conversion script builds (UniPC, flow sigmas; flow shift 16 for FLF2V, 3 else).
"""

from __future__ import annotations

from typing import Any

WAN_14B = {
    "added_kv_proj_dim": None, "attention_head_dim": 128, "cross_attn_norm": True, "eps": 1e-06, "ffn_dim": 13824,
    "freq_dim": 256, "in_channels": 36, "num_attention_heads": 40, "num_layers": 40, "out_channels": 16,
    "patch_size": [1, 2, 2], "qk_norm": "rms_norm_across_heads", "text_dim": 4096, "rope_max_seq_len": 1024,
}  # fmt: skip
# 257 CLIP tokens per keyframe (16x16 patches of 224 px + class token), two keyframes
WAN21_FLF2V_TRANSFORMER = {**WAN_14B, "image_dim": 1280, "added_kv_proj_dim": 5120, "pos_embed_seq_len": 2 * 257}
WAN22_I2V_A14B_TRANSFORMER = dict(WAN_14B)

UMT5_XXL_ENCODER = {
    "vocab_size": 256384, "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 24, "num_heads": 64,
    "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128, "feed_forward_proj": "gated-gelu",
    "is_encoder_decoder": False, "tie_word_embeddings": False,
}  # fmt: skip
CLIP_VIT_H_14_VISION = {
    "hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32, "num_attention_heads": 16,
    "patch_size": 14, "image_size": 224, "projection_dim": 1024, "hidden_act": "gelu",
}  # fmt: skip
WAN_VAE: dict[str, Any] = {}  # AutoencoderKLWan() is the Wan 2.1 VAE (base_dim 96, dim_mult 1,2,4,4, z_dim 16)

LTX_13B_TRANSFORMER = {
    "in_channels": 128, "out_channels": 128, "patch_size": 1, "patch_size_t": 1, "num_attention_heads": 32,
    "attention_head_dim": 128, "cross_attention_dim": 4096, "num_layers": 48, "activation_fn": "gelu-approximate",
    "qk_norm": "rms_norm_across_heads", "norm_elementwise_affine": False, "norm_eps": 1e-6, "caption_channels": 4096,
    "attention_bias": True, "attention_out_bias": True,
}  # fmt: skip
LTX_097_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 128,
    "block_out_channels": (128, 256, 512, 1024, 2048),
    "down_block_types": ("LTXVideo095DownBlock3D",) * 4,
    "decoder_block_out_channels": (256, 512, 1024),
    "layers_per_block": (4, 6, 6, 2, 2),
    "decoder_layers_per_block": (5, 5, 5, 5),
    "spatio_temporal_scaling": (True, True, True, True),
    "decoder_spatio_temporal_scaling": (True, True, True),
    "decoder_inject_noise": (False, False, False, False),
    "downsample_type": ("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    "upsample_residual": (True, True, True),
    "upsample_factor": (2, 2, 2),
    "timestep_conditioning": True,
    "patch_size": 4,
    "patch_size_t": 1,
    "resnet_norm_eps": 1e-6,
    "scaling_factor": 1.0,
    "encoder_causal": True,
    "decoder_causal": False,
    "spatial_compression_ratio": 32,
    "temporal_compression_ratio": 8,
}
T5_XXL_ENCODER = {
    "vocab_size": 32128, "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 24, "num_heads": 64,
    "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128, "feed_forward_proj": "gated-gelu",
    "is_encoder_decoder": False, "tie_word_embeddings": False,
}  # fmt: skip


def flow_scheduler_config(flow_shift: float) -> dict[str, Any]:
    return {
        "_class_name": "UniPCMultistepScheduler",
        "prediction_type": "flow_prediction",
        "use_flow_sigmas": True,
        "num_train_timesteps": 1000,
        "flow_shift": flow_shift,
    }


# component -> (library, class, config, dtype at the presets' defaults)
WAN_SHARED = {
    "text_encoder": ("transformers", "UMT5EncoderModel", UMT5_XXL_ENCODER, "bfloat16"),
    "vae": ("diffusers", "AutoencoderKLWan", WAN_VAE, "float32"),
}
WAN_14B_EXPERT = ("diffusers", "WanTransformer3DModel", WAN22_I2V_A14B_TRANSFORMER, "bfloat16")

# hub id -> its networks (as above), scheduler config and boundary_ratio
REAL_PIPELINES: dict[str, dict[str, Any]] = {
    "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers": {
        "transformer": ("diffusers", "WanTransformer3DModel", WAN21_FLF2V_TRANSFORMER, "bfloat16"),
        "image_encoder": ("transformers", "CLIPVisionModelWithProjection", CLIP_VIT_H_14_VISION, "float32"),
        **WAN_SHARED,
        "scheduler": flow_scheduler_config(16.0),
        "boundary_ratio": None,
    },
    "Wan-AI/Wan2.2-I2V-A14B-Diffusers": {
        "transformer": WAN_14B_EXPERT,
        "transformer_2": WAN_14B_EXPERT,
        **WAN_SHARED,
        "scheduler": flow_scheduler_config(3.0),
        "boundary_ratio": 0.9,
    },
}
LTX_13B = {
    "transformer": ("diffusers", "LTXVideoTransformer3DModel", LTX_13B_TRANSFORMER, "bfloat16"),
    "text_encoder": ("transformers", "T5EncoderModel", T5_XXL_ENCODER, "bfloat16"),
    "vae": ("diffusers", "AutoencoderKLLTXVideo", LTX_097_VAE, "bfloat16"),
    "scheduler": {"_class_name": "FlowMatchEulerDiscreteScheduler", "use_dynamic_shifting": False},
    "boundary_ratio": None,
}
REAL_PIPELINES.update({"Lightricks/LTX-Video-0.9.7-dev": LTX_13B, "Lightricks/LTX-Video-0.9.8-13B-distilled": LTX_13B})

FRAMEPACK_TRANSFORMER = {
    "in_channels": 16, "out_channels": 16, "num_attention_heads": 24, "attention_head_dim": 128, "num_layers": 20,
    "num_single_layers": 40, "num_refiner_layers": 2, "mlp_ratio": 4.0, "patch_size": 2, "patch_size_t": 1,
    "qk_norm": "rms_norm", "guidance_embeds": True, "text_embed_dim": 4096, "pooled_projection_dim": 768,
    "rope_theta": 256.0, "rope_axes_dim": (16, 56, 56), "image_condition_type": None,
    "has_image_proj": True, "image_proj_dim": 1152, "has_clean_x_embedder": True,
}  # fmt: skip
LLAMA3_8B = {
    "vocab_size": 128320, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8,
}  # fmt: skip
CLIP_L_TEXT = {"vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
               "num_attention_heads": 12, "max_position_embeddings": 77, "projection_dim": 768}  # fmt: skip
SIGLIP_SO400M = {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_attention_heads": 16,
                 "image_size": 384, "patch_size": 14}  # fmt: skip
REAL_PIPELINES["hunyuanvideo-community/HunyuanVideo"] = {
    "transformer": ("diffusers", "HunyuanVideoFramepackTransformer3DModel", FRAMEPACK_TRANSFORMER, "bfloat16"),
    "text_encoder": ("transformers", "LlamaModel", LLAMA3_8B, "bfloat16"),
    "text_encoder_2": ("transformers", "CLIPTextModel", CLIP_L_TEXT, "bfloat16"),
    "image_encoder": ("transformers", "SiglipVisionModel", SIGLIP_SO400M, "bfloat16"),
    "vae": ("diffusers", "AutoencoderKLHunyuanVideo", {}, "bfloat16"),
    "scheduler": {"_class_name": "FlowMatchEulerDiscreteScheduler"},
    "boundary_ratio": None,
}

# SkyReels-V2 (diffusers' scripts/convert_skyreelsv2_to_diffusers.py): the DF 14B 720P transformer is the Wan 14B
# text-to-video one (in_channels 16, no image branch); the FLF2V 1.3B 540P transformer is assumed to be the Wan
# 1.3B width (12 heads x 128, 30 layers, ffn 8960) with the I2V image branch and FLF2V's two-image position embedding
# (not checked against the hub's config.json, which was not reachable here: a self-check). Text encoder UMT5-XXL, VAE
# Wan 2.1.
WAN_13B = {**WAN_14B, "num_attention_heads": 12, "num_layers": 30, "ffn_dim": 8960}
SKYREELS_FLF2V_13B_TRANSFORMER = {**WAN_13B, "in_channels": 36, "image_dim": 1280, "added_kv_proj_dim": 1536,
                                  "pos_embed_seq_len": 2 * 257, "inject_sample_info": False}  # fmt: skip
SKYREELS_DF_14B_TRANSFORMER = {**WAN_14B, "in_channels": 16, "inject_sample_info": False}


def wan_like(transformer_class: str, transformer: dict[str, Any], flow_shift: float, **extra: Any) -> dict[str, Any]:
    """A one-transformer pipeline on Wan's UMT5-XXL text encoder and Wan 2.1 VAE (``extra``: e.g. an image encoder)."""
    return {"transformer": ("diffusers", transformer_class, transformer, "bfloat16"), **extra, **WAN_SHARED,
            "scheduler": flow_scheduler_config(flow_shift), "boundary_ratio": None}  # fmt: skip


REAL_PIPELINES["Skywork/SkyReels-V2-FLF2V-1.3B-540P-Diffusers"] = wan_like(
    "SkyReelsV2Transformer3DModel",
    SKYREELS_FLF2V_13B_TRANSFORMER,
    8.0,
    image_encoder=("transformers", "CLIPVisionModelWithProjection", CLIP_VIT_H_14_VISION, "float32"),
)
REAL_PIPELINES["Skywork/SkyReels-V2-DF-14B-720P-Diffusers"] = wan_like(
    "SkyReelsV2Transformer3DModel", SKYREELS_DF_14B_TRANSFORMER, 8.0
)

# Wan 2.1 VACE (diffusers' scripts/convert_wan_to_diffusers.py, "Wan-VACE-14B" and "Wan-VACE-1.3B"): the text-to-video
# transformers plus VACE blocks every 5th (14B) or 2nd (1.3B) layer over a 96-channel context.
VACE_14B_TRANSFORMER = {**WAN_14B, "in_channels": 16, "vace_layers": list(range(0, 40, 5)), "vace_in_channels": 96}
VACE_13B_TRANSFORMER = {**WAN_13B, "in_channels": 16, "vace_layers": list(range(0, 30, 2)), "vace_in_channels": 96}
REAL_PIPELINES["Wan-AI/Wan2.1-VACE-14B-diffusers"] = wan_like("WanVACETransformer3DModel", VACE_14B_TRANSFORMER, 3.0)
REAL_PIPELINES["Wan-AI/Wan2.1-VACE-1.3B-diffusers"] = wan_like("WanVACETransformer3DModel", VACE_13B_TRANSFORMER, 3.0)
# Wan 2.2 VACE-Fun A14B (the same script, "Wan2.2-VACE-Fun-14B", which wrote linoyts/Wan2.2-VACE-Fun-14B-diffusers from
# alibaba-pai/Wan2.2-VACE-Fun-A14B): two experts of the Wan 2.1 VACE 14B configuration, transformer from its
# high_noise_model and transformer_2 from its low_noise_model, boundary_ratio 0.875, UniPC at flow shift 3.
WAN22_VACE_EXPERT = ("diffusers", "WanVACETransformer3DModel", VACE_14B_TRANSFORMER, "bfloat16")
REAL_PIPELINES["linoyts/Wan2.2-VACE-Fun-14B-diffusers"] = {
    "transformer": WAN22_VACE_EXPERT,
    "transformer_2": WAN22_VACE_EXPERT,
    **WAN_SHARED,
    "scheduler": flow_scheduler_config(3.0),
    "boundary_ratio": 0.875,
}

# LTX-2 (Lightricks/LTX-2, version "2.0" of diffusers' scripts/convert_ltx2_to_diffusers.py): the audio+video
# transformer
# (48 layers; video 32 x 128, audio 32 x 64) and the video VAE (32x spatial, 8x temporal); LTX2TextConnectors,
# AutoencoderKLLTX2Audio and LTX2Vocoder at the script's / the classes' defaults (LTX-2.0's); text encoder
# google/gemma-3-12b (Gemma3ForConditionalGeneration: 48 layers of width 3840 and a SigLIP so400m tower at 896 px).
# Scheduler: FlowMatchEuler with dynamic shifting (the calls do not depend on it).
LTX2_TRANSFORMER = {
    "in_channels": 128, "out_channels": 128, "patch_size": 1, "patch_size_t": 1, "num_attention_heads": 32,
    "attention_head_dim": 128, "cross_attention_dim": 4096, "vae_scale_factors": (8, 32, 32), "pos_embed_max_pos": 20,
    "base_height": 2048, "base_width": 2048, "audio_in_channels": 128, "audio_out_channels": 128, "audio_patch_size": 1,
    "audio_patch_size_t": 1, "audio_num_attention_heads": 32, "audio_attention_head_dim": 64,
    "audio_cross_attention_dim": 2048,
    "audio_scale_factor": 4, "audio_pos_embed_max_pos": 20, "audio_sampling_rate": 16000, "audio_hop_length": 160,
    "num_layers": 48, "activation_fn": "gelu-approximate", "qk_norm": "rms_norm_across_heads",
    "norm_elementwise_affine": False, "norm_eps": 1e-6, "caption_channels": 3840, "attention_bias": True,
    "attention_out_bias": True, "rope_theta": 10000.0,
    "causal_offset": 1,
}  # fmt: skip
LTX2_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 128, "block_out_channels": (256, 512, 1024, 2048),
    "down_block_types": ("LTX2VideoDownBlock3D",) * 4, "decoder_block_out_channels": (256, 512, 1024),
    "layers_per_block": (4, 6, 6, 2, 2), "decoder_layers_per_block": (5, 5, 5, 5),
    "spatio_temporal_scaling": (True, True, True, True), "decoder_spatio_temporal_scaling": (True, True, True),
    "decoder_inject_noise": (False, False, False, False),
    "downsample_type": ("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    "upsample_residual": (True, True, True), "upsample_factor": (2, 2, 2), "timestep_conditioning": False,
    "patch_size": 4, "patch_size_t": 1, "resnet_norm_eps": 1e-6,
    "encoder_causal": True, "decoder_causal": False, "encoder_spatial_padding_mode": "zeros",
    "decoder_spatial_padding_mode": "reflect", "spatial_compression_ratio": 32, "temporal_compression_ratio": 8,
}  # fmt: skip
LTX2_VOCODER = {
    "in_channels": 128, "hidden_channels": 1024, "out_channels": 2, "upsample_kernel_sizes": [16, 15, 8, 4, 4],
    "upsample_factors": [6, 5, 2, 2, 2], "resnet_kernel_sizes": [3, 7, 11], "resnet_dilations": [[1, 3, 5]] * 3,
    "leaky_relu_negative_slope": 0.1, "output_sampling_rate": 24000,
}  # fmt: skip
GEMMA3_12B = {
    "text_config": {"vocab_size": 262208, "hidden_size": 3840, "intermediate_size": 15360, "num_hidden_layers": 48,
                    "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256},
    "vision_config": {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27,
                      "num_attention_heads": 16,
                      "image_size": 896, "patch_size": 14},
    "mm_tokens_per_image": 256,
}  # fmt: skip
REAL_PIPELINES["Lightricks/LTX-2"] = {
    "transformer": ("diffusers", "LTX2VideoTransformer3DModel", LTX2_TRANSFORMER, "bfloat16"),
    "text_encoder": ("transformers", "Gemma3ForConditionalGeneration", GEMMA3_12B, "bfloat16"),
    "connectors": ("diffusers.pipelines.ltx2", "LTX2TextConnectors", {}, "bfloat16"),
    "vae": ("diffusers", "AutoencoderKLLTX2Video", LTX2_VAE, "bfloat16"),
    "audio_vae": ("diffusers", "AutoencoderKLLTX2Audio", {}, "bfloat16"),
    "vocoder": ("diffusers.pipelines.ltx2.vocoder", "LTX2Vocoder", LTX2_VOCODER, "bfloat16"),
    "scheduler": {"_class_name": "FlowMatchEulerDiscreteScheduler", "use_dynamic_shifting": True},
    "boundary_ratio": None,
}
