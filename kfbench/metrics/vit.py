"""Video ViT pieces shared by the VideoMAE-v2 and V-JEPA encoders, sized from a state dict's tensor shapes.

Depth, width, MLP width, patch and tubelet size are read from the tensors. The number of attention
heads is not in any tensor shape: it is a parameter (16 in the published ViT-g and ViT-H checkpoints).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kfbench.errors import KfbenchError


class SelfAttention(nn.Module):
    """Multi-head self-attention; ``split_bias``: VideoMAE's q_bias/v_bias (no k bias) instead of a qkv bias."""

    def __init__(self, dim: int, heads: int, *, qkv_bias: bool, split_bias: bool):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        if split_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        bias = self.qkv.bias
        if hasattr(self, "q_bias"):
            bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim: int, heads: int, hidden: int, *, eps: float, qkv_bias: bool, split_bias: bool):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=eps), nn.LayerNorm(dim, eps=eps)
        self.attn = SelfAttention(dim, heads, qkv_bias=qkv_bias, split_bias=split_bias)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def blocks_from_state(state: dict[str, torch.Tensor], heads: int, *, eps: float) -> nn.ModuleList:
    """The ``blocks.N.*`` transformer blocks a state dict describes (depth, width, MLP width, bias layout)."""
    depth = len({key.split(".")[1] for key in state if key.startswith("blocks.")})
    if depth == 0:
        return nn.ModuleList()
    dim = state["blocks.0.norm1.weight"].shape[0]
    if dim % heads:
        raise KfbenchError(
            f"a {dim}-wide transformer cannot have {heads} attention heads; its width must be a multiple of them"
        )
    hidden = state["blocks.0.mlp.fc1.weight"].shape[0]
    qkv_bias, split_bias = "blocks.0.attn.qkv.bias" in state, "blocks.0.attn.q_bias" in state
    return nn.ModuleList(
        Block(dim, heads, hidden, eps=eps, qkv_bias=qkv_bias, split_bias=split_bias) for _ in range(depth)
    )


class PatchEmbed3D(nn.Module):
    """Tubelet x patch x patch Conv3d tokens, [B, 3, T, H, W] -> [B, N, D]."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        if weight.ndim != 5:
            raise KfbenchError(
                f"a video ViT's patch_embed.proj.weight is [D, 3, tubelet, patch, patch], got {list(weight.shape)}"
            )
        dim, channels, tubelet, patch, _ = weight.shape
        self.tubelet, self.patch = tubelet, patch
        self.proj = nn.Conv3d(channels, dim, (tubelet, patch, patch), stride=(tubelet, patch, patch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)
