"""The SVD family's tiny random models: an SVD img2vid pipeline in the diffusers layout, and fine-tuned
checkpoints in the release's layout and in kfbench's compact one.

The components are the real diffusers/transformers classes with SVD's scheduler configuration,
saved with ``save_pretrained``, so the loading code under test is the code that loads real weights.
"""

from __future__ import annotations

from pathlib import Path

import torch

from kfbench.methods.svd.loading import FineTuned, convert_released, is_finetuned_name

# The scheduler configuration shipped with stabilityai/stable-video-diffusion-img2vid-xt.
SVD_SCHEDULER_CONFIG = {
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "sigma_max": 700.0,
    "sigma_min": 0.002,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "timestep_type": "continuous",
    "trained_betas": None,
    "use_karras_sigmas": True,
}

# Down, mid and up blocks each hold spatio-temporal transformers, as in SVD (2 + 1 + 3 = 6 temporal
# self-attention layers here, 16 in the real model).
TINY_UNET_CONFIG = {
    "sample_size": 8,
    "in_channels": 8,
    "out_channels": 4,
    "down_block_types": ("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
    "up_block_types": ("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
    "block_out_channels": (32, 64),
    "addition_time_embed_dim": 8,
    "projection_class_embeddings_input_dim": 24,
    "layers_per_block": 2,
    "cross_attention_dim": 32,
    "transformer_layers_per_block": 1,
    "num_attention_heads": (2, 4),
    "num_frames": 8,
}


def tiny_svd_components(seed: int = 0, vae_block_out_channels: tuple[int, ...] = (32, 32, 32, 32)) -> dict:
    """Randomly initialised SVD pipeline components (UNet, VAE, CLIP image encoder, scheduler).

    The VAE downsamples by 2 per block after the first: 8 as in SVD by default, 2 with diffusers'
    own test VAE (``vae_block_out_channels=(32, 64)``).
    """
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel(**TINY_UNET_CONFIG)
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=vae_block_out_channels,
        down_block_types=("DownEncoderBlock2D",) * len(vae_block_out_channels),
        latent_channels=4,
        layers_per_block=1,
    )
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            projection_dim=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=224,
            patch_size=32,
        )
    )
    return {
        "unet": unet.eval(),
        "vae": vae.eval(),
        "image_encoder": encoder.eval(),
        "scheduler": EulerDiscreteScheduler.from_config(SVD_SCHEDULER_CONFIG),
        "feature_extractor": CLIPImageProcessor(crop_size={"height": 224, "width": 224}, size={"shortest_edge": 224}),
    }


def make_tiny_svd(folder: str | Path, seed: int = 0, **components) -> Path:
    """Save a tiny SVD img2vid pipeline folder (diffusers layout) and return its path.

    ``components``: see tiny_svd_components.
    """
    from diffusers import StableVideoDiffusionPipeline

    folder = Path(folder)
    StableVideoDiffusionPipeline(**tiny_svd_components(seed, **components)).save_pretrained(folder)
    return folder


def make_tiny_unet_folder(folder: Path, *, seed: int, perturb: FineTuned | None = None) -> Path:
    """A diffusers UNet folder (``folder/unet``) like SVD img2vid (14-frame config), optionally with fine-tuned
    projection weights."""
    from diffusers import UNetSpatioTemporalConditionModel

    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel(**{**TINY_UNET_CONFIG, "num_frames": 14})
    if perturb is not None:
        generator = torch.Generator().manual_seed(seed + 1000)
        with torch.no_grad():
            for name, param in unet.named_parameters():
                if name.endswith(".weight") and is_finetuned_name(name, perturb):
                    param.add_(torch.randn(param.shape, generator=generator) * param.std())
    unet.save_pretrained(folder / "unet")
    return folder


def make_tiny_svd_models(folder: Path) -> dict[str, Path]:
    """The SVD-XT-like pipeline (svd), the img2vid base UNet (checkpoint_base) and fine-tuned backward UNets
    for `ours` and `ours-wo-ra` in both formats."""
    paths = {"svd": make_tiny_svd(folder / "svd")}
    paths["svd-img2vid"] = base = make_tiny_unet_folder(folder / "svd-img2vid", seed=1)
    for name, tensors in (("ours", "vo"), ("ours-wo-ra", "qkvo")):
        released = make_tiny_unet_folder(folder / f"{name}-checkpoint", seed=1, perturb=tensors)
        paths[f"{name}-checkpoint"] = released
        paths[f"{name}-delta"] = convert_released(
            str(released), folder / f"{name}-delta.safetensors", checkpoint_base=str(base), tensors=tensors
        )
    return paths
