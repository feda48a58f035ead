"""MUSIQ, the multi-scale image quality transformer (Ke et al., ICCV 2021), as pyiqa 0.1.16 runs it for VBench 0.1.5,
from its published state_dict (``musiq_spaq_ckpt-358bb6af.pth``), read weights-only.

An image in [0, 1] goes to [-1, 1] and is seen three ways: resized (bicubic, no antialias) so that its longer side
is 224 and then 384 pixels (the other side Python-rounded), and as given. Each view is cut into 32-pixel patches on
a grid padded as TensorFlow's 'SAME' (zeros, the odd pixel after). Every patch goes through a ResNet stem
(weight-standardised convolutions with 'SAME' padding, group norms, a bottleneck) to 8 x 8 x 256 values, flattened
rows, columns, channels, and a linear embedding; to it are added a hashed spatial position (the patch's row and column
mapped onto a 10 x 10 grid by torch's nearest resizing, as pyiqa does) and its view's scale embedding (0, 1, 2). A
[CLS] token, a pre-norm transformer, a final norm and a linear head on [CLS] give the score: for the SPAQ model one
output, the mean opinion score on SPAQ's 0-100 scale. Float32.

pyiqa pads each resized view's patch list to the view's full square grid and masks the padding with attention
logits of -1e3, whose weights exp(-1e3 - max) underflow to exactly 0 in float32 beside any ordinary logit; kfbench
leaves that padding out, which gives the same [CLS].

Width, depth and MLP size come from the file (the published one: 384, 14, 1152) and the heads are width / 64 (its
6); the patch size, grid, scales and the one-output head are VBench's (pyiqa's defaults, which VBench uses), and a
file that does not fit them is refused in one line.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from kfbench.errors import KfbenchError
from kfbench.metrics.checkpoint import build_loaded
from kfbench.metrics.vit import Mlp
from kfbench.utils.safeload import load_weights_only, state_dict_of

PATCH = 32
SIDES = (224, 384)  # the resized views' longer sides; scale ids 0, 1; the image as given is scale 2
GRID = 10  # hashed spatial positions: GRID x GRID
STEM = 64  # the ResNet stem's width (its bottleneck gives 4 x STEM)
HEAD_WIDTH = 64  # channels per attention head


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's 'SAME' zero padding: ceil(size / stride) outputs, the odd padding pixel after."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = (math.ceil(size / stride) - 1) * stride + kernel - size
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class StdConv(nn.Conv2d):
    """A convolution whose weights are standardised per output channel (unbiased std, + 1e-5), 'SAME' padded."""

    def __init__(self, inputs: int, outputs: int, kernel: int, stride: int = 1):
        super().__init__(inputs, outputs, kernel, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        w = (w - w.mean((1, 2, 3), keepdim=True)) / (w.std((1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(same_pad(x, self.kernel_size[0], self.stride[0]), w, stride=self.stride)


class Bottleneck(nn.Module):
    """1x1, 3x3, 1x1 standardised convolutions with group norms (32 groups, eps 1e-4), a projected shortcut."""

    def __init__(self, width: int, outputs: int):
        super().__init__()
        self.conv1, self.gn1 = StdConv(width, width, 1), nn.GroupNorm(32, width, eps=1e-4)
        self.conv2, self.gn2 = StdConv(width, width, 3), nn.GroupNorm(32, width, eps=1e-4)
        self.conv3, self.gn3 = StdConv(width, outputs, 1), nn.GroupNorm(32, outputs, eps=1e-4)
        self.conv_proj, self.gn_proj = StdConv(width, outputs, 1), nn.GroupNorm(32, outputs, eps=1e-4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.gn_proj(self.conv_proj(x))
        y = F.relu(self.gn1(self.conv1(x)))
        y = F.relu(self.gn2(self.conv2(y)))
        return F.relu(self.gn3(self.conv3(y)) + shortcut)


class Attention(nn.Module):
    """Multi-head self-attention with separate query, key and value projections."""

    def __init__(self, width: int):
        super().__init__()
        self.heads = width // HEAD_WIDTH
        self.query, self.key, self.value, self.out = (nn.Linear(width, width) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = (p(x).reshape(n, t, self.heads, -1).transpose(1, 2) for p in (self.query, self.key, self.value))
        return self.out(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, t, c))


class Block(nn.Module):
    """x + attention(norm1(x)), then x + mlp(norm2(x)) (fc1, exact GELU, fc2); layer norms with eps 1e-6."""

    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width, eps=1e-6), nn.LayerNorm(width, eps=1e-6)
        self.attention, self.mlp = Attention(width), Mlp(width, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def holding(name: str, shape: tuple[int, ...]) -> nn.Module:
    """A module holding one parameter ``name`` (the checkpoint's nesting of the embeddings)."""
    module = nn.Module()
    module.register_parameter(name, nn.Parameter(torch.empty(shape)))
    return module


class Encoder(nn.Module):
    """Position and scale embeddings, [CLS], the transformer blocks and the final norm; returns the normalised [CLS]."""

    def __init__(self, width: int, depth: int, hidden: int):
        super().__init__()
        self.posembed_input = holding("position_emb", (1, GRID * GRID, width))
        self.scaleembed_input = holding("scale_emb", (len(SIDES) + 1, width))
        self.cls = nn.Parameter(torch.empty(1, 1, width))
        self.transformer = nn.ModuleDict({f"encoderblock_{i}": Block(width, hidden) for i in range(depth)})
        self.encoder_norm = nn.LayerNorm(width, eps=1e-6)

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        x = tokens + self.posembed_input.position_emb[0, positions] + self.scaleembed_input.scale_emb[scales]
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], 1)
        for block in self.transformer.values():
            x = block(x)
        return self.encoder_norm(x[:, 0])


def hashed(count: int) -> torch.Tensor:
    """Grid rows (or columns) 0..GRID-1 for ``count`` patch rows (columns): torch's nearest resizing of the grid."""
    grid = torch.arange(GRID, dtype=torch.float32).reshape(1, 1, GRID)
    return F.interpolate(grid, size=count, mode="nearest").reshape(count).long()


def patches(view: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A view [N, 3, H, W] -> its patches [N, L, 3, PATCH, PATCH] in raster order and their hashed positions [L]."""
    x = same_pad(view, PATCH, PATCH)
    n, c, h, w = x.shape
    rows, cols = h // PATCH, w // PATCH
    cut = x.reshape(n, c, rows, PATCH, cols, PATCH).permute(0, 2, 4, 1, 3, 5).reshape(n, rows * cols, c, PATCH, PATCH)
    return cut, (hashed(rows)[:, None] * GRID + hashed(cols)[None, :]).reshape(-1)


def resized(x: torch.Tensor, side: int) -> torch.Tensor:
    """``x`` resized (bicubic, no antialias) so that its longer side is ``side``, the other Python-rounded."""
    h, w = x.shape[-2:]
    ratio = side / max(h, w)
    return F.interpolate(x, (round(h * ratio), round(w * ratio)), mode="bicubic", align_corners=False)


class Musiq(nn.Module):
    """Images [N, 3, H, W] in [0, 1] -> MUSIQ scores [N] (the SPAQ model: 0-100)."""

    def __init__(self, width: int, depth: int, hidden: int):
        super().__init__()
        self.conv_root, self.gn_root = StdConv(3, STEM, 7, 2), nn.GroupNorm(32, STEM, eps=1e-6)
        self.block1 = Bottleneck(STEM, 4 * STEM)
        self.embedding = nn.Linear(4 * STEM * (PATCH // 4) ** 2, width)
        self.transformer_encoder = Encoder(width, depth, hidden)
        self.head = nn.Linear(width, 1)

    def embed(self, cut: torch.Tensor) -> torch.Tensor:
        """Patches [N, L, 3, PATCH, PATCH] -> tokens [N, L, width] (the stem's features flattened rows, columns,
        channels)."""
        x = F.relu(self.gn_root(self.conv_root(cut.flatten(0, 1))))
        x = self.block1(F.max_pool2d(same_pad(x, 3, 2), 3, 2))
        return self.embedding(x.permute(0, 2, 3, 1).reshape(*cut.shape[:2], -1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - 0.5) * 2
        views = [resized(x, side) for side in SIDES] + [x]
        cuts, positions, scales = [], [], []
        for scale, view in enumerate(views):
            cut, position = patches(view)
            cuts.append(cut)
            positions.append(position)
            scales.append(torch.full_like(position, scale))
        tokens = self.embed(torch.cat(cuts, 1))
        device = tokens.device
        cls = self.transformer_encoder(tokens, torch.cat(positions).to(device), torch.cat(scales).to(device))
        return self.head(cls)[:, 0]


def load_musiq(path: Path, what: str, flag: str) -> Musiq:
    """MUSIQ from pyiqa's state_dict (``module.`` prefixes allowed), read weights-only, sized from its tensors."""
    state = state_dict_of(load_weights_only(path, what), what, path)
    state = {k.removeprefix("module."): v.float() for k, v in state.items()}
    needed = ("embedding.weight", "transformer_encoder.transformer.encoderblock_0.mlp.fc1.weight", "head.weight")
    if not all(k in state for k in needed):
        raise KfbenchError(
            f"{what} '{path}' holds no MUSIQ (embedding, transformer_encoder, head); pass one with {flag}"
        )
    width = state["embedding.weight"].shape[0]
    depth = len({k.split(".")[2] for k in state if k.startswith("transformer_encoder.transformer.")})
    hidden = state["transformer_encoder.transformer.encoderblock_0.mlp.fc1.weight"].shape[0]
    if width % HEAD_WIDTH:
        raise KfbenchError(f"{what} '{path}' is {width} wide, not a multiple of MUSIQ's {HEAD_WIDTH}-channel heads")
    published = f"MUSIQ as VBench runs it (32-pixel patches, a 1-output SPAQ head; pass one with {flag})"
    return build_loaded(lambda: Musiq(width, depth, hidden), state, path, what, published)
