"""Validation samples: the method the run trains for (`ours` or `ours-wo-ra`) on held-out keyframe pairs, with the
in-progress weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kfbench.methods.svd.attention import AttentionControl
from kfbench.methods.svd.model import SVDModel
from kfbench.registry import create_method
from kfbench.training.config import TrainConfig
from kfbench.training.projections import VARIANT_METHODS, Projections
from kfbench.utils.videoio import write_mp4

VALIDATION_SEED = 0


def write_samples(
    pipe,
    control: AttentionControl,
    layers: list[str],
    projections: Projections,
    config: TrainConfig,
    step: int,
    pairs: list[tuple[str, np.ndarray, np.ndarray]],
) -> Path:
    """validation/step-N/: the weights used (compact deltas) and one mp4 per held-out pair, sampled on the training
    pipeline itself."""
    folder = Path(config.out) / "validation" / f"step-{step:06d}"
    deltas = projections.save_compact(folder / "backward.safetensors", base_model=config.model, step=step)
    dtype = pipe.unet.dtype
    weights = {
        layer: {k: v.detach().to(dtype) for k, v in tensors.items()}
        for layer, tensors in projections.by_layer().items()
    }
    method = create_method(
        VARIANT_METHODS[config.variant],
        components={"svd_model": SVDModel.around(pipe, control, layers, weights)},
        model=config.model,
        checkpoint=str(deltas),
        height=config.height,
        width=config.width,
        num_inference_steps=config.validation_steps,
    )
    with torch.no_grad():
        for name, first, last in pairs:
            write_mp4(
                method.interpolate(first, last, num_frames=config.num_frames, seed=VALIDATION_SEED),
                folder / f"{name}.mp4",
            )
    return folder
