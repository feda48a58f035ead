"""SVD-XT's published configurations of the networks diffusers' defaults do not give (no weights)."""

from __future__ import annotations

from typing import Any

# stabilityai/stable-video-diffusion-img2vid-xt, vae/config.json (AutoencoderKLTemporalDecoder).
SVD_XT_VAE_CONFIG: dict[str, Any] = {
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "force_upcast": True,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "out_channels": 3,
    "sample_size": 768,
    "scaling_factor": 0.18215,
}

# stabilityai/stable-video-diffusion-img2vid-xt, image_encoder/config.json (OpenCLIP ViT-H/14 vision tower, projection).
SVD_XT_IMAGE_ENCODER_CONFIG: dict[str, Any] = {
    "hidden_act": "gelu",
    "hidden_size": 1280,
    "image_size": 224,
    "intermediate_size": 5120,
    "layer_norm_eps": 1e-05,
    "num_attention_heads": 16,
    "num_channels": 3,
    "num_hidden_layers": 32,
    "patch_size": 14,
    "projection_dim": 1024,
}
