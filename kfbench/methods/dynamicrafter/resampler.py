"""The Perceiver resampler turning CLIP image tokens into per-frame query tokens (``image_proj_model``)."""

from __future__ import annotations

import math

import torch
from torch import nn


class PerceiverAttention(nn.Module):
    """Latents attend to [image tokens, latents]; softmax in float32."""

    def __init__(self, dim: int, dim_head: int, heads: int) -> None:
        super().__init__()
        inner = dim_head * heads
        self.dim_head, self.heads = dim_head, heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.view(b, n, self.heads, -1).transpose(1, 2)

    def forward(self, x: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        x, latents = self.norm1(x), self.norm2(latents)
        b, n, _ = latents.shape
        q = self._heads(self.to_q(latents))
        k, v = (self._heads(t) for t in self.to_kv(torch.cat([x, latents], dim=-2)).chunk(2, dim=-1))
        scale = 1 / math.sqrt(math.sqrt(self.dim_head))
        weight = (q * scale) @ (k * scale).transpose(-2, -1)
        weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
        return self.to_out((weight @ v).permute(0, 2, 1, 3).reshape(b, n, -1))


class Resampler(nn.Module):
    """``num_queries`` learned queries per frame (times ``video_length``) cross-attending image tokens."""

    def __init__(
        self,
        dim: int = 1024,
        depth: int = 8,
        dim_head: int = 64,
        heads: int = 16,
        num_queries: int = 8,
        embedding_dim: int = 768,
        output_dim: int = 1024,
        ff_mult: int = 4,
        video_length: int | None = None,
    ) -> None:
        super().__init__()
        total = num_queries * (video_length or 1)
        self.latents = nn.Parameter(torch.randn(1, total, dim) / dim**0.5)
        self.proj_in = nn.Linear(embedding_dim, dim)
        self.proj_out = nn.Linear(dim, output_dim)
        self.norm_out = nn.LayerNorm(output_dim)
        inner = dim * ff_mult
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    PerceiverAttention(dim, dim_head, heads),
                    nn.Sequential(
                        nn.LayerNorm(dim),
                        nn.Linear(dim, inner, bias=False),
                        nn.GELU(),
                        nn.Linear(inner, dim, bias=False),
                    ),
                ]
            )
            for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, N, embedding_dim] -> [B, num_queries * video_length, output_dim]."""
        latents = self.latents.repeat(x.size(0), 1, 1)
        x = self.proj_in(x)
        for attn, ff in self.layers:
            latents = attn(x, latents) + latents
            latents = ff(latents) + latents
        return self.norm_out(self.proj_out(latents))
