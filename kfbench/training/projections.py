"""The backward model's trainable projection weights, held apart from the frozen UNet they start from.

The UNet exists once: the forward (frozen) model is the UNet itself, and the backward model is
the same UNet with these tensors injected through the attention processors' per-pass weights.
Only weights are trained (the release's biases stay the base model's).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from kfbench.errors import KfbenchError
from kfbench.methods.svd.loading import COMPACT_FORMAT, FineTuned, expected_weights
from kfbench.utils.safetensorsio import save_safetensors

VARIANT_TENSORS: dict[str, FineTuned] = {"ours": "vo", "wo-ra": "qkvo"}
VARIANT_METHODS = {"ours": "ours", "wo-ra": "ours-wo-ra"}


class Projections(nn.Module):
    """W_v, W_o (``vo``) or W_q, W_k, W_v, W_o (``qkvo``) of every temporal self-attention layer, in float32."""

    def __init__(self, unet: nn.Module, layers: list[str], tensors: FineTuned) -> None:
        super().__init__()
        self.tensors = tensors
        self.names = expected_weights(layers, tensors)
        self.layers = layers
        params = dict(unet.named_parameters())
        missing = [n for n in self.names if n not in params]
        if missing:
            raise KfbenchError(
                f"the base model's temporal self-attention layers lack {', '.join(missing[:4])}; is it an SVD "
                "img2vid model?"
            )
        self.weights = nn.ParameterList(nn.Parameter(params[n].detach().float().clone()) for n in self.names)
        self.initial = {n: params[n].detach().float().cpu().clone() for n in self.names}
        # The frozen UNet is held outside the module tree: DDP syncs these tensors only.
        self._unet = (unet,)

    def by_layer(self) -> dict[str, dict[str, torch.Tensor]]:
        """{layer: {"to_v.weight": tensor, ...}}: the per-pass weights the attention processors take."""
        out: dict[str, dict[str, torch.Tensor]] = {}
        for name, weight in zip(self.names, self.weights):
            layer = next(layer for layer in self.layers if name.startswith(layer + "."))
            out.setdefault(layer, {})[name[len(layer) + 1 :]] = weight
        return out

    def forward(self, **unet_inputs: torch.Tensor) -> torch.Tensor:
        """The UNet's output; the caller configures the pass (these weights, rotated maps) beforehand."""
        return self._unet[0](**unet_inputs, return_dict=False)[0]

    def deltas(self) -> dict[str, torch.Tensor]:
        """Trained minus initial weights, by UNet tensor name (what the compact checkpoint holds)."""
        return {n: (w.detach().float().cpu() - self.initial[n]).contiguous() for n, w in zip(self.names, self.weights)}

    def save_compact(self, path: Path, *, base_model: str, step: int) -> Path:
        """Write the compact delta checkpoint that `ours` / `ours-wo-ra` load with --checkpoint."""
        metadata = {
            "format": COMPACT_FORMAT,
            "tensors": self.tensors,
            "source": "kfbench train",
            "checkpoint_base": base_model,
            "step": str(step),
        }
        return save_safetensors(self.deltas(), path, metadata)
