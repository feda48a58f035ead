"""The features and score of ``jedi`` (``kfbench.metrics.jedi``): JEPA Embedding Distance as ``videojedi`` computes it.

(Luo et al., 2024, arXiv:2410.05203.)
videojedi 1.1.0 (``VJEPA(finetuned=True).get_feats`` + ``JEDiMetric.compute_metric``): the V-JEPA ViT-H/16
encoder ``vith16.pth.tar`` (key ``target_encoder``, ``module.``/``backbone.`` prefixes removed; 16 frames,
tubelet 2, 224x224) and the attentive pooler of the SSv2 probe ``ssv2-probe.pth.tar`` (key ``classifier``).
Frames in [0, 1] are normalised with the ImageNet mean and std per channel; the feature is the pooler's
single query token (1280-d) over all encoder tokens. JEDi = 100 x the biased (V-statistic) MMD^2 with the
polynomial kernel (gamma <x, y>)^2, gamma = 1 / D, coefficient 0, over every feature (no subsets; the package
keeps at most ``num_samples`` = 5000 per set). videojedi leaves resizing to its caller: kfbench resizes every
frame, whole, to 224x224 bilinearly (as for ``fvd_videomae``), so no position embedding is interpolated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.image.kid import poly_kernel

from kfbench.errors import KfbenchError
from kfbench.metrics.checkpoint import load_exactly, load_weights_only, require, state_dict_in
from kfbench.metrics.clipmetric import ENCODER_SIZE, ClipDistributionMetric, resize_frames
from kfbench.metrics.vit import Mlp, PatchEmbed3D, blocks_from_state

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_LENGTH = 16


class VJepaEncoder(nn.Module):
    """V-JEPA ViT sized from its checkpoint; [B, 3, 16, 224, 224] -> normalised tokens [B, N, D]."""

    def __init__(self, state: dict[str, torch.Tensor], heads: int = 16):
        super().__init__()
        self.patch_embed = PatchEmbed3D(state["patch_embed.proj.weight"])
        self.pos_embed = nn.Parameter(torch.zeros_like(state["pos_embed"]), requires_grad=False)
        self.blocks = blocks_from_state(state, heads, eps=1e-6)
        self.norm = nn.LayerNorm(self.pos_embed.shape[-1], eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        if x.shape[1] != self.pos_embed.shape[1]:
            raise KfbenchError(
                f"V-JEPA position embeddings cover {self.pos_embed.shape[1]} tokens, the clip gives {x.shape[1]}"
            )
        x = x + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.kv, self.proj = nn.Linear(dim, dim), nn.Linear(dim, 2 * dim), nn.Linear(dim, dim)

    def forward(self, q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        b, n, c = q.shape
        q = self.q(q).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
        kv = self.kv(x).reshape(b, x.shape[1], 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, kv[0], kv[1])
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class CrossAttentionBlock(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)  # the probe's default eps, 1e-5
        self.xattn, self.mlp = CrossAttention(dim, heads), Mlp(dim, hidden)

    def forward(self, q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        q = q + self.xattn(q, self.norm1(x))
        return q + self.mlp(self.norm2(q))


class AttentivePooler(nn.Module):
    """The SSv2 probe's pooler (one query, one cross-attention block): tokens [B, N, D] -> [B, D]."""

    def __init__(self, state: dict[str, torch.Tensor], heads: int = 16):
        super().__init__()
        self.query_tokens = nn.Parameter(torch.zeros_like(state["query_tokens"]))
        dim, hidden = self.query_tokens.shape[-1], state["cross_attention_block.mlp.fc1.weight"].shape[0]
        self.cross_attention_block = CrossAttentionBlock(dim, heads, hidden)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        q = self.query_tokens.repeat(len(tokens), 1, 1)
        return self.cross_attention_block(q, tokens).squeeze(1)


def load_vjepa(encoder_path: Path, probe_path: Path, heads: int = 16) -> nn.Sequential:
    """Encoder then pooler from ``vith16.pth.tar`` and ``ssv2-probe.pth.tar``-format files (weights-only)."""
    what = "V-JEPA encoder"
    checkpoint = load_weights_only(encoder_path, what)
    state = state_dict_in(checkpoint, ("target_encoder", "encoder"), ("module.", "backbone."), encoder_path, what)
    for key in ("patch_embed.proj.weight", "pos_embed", "blocks.0.norm1.weight"):
        require(state, key, encoder_path, what)
    encoder = VJepaEncoder(state, heads)
    load_exactly(encoder, state, encoder_path, what)
    what = "V-JEPA probe"
    probe = state_dict_in(load_weights_only(probe_path, what), ("classifier",), ("module.",), probe_path, what)
    pooler_state = {k.removeprefix("pooler."): v for k, v in probe.items() if k.startswith("pooler.")}
    require(pooler_state, "query_tokens", probe_path, what)
    require(pooler_state, "cross_attention_block.mlp.fc1.weight", probe_path, what)
    pooler = AttentivePooler(pooler_state, heads)
    load_exactly(pooler, pooler_state, probe_path, what)
    if pooler.query_tokens.shape[-1] != encoder.pos_embed.shape[-1]:
        raise KfbenchError(
            f"probe '{probe_path}' is {pooler.query_tokens.shape[-1]}-d, encoder '{encoder_path}' "
            f"{encoder.pos_embed.shape[-1]}-d; pass the probe trained on this encoder"
        )
    return nn.Sequential(encoder, pooler).eval()


def mmd_polynomial(x: np.ndarray, y: np.ndarray, degree: int = 2, coef: float = 0.0) -> float:
    """Biased MMD^2 (kernel means including the diagonal) with (gamma <x, y> + coef)^degree, gamma = 1/D, in float64."""
    fx, fy = torch.as_tensor(np.asarray(x), dtype=torch.float64), torch.as_tensor(np.asarray(y), dtype=torch.float64)

    def kernel_mean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return poly_kernel(a, b, degree, None, coef).mean()

    return float(kernel_mean(fx, fx) + kernel_mean(fy, fy) - 2 * kernel_mean(fx, fy))


class Jedi(ClipDistributionMetric):
    """JEDi (videojedi): 100 x polynomial-kernel MMD^2 between V-JEPA probe features; lower is better."""

    name = "jedi"
    clip_length = CLIP_LENGTH

    def __init__(self, encoder: Path, probe: Path, *, device: str = "cpu", batch_size: int = 4, heads: int = 16):
        model = load_vjepa(encoder, probe, heads)
        super().__init__(model, device=device, batch_size=batch_size)
        self.mean = torch.tensor(IMAGENET_MEAN, device=device)[None, :, None, None, None]
        self.std = torch.tensor(IMAGENET_STD, device=device)[None, :, None, None, None]
        encoder_width, depth = model[0].pos_embed.shape[-1], len(model[0].blocks)
        self.extractor = f"vjepa-vit-{encoder_width}d-{depth}blocks/ssv2-probe-pooler/{CLIP_LENGTH}x{ENCODER_SIZE}"

    def preprocess(self, batch: torch.Tensor) -> torch.Tensor:
        return (resize_frames(batch) - self.mean) / self.std

    def score(self, generated: np.ndarray, truth: np.ndarray) -> float:
        if len(generated) < 1 or len(truth) < 1:
            raise KfbenchError("jedi needs at least one clip in each set")
        return 100.0 * mmd_polynomial(truth, generated)
