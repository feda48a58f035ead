"""DynamiCrafter's 3D UNet, built from the release's ``unet_config.params`` field names.

Module names follow the released state_dict (including the ``temopral_conv`` spelling), so the
checkpoint's ``model.diffusion_model.*`` entries load strictly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from kfbench.methods.dynamicrafter.attention import (
    TEXT_TOKENS,
    SpatialTransformer,
    TemporalTransformer,
)

IMAGE_TOKENS_PER_FRAME = 16


class GroupNorm32(nn.GroupNorm):
    """Group norm computed in float32 and cast back (the release's ``normalization``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).type(x.dtype)


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: int = 10000) -> torch.Tensor:
    """Sinusoidal embedding, cosines first then sines."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half)
    args = timesteps[:, None].float() * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


class TemporalConvBlock(nn.Module):
    """Four (norm, SiLU, [dropout], 3x1x1 conv) stages over [b, c, t, h, w] with a residual."""

    def __init__(self, channels: int, dropout: float = 0.1) -> None:
        super().__init__()

        def conv() -> nn.Conv3d:
            return nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0))

        self.conv1 = nn.Sequential(nn.GroupNorm(32, channels), nn.SiLU(), conv())
        self.conv2 = nn.Sequential(nn.GroupNorm(32, channels), nn.SiLU(), nn.Dropout(dropout), conv())
        self.conv3 = nn.Sequential(nn.GroupNorm(32, channels), nn.SiLU(), nn.Dropout(dropout), conv())
        self.conv4 = nn.Sequential(nn.GroupNorm(32, channels), nn.SiLU(), nn.Dropout(dropout), conv())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv4(self.conv3(self.conv2(self.conv1(x))))


class ResBlock(nn.Module):
    """Residual block on [(b t), c, h, w]; the temporal conv runs on the sum after the skip."""

    def __init__(
        self, channels: int, emb_channels: int, dropout: float, out_channels: int | None, temporal_conv: bool
    ) -> None:
        super().__init__()
        out_channels = out_channels or channels
        self.in_layers = nn.Sequential(
            GroupNorm32(32, channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1)
        )
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, out_channels))
        self.out_layers = nn.Sequential(
            GroupNorm32(32, out_channels),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
        )
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)
        self.use_temporal_conv = temporal_conv
        if temporal_conv:
            self.temopral_conv = TemporalConvBlock(out_channels, dropout=0.1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor, batch_size: int) -> torch.Tensor:
        h = self.in_layers(x)
        h = h + self.emb_layers(emb).type(h.dtype)[..., None, None]
        h = self.skip_connection(x) + self.out_layers(h)
        if self.use_temporal_conv:
            h = rearrange(h, "(b t) c h w -> b c t h w", b=batch_size)
            h = rearrange(self.temopral_conv(h), "b c t h w -> (b t) c h w")
        return h


class Downsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class TimestepEmbedSequential(nn.Sequential):
    """Passes embeddings to ResBlocks, context to spatial transformers, 5-D views to temporal ones."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor, context: torch.Tensor, batch_size: int) -> torch.Tensor:
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb, batch_size)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context)
            elif isinstance(layer, TemporalTransformer):
                x = rearrange(x, "(b t) c h w -> b c t h w", b=batch_size)
                x = rearrange(layer(x), "b c t h w -> (b t) c h w")
            else:
                x = layer(x)
        return x


class UNet3D(nn.Module):
    """The release's ``UNetModel`` (lvdm/modules/networks/openaimodel3d.py) for DynamiCrafter configs."""

    def __init__(
        self,
        *,
        in_channels: int,
        model_channels: int,
        out_channels: int,
        num_res_blocks: int,
        attention_resolutions: Sequence[int],
        dropout: float = 0.0,
        channel_mult: Sequence[int] = (1, 2, 4, 8),
        num_head_channels: int = 64,
        transformer_depth: int = 1,
        context_dim: int | None = None,
        use_linear: bool = False,
        temporal_conv: bool = False,
        temporal_attention: bool = True,
        temporal_selfatt_only: bool = True,
        use_relative_position: bool = True,
        use_causal_attention: bool = False,
        temporal_length: int | None = None,
        addition_attention: bool = False,
        image_cross_attention: bool = False,
        default_fs: int = 4,
        fs_condition: bool = False,
    ) -> None:
        super().__init__()
        if not temporal_selfatt_only:
            raise ValueError("temporal_selfatt_only=False (context in temporal attention) is not supported")
        self.model_channels, self.out_channels = model_channels, out_channels
        self.default_fs, self.fs_condition, self.addition_attention = default_fs, fs_condition, addition_attention
        emb_dim = model_channels * 4
        self.time_embed = nn.Sequential(nn.Linear(model_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        if fs_condition:
            self.fps_embedding = nn.Sequential(
                nn.Linear(model_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
            )

        def res(ch: int, out: int | None = None) -> ResBlock:
            return ResBlock(ch, emb_dim, dropout, out, temporal_conv)

        def attention(ch: int, causal: bool = use_causal_attention) -> list[nn.Module]:
            heads = ch // num_head_channels
            layers: list[nn.Module] = [
                SpatialTransformer(
                    ch, heads, num_head_channels, transformer_depth, 0.0, context_dim, use_linear, image_cross_attention
                )
            ]
            if temporal_attention:
                layers.append(
                    TemporalTransformer(
                        ch,
                        heads,
                        num_head_channels,
                        transformer_depth,
                        0.0,
                        use_linear,
                        causal,
                        use_relative_position,
                        temporal_length,
                    )
                )
            return layers

        self.input_blocks = nn.ModuleList(
            [TimestepEmbedSequential(nn.Conv2d(in_channels, model_channels, 3, padding=1))]
        )
        if addition_attention:
            self.init_attn = TimestepEmbedSequential(
                TemporalTransformer(
                    model_channels,
                    8,
                    num_head_channels,
                    transformer_depth,
                    0.0,
                    False,
                    False,
                    use_relative_position,
                    temporal_length,
                )
            )
        chans, ch, ds = [model_channels], model_channels, 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers: list[nn.Module] = [res(ch, mult * model_channels)]
                ch = mult * model_channels
                if ds in attention_resolutions:
                    layers += attention(ch)
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                chans.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(TimestepEmbedSequential(Downsample(ch)))
                chans.append(ch)
                ds *= 2

        self.middle_block = TimestepEmbedSequential(res(ch), *attention(ch), res(ch))

        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                layers = [res(ch + chans.pop(), mult * model_channels)]
                ch = mult * model_channels
                if ds in attention_resolutions:
                    layers += attention(ch)
                if level and i == num_res_blocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))

        self.out = nn.Sequential(GroupNorm32(32, ch), nn.SiLU(), nn.Conv2d(model_channels, out_channels, 3, padding=1))

    def forward(
        self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor, fs: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x [B, C, T, H, W], timesteps [B], context [B, 77 (+ 16 T), D], fs [B] -> [B, out, T, H, W]."""
        b, _, t, _, _ = x.shape
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels).type(x.dtype))
        if context.shape[1] == TEXT_TOKENS + t * IMAGE_TOKENS_PER_FRAME:
            text, image = context[:, :TEXT_TOKENS], context[:, TEXT_TOKENS:]
            image = rearrange(image, "b (t l) c -> (b t) l c", t=t)
            context = torch.cat([text.repeat_interleave(t, dim=0), image], dim=1)
        else:
            context = context.repeat_interleave(t, dim=0)
        emb = emb.repeat_interleave(t, dim=0)
        h = rearrange(x, "b c t h w -> (b t) c h w")
        if self.fs_condition:
            if fs is None:
                fs = torch.full((b,), self.default_fs, dtype=torch.long, device=x.device)
            fs_emb = self.fps_embedding(timestep_embedding(fs, self.model_channels).type(x.dtype))
            emb = emb + fs_emb.repeat_interleave(t, dim=0)
        h = h.float()
        skips = []
        for index, module in enumerate(self.input_blocks):
            h = module(h, emb, context, b)
            if index == 0 and self.addition_attention:
                h = self.init_attn(h, emb, context, b)
            skips.append(h)
        h = self.middle_block(h, emb, context, b)
        for module in self.output_blocks:
            h = module(torch.cat([h, skips.pop()], dim=1), emb, context, b)
        y = self.out(h.type(x.dtype))
        return rearrange(y, "(b t) c h w -> b c t h w", b=b)


def build_unet(**params) -> UNet3D:
    """A UNet from the release's ``unet_config.params`` (unknown fields are errors).

    Fields that only matter for training (``use_checkpoint``) are accepted and ignored.
    """
    params.pop("use_checkpoint", None)
    return UNet3D(**params)
