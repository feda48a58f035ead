"""DynamiCrafter on random weights: the release configuration's networks (or the tiny ones), built in memory."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from kfbench.bench.randommethods import RANDOM_CHECKPOINT, Size, Subject
from kfbench.bench.randomweights import RandomModel, empty, materialize
from kfbench.methods.dynamicrafter.model import DynamiCrafter, release_config
from kfbench.methods.dynamicrafter.tiny import tiny_config
from kfbench.registry import create_method


def dynamicrafter() -> nn.Module:
    return DynamiCrafter(release_config())


# DynamiCrafter 512 (interp): the release config's networks; UNet 1,438,854,980 (~1.4 B), text tower 354.03 M
# (open_clip ViT-H-14 text_mparams).
RANDOM_MODELS = {
    "dynamicrafter": RandomModel(
        dynamicrafter, 2_609_129_005, "DynamiCrafter 512 interp release config (UNet 1,438,854,980)"
    ),
}


def random_dynamicrafter_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """DynamiCrafter on a random release-config (or tiny-config) model; float32 weights under autocast, as released."""
    options = {"checkpoint": RANDOM_CHECKPOINT, **options}
    config = release_config() if size == "full" else tiny_config()
    device = create_method(name, **options).device  # its options resolved (nothing is loaded)
    model = materialize(empty(lambda: DynamiCrafter(config)), device, torch.float32, seed=seed)
    method = create_method(name, components={"model": model}, **options)
    for tower in (model.cond_stage_model, model.embedder):
        tower.to("cpu")  # the CLIP towers wait on the CPU, as when loaded
    return Subject(method, model.model, "unet_calls")
