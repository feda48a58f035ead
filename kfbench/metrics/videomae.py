"""The features and score of ``fvd_videomae`` (``kfbench.metrics.fvd_videomae``): FVD on VideoMAE-v2 features.

As the ``cd-fvd`` package computes it (Ge et al., CVPR 2024).
cd-fvd 0.1.1 (``cdfvd.fvd.cdfvd(model="videomae")``): the checkpoint ``vit_g_hybrid_pt_1200e_ssv2_ft.pth``
(ViT-g/14, 1408-d, 40 blocks, 16 heads, VideoMAE-v2 hybrid pre-training fine-tuned on SSv2) with its
state dict under ``module`` or ``model``; each 16-frame clip scaled to [0, 1] (no mean/std normalisation),
every frame bilinearly resized to 224x224 (whole frame, no crop); features ``forward_features``: the mean
of all tokens after the last block, through ``fc_norm`` (the SSv2 head is not used); fixed sinusoidal
position embeddings (not stored in the checkpoint). The Frechet distance uses the covariance with
divisor N (cd-fvd's ``FeatureStats``), in float64.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from kfbench.metrics.checkpoint import load_exactly, load_weights_only, require, state_dict_in
from kfbench.metrics.clipmetric import ENCODER_SIZE, ClipDistributionMetric, resize_frames
from kfbench.metrics.frechet import frechet_distance_features
from kfbench.metrics.vit import PatchEmbed3D, blocks_from_state

WHAT = "VideoMAE-v2"
CLIP_LENGTH = 16


def sinusoid_table(positions: int, dim: int) -> torch.Tensor:
    """VideoMAE's fixed position embeddings [1, positions, dim]: sin on even, cos on odd channels."""
    exponent = 2 * (np.arange(dim) // 2) / dim
    table = np.arange(positions)[:, None] / np.power(10000, exponent)[None, :]
    table[:, 0::2], table[:, 1::2] = np.sin(table[:, 0::2]), np.cos(table[:, 1::2])
    return torch.tensor(table, dtype=torch.float32)[None]


class VideoMAEv2Encoder(nn.Module):
    """VideoMAE-v2 ViT (mean-pooled, ``fc_norm``) sized from its checkpoint; [B, 3, 16, 224, 224] in [0, 1] -> [B,
    D]."""

    def __init__(self, state: dict[str, torch.Tensor], heads: int = 16):
        super().__init__()
        self.patch_embed = PatchEmbed3D(state["patch_embed.proj.weight"])
        self.blocks = blocks_from_state(state, heads, eps=1e-6)
        dim = state["patch_embed.proj.weight"].shape[0]
        self.fc_norm = nn.LayerNorm(dim, eps=1e-6)
        tokens = (CLIP_LENGTH // self.patch_embed.tubelet) * (ENCODER_SIZE // self.patch_embed.patch) ** 2
        self.register_buffer("pos_embed", sinusoid_table(tokens, dim), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.fc_norm(x.mean(dim=1))


def load_videomae(path: Path, heads: int = 16) -> VideoMAEv2Encoder:
    """The encoder of a ``vit_g_hybrid_pt_1200e_ssv2_ft.pth``-format checkpoint (weights-only)."""
    state = state_dict_in(load_weights_only(path, WHAT), ("model", "module"), (), path, WHAT)
    require(state, "patch_embed.proj.weight", path, WHAT)
    require(state, "blocks.0.norm1.weight", path, WHAT)
    model = VideoMAEv2Encoder(state, heads)
    load_exactly(model, state, path, WHAT, ignore=("head.",))
    return model.eval()


class FvdVideoMAE(ClipDistributionMetric):
    """FVD on VideoMAE-v2 features (cd-fvd): lower is better; covariance divisor N."""

    name = "fvd_videomae"
    clip_length = CLIP_LENGTH
    covariance = "n"

    def __init__(self, weights: Path, *, device: str = "cpu", batch_size: int = 4, heads: int = 16):
        model = load_videomae(weights, heads)
        super().__init__(model, device=device, batch_size=batch_size)
        dim = model.fc_norm.normalized_shape[0]
        self.extractor = (
            f"videomae-v2-vit-{dim}d-{len(model.blocks)}blocks/fc_norm-mean-tokens/{CLIP_LENGTH}x{ENCODER_SIZE}"
        )

    def preprocess(self, batch: torch.Tensor) -> torch.Tensor:
        return resize_frames(batch)

    def score(self, generated: np.ndarray, truth: np.ndarray) -> float:
        return frechet_distance_features(generated, truth, self.covariance, what=self.name)
