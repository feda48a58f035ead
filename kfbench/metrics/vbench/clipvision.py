"""OpenAI CLIP's image tower (ViT-B/32, ViT-L/14), sized from its weights, read without running the file's code.

The published files (``ViT-B-32.pt``, ``ViT-L-14.pt``) are TorchScript archives: their tensors are read as
data (``kfbench.utils.safeload.read_torchscript``); a plain state_dict of the same names is read weights-only.
Width, depth, patch size and grid come from the tensors; the heads are width / 64, as OpenAI's ``build_model``
sets them. Computed in float32 (what ``clip.load`` gives on a CPU).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from kfbench.errors import KfbenchError
from kfbench.metrics.checkpoint import build_loaded
from kfbench.utils.safeload import is_torchscript, load_weights_only, read_torchscript, state_dict_of

PREFIX = "visual."


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualBlock(nn.Module):
    """x + attn(ln_1(x)), then x + mlp(ln_2(x)); OpenAI's layer names."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, 4 * width))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class ClipVision(nn.Module):
    """Images [N, 3, S, S] (CLIP-normalised) -> image embeddings [N, D] (``encode_image``, not normalised)."""

    def __init__(self, state: dict[str, torch.Tensor]):
        super().__init__()
        width, _, patch, _ = state["conv1.weight"].shape
        depth = len({k.split(".")[2] for k in state if k.startswith("transformer.resblocks.")})
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(width))
        self.positional_embedding = nn.Parameter(torch.empty(state["positional_embedding"].shape))
        self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.Sequential(*(ResidualBlock(width, width // 64) for _ in range(depth)))
        self.proj = nn.Parameter(torch.empty(state["proj"].shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x).flatten(2).transpose(1, 2)
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], 1) + self.positional_embedding.to(x.dtype))
        x = self.transformer.resblocks(x)
        return self.ln_post(x[:, 0]) @ self.proj


def load_clip_vision(path: Path, what: str, flag: str) -> ClipVision:
    """CLIP's image tower from OpenAI's TorchScript file (tensors read as data) or a state_dict of its names."""
    if is_torchscript(path):
        tensors = read_torchscript(path, what)
    else:
        tensors = state_dict_of(load_weights_only(path, what), what, path)
    state = {k.removeprefix(PREFIX): v.float() for k, v in tensors.items() if k.startswith(PREFIX)}
    needed = ("conv1.weight", "positional_embedding", "proj", "transformer.resblocks.0.attn.in_proj_weight")
    if not all(k in state for k in needed):
        raise KfbenchError(
            f"{what} '{path}' holds no OpenAI CLIP image tower (visual.*); pass the right file with {flag}"
        )
    return build_loaded(lambda: ClipVision(state), state, path, what, f"an OpenAI CLIP file (pass one with {flag})")
