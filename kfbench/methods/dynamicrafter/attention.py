"""Spatial and temporal transformers of the DynamiCrafter 3D UNet (lvdm layout and numerics)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

TEXT_TOKENS = 77  # the release splits cross-attention context into 77 text tokens + image tokens


class CrossAttention(nn.Module):
    """Multi-head attention; with ``image_cross_attention`` a second branch attends the image tokens.

    Text and image branches share the query and are summed (scale 1.0) before ``to_out``. Without
    context it is self-attention; a context without the image branch is cut to the text tokens.
    """

    def __init__(
        self,
        query_dim: int,
        context_dim: int | None = None,
        heads: int = 8,
        dim_head: int = 64,
        dropout: float = 0.0,
        image_cross_attention: bool = False,
        relative_position: bool = False,
        temporal_length: int | None = None,
    ) -> None:
        super().__init__()
        inner = heads * dim_head
        context_dim = context_dim or query_dim
        self.heads, self.dim_head = heads, dim_head
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(dropout))
        self.image_cross_attention = image_cross_attention
        if image_cross_attention:
            self.to_k_ip = nn.Linear(context_dim, inner, bias=False)
            self.to_v_ip = nn.Linear(context_dim, inner, bias=False)
        self.relative_position = relative_position
        if relative_position:
            if temporal_length is None:
                raise ValueError("relative position attention needs temporal_length")
            self.relative_position_k = RelativePosition(dim_head, temporal_length)
            self.relative_position_v = RelativePosition(dim_head, temporal_length)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        return rearrange(t, "b n (h d) -> b h n d", h=self.heads)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if not self.relative_position:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        scale = self.dim_head**-0.5
        n_q, n_k = q.shape[2], k.shape[2]
        sim = torch.einsum("bhid,bhjd->bhij", q, k) * scale
        sim = sim + torch.einsum("bhid,ijd->bhij", q, self.relative_position_k(n_q, n_k)) * scale
        if mask is not None:
            sim = sim.masked_fill(~mask, -torch.finfo(sim.dtype).max)
        sim = sim.softmax(dim=-1)
        out = torch.einsum("bhij,bhjd->bhid", sim, v)
        return out + torch.einsum("bhij,ijd->bhid", sim, self.relative_position_v(n_q, v.shape[2]))

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        q = self._split(self.to_q(x))
        image = None
        if context is None:
            context = x
        elif self.image_cross_attention:
            context, image = context[:, :TEXT_TOKENS], context[:, TEXT_TOKENS:]
        else:
            context = context[:, :TEXT_TOKENS]
        out = self._attend(q, self._split(self.to_k(context)), self._split(self.to_v(context)), mask)
        if image is not None:
            out = out + F.scaled_dot_product_attention(
                q, self._split(self.to_k_ip(image)), self._split(self.to_v_ip(image))
            )
        return self.to_out(rearrange(out, "b h n d -> b n (h d)"))


class RelativePosition(nn.Module):
    """Learned embeddings of clipped relative distances (keys ``embeddings_table``)."""

    def __init__(self, num_units: int, max_relative_position: int) -> None:
        super().__init__()
        self.max_relative_position = max_relative_position
        self.embeddings_table = nn.Parameter(torch.empty(max_relative_position * 2 + 1, num_units))
        nn.init.xavier_uniform_(self.embeddings_table)

    def forward(self, length_q: int, length_k: int) -> torch.Tensor:
        device = self.embeddings_table.device
        distance = torch.arange(length_k, device=device)[None, :] - torch.arange(length_q, device=device)[:, None]
        index = distance.clamp(-self.max_relative_position, self.max_relative_position) + self.max_relative_position
        return self.embeddings_table[index]


class GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class FeedForward(nn.Module):
    """GEGLU feed-forward, 4x inner width (keys ``net.0.proj``, ``net.2``)."""

    def __init__(self, dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, dim * 4), nn.Dropout(dropout), nn.Linear(dim * 4, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    """Self-attention, cross-attention (self-attention when no context), feed-forward; pre-LayerNorm."""

    def __init__(
        self,
        dim: int,
        heads: int,
        dim_head: int,
        dropout: float = 0.0,
        context_dim: int | None = None,
        image_cross_attention: bool = False,
        relative_position: bool = False,
        temporal_length: int | None = None,
    ) -> None:
        super().__init__()
        extra = {"relative_position": relative_position, "temporal_length": temporal_length}
        self.attn1 = CrossAttention(dim, None, heads, dim_head, dropout, **extra)
        self.ff = FeedForward(dim, dropout)
        self.attn2 = CrossAttention(dim, context_dim, heads, dim_head, dropout, image_cross_attention, **extra)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = self.attn1(self.norm1(x), mask=mask) + x
        x = self.attn2(self.norm2(x), context=context, mask=mask) + x
        return self.ff(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    """Per-frame transformer over the h*w tokens of [(b t), c, h, w] features."""

    def __init__(
        self,
        channels: int,
        heads: int,
        dim_head: int,
        depth: int = 1,
        dropout: float = 0.0,
        context_dim: int | None = None,
        use_linear: bool = False,
        image_cross_attention: bool = False,
    ) -> None:
        super().__init__()
        inner = heads * dim_head
        self.norm = nn.GroupNorm(32, channels, eps=1e-6)
        self.use_linear = use_linear
        self.proj_in = nn.Linear(channels, inner) if use_linear else nn.Conv2d(channels, inner, 1)
        self.transformer_blocks = nn.ModuleList(
            BasicTransformerBlock(inner, heads, dim_head, dropout, context_dim, image_cross_attention)
            for _ in range(depth)
        )
        self.proj_out = nn.Linear(inner, channels) if use_linear else nn.Conv2d(inner, channels, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        _, _, h, w = x.shape
        residual = x
        x = self.norm(x)
        if not self.use_linear:
            x = self.proj_in(x)
        x = rearrange(x, "b c h w -> b (h w) c")
        if self.use_linear:
            x = self.proj_in(x)
        for block in self.transformer_blocks:
            x = block(x, context=context)
        if self.use_linear:
            x = self.proj_out(x)
        x = rearrange(x, "b (h w) c -> b c h w", h=h, w=w)
        if not self.use_linear:
            x = self.proj_out(x)
        return x + residual


class TemporalTransformer(nn.Module):
    """Transformer along time for every pixel of [b, c, t, h, w]; the group norm spans all frames.

    Only the self-attention form is built (``attn2`` is self-attention too), as in every released
    DynamiCrafter configuration.
    """

    def __init__(
        self,
        channels: int,
        heads: int,
        dim_head: int,
        depth: int = 1,
        dropout: float = 0.0,
        use_linear: bool = False,
        causal_attention: bool = False,
        relative_position: bool = False,
        temporal_length: int | None = None,
    ) -> None:
        super().__init__()
        inner = heads * dim_head
        self.norm = nn.GroupNorm(32, channels, eps=1e-6)
        self.use_linear = use_linear
        self.proj_in = nn.Linear(channels, inner) if use_linear else nn.Conv1d(channels, inner, 1)
        self.causal_attention = causal_attention
        if causal_attention and temporal_length is None:
            raise ValueError("causal temporal attention needs temporal_length")
        self.temporal_length = temporal_length
        self.transformer_blocks = nn.ModuleList(
            BasicTransformerBlock(
                inner,
                heads,
                dim_head,
                dropout,
                None,
                relative_position=relative_position,
                temporal_length=temporal_length,
            )
            for _ in range(depth)
        )
        self.proj_out = nn.Linear(inner, channels) if use_linear else nn.Conv1d(inner, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, h, w = x.shape
        residual = x
        x = rearrange(self.norm(x), "b c t h w -> (b h w) c t")
        if not self.use_linear:
            x = self.proj_in(x)
        x = rearrange(x, "n c t -> n t c")
        if self.use_linear:
            x = self.proj_in(x)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril() if self.causal_attention else None
        for block in self.transformer_blocks:
            x = block(x, mask=mask)
        if self.use_linear:
            x = self.proj_out(x)
            return rearrange(x, "(b h w) t c -> b c t h w", b=b, h=h, w=w) + residual
        x = self.proj_out(rearrange(x, "n t c -> n c t"))
        return rearrange(x, "(b h w) c t -> b c t h w", b=b, h=h, w=w) + residual
