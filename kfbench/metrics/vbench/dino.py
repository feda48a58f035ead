"""DINO's ViT (Caron et al., ICCV 2021) as its torch hub entry ``dino_vitb16`` computes the [CLS] feature, sized from
its weights (``dino_vitbase16_pretrain.pth``: a plain state_dict, read weights-only).

Depth, width, MLP width and patch size come from the tensors; the heads are width / 64 (12 for ViT-B/16,
6 for ViT-S). Inputs of another size than the 224-pixel training grid get DINO's position embeddings
resized as its ``interpolate_pos_encoding`` does: bicubic by the scale factor (rows // patch + 0.1) /
grid, (columns // patch + 0.1) / grid, which matters for VBench's uncropped non-square frames.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from kfbench.errors import KfbenchError
from kfbench.metrics.checkpoint import build_loaded
from kfbench.metrics.vit import blocks_from_state
from kfbench.utils.safeload import load_weights_only, state_dict_of

EPS = 1e-6


class DinoViT(nn.Module):
    """Images [N, 3, H, W] (ImageNet-normalised) -> the final-norm [CLS] features [N, D]."""

    def __init__(self, state: dict[str, torch.Tensor]):
        super().__init__()
        dim, _, patch, _ = state["patch_embed.proj.weight"].shape
        self.patch = patch
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.empty(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.empty(state["pos_embed"].shape))
        self.blocks = blocks_from_state(state, dim // 64 or 1, eps=EPS)
        self.norm = nn.LayerNorm(dim, eps=EPS)

    def position_embedding(self, tokens: int, height: int, width: int) -> torch.Tensor:
        """DINO's interpolate_pos_encoding."""
        grid = self.pos_embed.shape[1] - 1
        if tokens - 1 == grid and height == width:
            return self.pos_embed
        side, dim = math.sqrt(grid), self.pos_embed.shape[-1]
        rows, cols = height // self.patch + 0.1, width // self.patch + 0.1
        patches = self.pos_embed[:, 1:].reshape(1, int(side), int(side), dim).permute(0, 3, 1, 2)
        patches = F.interpolate(patches, scale_factor=(rows / side, cols / side), mode="bicubic")
        return torch.cat([self.pos_embed[:, :1], patches.permute(0, 2, 3, 1).reshape(1, -1, dim)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[2:]
        tokens = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], 1)
        tokens = tokens + self.position_embedding(tokens.shape[1], height, width)
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)[:, 0]


def load_dino(path: Path, what: str, flag: str) -> DinoViT:
    """DINO's ViT from its published state_dict (``dino_vitbase16_pretrain.pth``), read weights-only."""
    state = state_dict_of(load_weights_only(path, what), what, path)
    state = {k.removeprefix("module.").removeprefix("backbone."): v for k, v in state.items()}
    if not all(k in state for k in ("patch_embed.proj.weight", "pos_embed", "cls_token", "blocks.0.norm1.weight")):
        raise KfbenchError(f"{what} '{path}' holds no DINO ViT (patch_embed, pos_embed, blocks); pass it with {flag}")
    used = {k: v for k, v in state.items() if not k.startswith("head.")}
    return build_loaded(lambda: DinoViT(state), used, path, what, f"a DINO ViT state_dict (pass one with {flag})")
