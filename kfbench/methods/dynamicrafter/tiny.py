"""A tiny random DynamiCrafter in the release's checkpoint format, for tests and offline demos.

Every feature of the released configuration is on (temporal convs and attention, ``init_attn``,
image cross-attention, frame-stride conditioning, zero-SNR v-prediction, dynamic rescale); only the
widths and depths shrink. Text tokens stay 77 and the resampler keeps 16 queries x 16 frames, so
the UNet's per-frame image-token routing is exercised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from kfbench.methods.dynamicrafter.model import build_model, release_config


def tiny_config() -> dict[str, Any]:
    """The release configuration with tiny networks (32-wide UNet and towers, 8x latent factor)."""
    config = release_config()
    config["unet_config"].update(
        model_channels=32,
        attention_resolutions=[2, 1],
        num_res_blocks=1,
        channel_mult=[1, 2],
        num_head_channels=16,
        context_dim=32,
    )
    config["first_stage_config"]["ddconfig"].update(ch=32, ch_mult=[1, 1, 1, 1], num_res_blocks=1)
    config["clip_config"] = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 56, "layers": 2, "width": 64, "head_width": 32, "patch_size": 14},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
    }
    config["image_proj_stage_config"].update(
        dim=32, depth=1, dim_head=16, heads=2, embedding_dim=64, output_dim=32, ff_mult=2
    )
    return config


def make_tiny_dynamicrafter(folder: str | Path, seed: int = 0) -> Path:
    """Write ``model.ckpt`` (``{"state_dict": ...}``) and ``dynamicrafter_config.json`` into ``folder``."""
    import json

    from kfbench.methods.dynamicrafter.checkpoint import CONFIG_NAME

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = tiny_config()
    torch.manual_seed(seed)
    model = build_model(config)  # PyTorch's default random init: no layer starts at zero here
    torch.save({"state_dict": model.state_dict()}, folder / "model.ckpt")
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=1))
    return folder


def make_tiny_dynamicrafter_models(folder: Path) -> dict[str, Path]:
    return {"dynamicrafter": make_tiny_dynamicrafter(Path(folder) / "dynamicrafter")}
