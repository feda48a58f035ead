"""OpenCLIP ViT-H-14 text and vision towers run the way the release runs them.

Text (``cond_stage_model``): every token of the penultimate transformer layer after ``ln_final``.
Vision (``embedder``): the 257 last-layer tokens before ``ln_post``, without projection, of the
image resized to 224x224 (bicubic, antialiased, aspect squashed) and normalised with CLIP's
mean/std. Both hold an ``open_clip.CLIP`` built without pretrained weights; the vision embedder
keeps the unused text parts except the text transformer, as the checkpoint does.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def make_clip(config: dict[str, Any]) -> nn.Module:
    """An ``open_clip.CLIP`` from ``{"embed_dim", "vision_cfg", "text_cfg"}`` (open_clip's model config)."""
    import open_clip

    return open_clip.CLIP(**config)


def _run_blocks(transformer: nn.Module, x: torch.Tensor, attn_mask: torch.Tensor | None, count: int) -> torch.Tensor:
    """The first ``count`` residual blocks on batch-first ``x``, whatever layout the blocks expect."""
    batch_first = getattr(transformer, "batch_first", False)
    if not batch_first:
        x = x.permute(1, 0, 2)
    for block in transformer.resblocks[:count]:
        x = block(x, attn_mask=attn_mask)
    return x if batch_first else x.permute(1, 0, 2)


class OpenCLIPTextEncoder(nn.Module):
    """Prompt strings -> [B, 77, width] penultimate-layer tokens after ``ln_final``."""

    def __init__(self, clip_config: dict[str, Any]) -> None:
        super().__init__()
        model = make_clip(clip_config)
        del model.visual
        self.model = model

    def forward(self, prompts: list[str]) -> torch.Tensor:
        import open_clip

        device = self.model.token_embedding.weight.device
        tokens = open_clip.tokenize(prompts).to(device)
        x = self.model.token_embedding(tokens) + self.model.positional_embedding
        x = _run_blocks(self.model.transformer, x, self.model.attn_mask, len(self.model.transformer.resblocks) - 1)
        return self.model.ln_final(x)


class OpenCLIPImageEncoder(nn.Module):
    """Images in [-1, 1] [B, 3, H, W] -> [B, 1 + grid^2, width] last-layer tokens before ``ln_post``."""

    def __init__(self, clip_config: dict[str, Any]) -> None:
        super().__init__()
        model = make_clip(clip_config)
        del model.transformer
        self.model = model
        self.register_buffer("mean", torch.tensor(CLIP_MEAN), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD), persistent=False)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        import kornia

        size = self.model.visual.image_size
        x = kornia.geometry.resize(x, tuple(size), interpolation="bicubic", align_corners=True, antialias=True)
        return kornia.enhance.normalize((x + 1.0) / 2.0, self.mean, self.std)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        visual = self.model.visual
        x = visual.conv1(self.preprocess(image))
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = visual.class_embedding.to(x.dtype) + torch.zeros(
            x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device
        )
        x = torch.cat([cls, x], dim=1) + visual.positional_embedding.to(x.dtype)
        x = visual.ln_pre(visual.patch_dropout(x))
        return _run_blocks(visual.transformer, x, None, len(visual.transformer.resblocks))
