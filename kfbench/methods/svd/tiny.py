"""Tiny fine-tuned checkpoints for the SVD family, in the release's layout and in kfbench's compact one."""

from __future__ import annotations

from pathlib import Path

import torch

from kfbench.methods.svd.loading import FineTuned, convert_released, is_finetuned_name


def make_tiny_unet_folder(folder: Path, *, seed: int, perturb: FineTuned | None = None) -> Path:
    """A diffusers UNet folder (``folder/unet``) like SVD img2vid (14-frame config), optionally with fine-tuned
    projection weights."""
    from diffusers import UNetSpatioTemporalConditionModel

    from kfbench.methods.tiny import TINY_UNET_CONFIG

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


def make_tiny_svd_family(folder: Path) -> dict[str, Path]:
    """img2vid base UNet (checkpoint_base), fine-tuned backward UNets for `ours` and `ours-wo-ra` in both formats."""
    base = make_tiny_unet_folder(folder / "svd-img2vid", seed=1)
    paths = {"svd-img2vid": base}
    for name, tensors in (("ours", "vo"), ("ours-wo-ra", "qkvo")):
        released = make_tiny_unet_folder(folder / f"{name}-checkpoint", seed=1, perturb=tensors)
        paths[f"{name}-checkpoint"] = released
        paths[f"{name}-delta"] = convert_released(
            str(released), folder / f"{name}-delta.safetensors", checkpoint_base=str(base), tensors=tensors
        )
    return paths
