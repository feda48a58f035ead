"""Temporal self-attention with recorded and 180-degree-rotated maps (paper Sec. 4.1).

One :class:`AttentionControl` is shared by the processors of every temporal self-attention layer
(``...temporal_transformer_blocks.0.attn1``: 16 in SVD). Per UNet call it says which weights to
use (the backward model's fine-tuned tensors or the layer's own), whether to record the
post-softmax maps, and at which layers to replace the map by the rotated recorded one. A
recorded map is dropped as soon as the layer that reads it has used it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

TEMPORAL_SELF_ATTENTION = "temporal_transformer_blocks.0.attn1"


def temporal_self_attention_layers(unet: nn.Module) -> list[str]:
    """Module names of the temporal self-attention layers, in forward order (down, mid, up)."""
    return [name for name, _ in unet.named_modules() if name.endswith(TEMPORAL_SELF_ATTENTION)]


def rotate_map(probs: torch.Tensor) -> torch.Tensor:
    """A'[..., N-1-j, N-1-k] = A[..., j, k]: flip both frame axes."""
    return torch.flip(probs, dims=(-2, -1))


@dataclass(frozen=True)
class Pass:
    """How one UNet call (or one half of a fused call) runs its temporal self-attention.

    ``weights`` maps a layer name to replacement projection tensors (e.g. ``"to_v.weight"``);
    ``record`` names the layers whose map is stored for a later pass; ``rotated`` names the layers that use the
    rotated map
    recorded by the previous recording pass instead of their own.
    """

    weights: dict[str, dict[str, torch.Tensor]] | None = None
    record: frozenset[str] = frozenset()
    rotated: frozenset[str] = frozenset()


@dataclass
class AttentionControl:
    """State shared by the processors for the duration of one UNet call."""

    passes: tuple[Pass, ...] = (Pass(),)
    maps: dict[str, torch.Tensor] = field(default_factory=dict)
    # release_compat: number of videos per direction whose temporal cross-attention context
    # is mixed as in diffusers 0.27 (None: the fixed, current behaviour).
    compat_group: int | None = None
    # GPU levers (kfbench.methods.svd.levers). sdpa_rotation: in a fused call, a recording forward half and its
    # rotated backward half run as one SDPA kernel, using rotate(softmax(Q K^T)) = softmax(flip(Q) flip(K)^T)
    # (frames flipped), so no map is materialised. fp32_softmax: recorded maps' softmax in float32.
    sdpa_rotation: bool = False
    fp32_softmax: bool = True

    @contextmanager
    def running(self, *passes: Pass, compat_group: int | None = None) -> Iterator[None]:
        """Configure the processors for one UNet call; several passes split the batch evenly (fused call)."""
        self.passes, self.compat_group = passes, compat_group
        try:
            yield
        finally:
            self.passes, self.compat_group = (Pass(),), None


def _linear(attn: nn.Module, name: str, x: torch.Tensor, weights: dict[str, torch.Tensor] | None) -> torch.Tensor:
    layer = attn.get_submodule(name)
    weight = layer.weight if weights is None or f"{name}.weight" not in weights else weights[f"{name}.weight"]
    bias = layer.bias if weights is None or f"{name}.bias" not in weights else weights[f"{name}.bias"]
    return F.linear(x, weight.to(x.device, x.dtype), None if bias is None else bias.to(x.device, x.dtype))


class TemporalSelfAttentionProcessor:
    """Processor for one temporal self-attention layer (hidden states [batch*H*W, N, C])."""

    def __init__(self, layer: str, control: AttentionControl) -> None:
        self.layer = layer
        self.control = control

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        if encoder_hidden_states is not None or attention_mask is not None:
            raise RuntimeError(f"{self.layer}: temporal self-attention got a context or a mask")
        passes = self.control.passes
        chunks = hidden_states.chunk(len(passes)) if len(passes) > 1 else (hidden_states,)
        if (
            self.control.sdpa_rotation
            and len(passes) == 2
            and self.layer in passes[0].record
            and self.layer in passes[1].rotated
        ):
            return self._attend_rotated_pair(attn, chunks, passes)
        outputs = []
        for part, spec in zip(chunks, passes):
            outputs.append(self._attend(attn, part, spec))
        return torch.cat(outputs) if len(outputs) > 1 else outputs[0]

    def _attend(self, attn, x: torch.Tensor, spec: Pass) -> torch.Tensor:
        weights = None if spec.weights is None else spec.weights.get(self.layer)
        value = _heads(attn, _linear(attn, "to_v", x, weights))
        if self.layer in spec.rotated:
            probs = rotate_map(self.control.maps.pop(self.layer))
            out = probs.to(value.dtype) @ value
        else:
            query = _heads(attn, _linear(attn, "to_q", x, weights))
            key = _heads(attn, _linear(attn, "to_k", x, weights))
            if self.layer in spec.record:
                scores = query @ key.transpose(-1, -2)
                probs = torch.softmax(
                    (scores.float() if self.control.fp32_softmax else scores) * attn.scale, dim=-1
                ).to(value.dtype)
                self.control.maps[self.layer] = probs
                out = probs @ value
            else:
                out = F.scaled_dot_product_attention(query, key, value, scale=attn.scale)
        return _project_out(attn, out, weights)

    def _attend_rotated_pair(self, attn, chunks: tuple[torch.Tensor, ...], passes: tuple[Pass, ...]) -> torch.Tensor:
        """Forward half (own map) and backward half (forward's rotated map) in one SDPA call; no map is stored."""
        (forward, backward), (spec_f, spec_b) = chunks, passes
        weights_f = None if spec_f.weights is None else spec_f.weights.get(self.layer)
        weights_b = None if spec_b.weights is None else spec_b.weights.get(self.layer)
        query, key = (_heads(attn, _linear(attn, name, forward, weights_f)) for name in ("to_q", "to_k"))
        values = [_heads(attn, _linear(attn, "to_v", x, w)) for x, w in ((forward, weights_f), (backward, weights_b))]
        frames = (2,)  # [rows, heads, frames, head_dim]
        out = F.scaled_dot_product_attention(
            torch.cat([query, torch.flip(query, frames)]),
            torch.cat([key, torch.flip(key, frames)]),
            torch.cat(values),
            scale=attn.scale,
        )
        out_f, out_b = out.chunk(2)
        return torch.cat([_project_out(attn, out_f, weights_f), _project_out(attn, out_b, weights_b)])


def _heads(attn, x: torch.Tensor) -> torch.Tensor:
    """[rows, frames, heads * d] -> [rows, heads, frames, d]."""
    rows, frames, _ = x.shape
    return x.view(rows, frames, attn.heads, -1).transpose(1, 2)


def _project_out(attn, out: torch.Tensor, weights: dict[str, torch.Tensor] | None) -> torch.Tensor:
    """[rows, heads, frames, d] -> output projection and dropout, rescaled: [rows, frames, C]."""
    rows, _, frames, _ = out.shape
    out = _linear(attn, "to_out.0", out.transpose(1, 2).reshape(rows, frames, -1), weights)
    return attn.to_out[1](out) / attn.rescale_output_factor


class OldTemporalContextProcessor:
    """diffusers-0.27 temporal cross-attention context order, for comparing with published numbers.

    diffusers 0.27 built the per-location context in (spatial, batch) order and paired it with
    hidden states in (batch, spatial) order, so row r of a call with B videos attended to video
    ``r mod B``'s image embedding. Each group of ``compat_group`` videos is one such call.
    """

    def __init__(self, inner) -> None:
        self.inner = inner
        self.control: AttentionControl | None = None

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        group = None if self.control is None else self.control.compat_group
        if group is not None and encoder_hidden_states is not None:
            encoder_hidden_states = mix_context_as_0_27(encoder_hidden_states, group, len(self.control.passes))
        return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)


def mix_context_as_0_27(context: torch.Tensor, group: int, calls: int) -> torch.Tensor:
    """Reorder a correct context [B*HW, T, C] into what diffusers 0.27 paired with each row."""
    rows = context.shape[0]
    videos = group * calls
    per_video = rows // videos
    first = context[::per_video]  # one context per video, in batch order
    local = torch.arange(rows // calls, device=context.device) % group
    index = torch.cat([call * group + local for call in range(calls)])
    return first[index]


def install(unet: nn.Module, control: AttentionControl, *, release_compat: bool = False) -> list[str]:
    """Put the kfbench processors on every temporal self-attention layer; returns their names."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    layers = temporal_self_attention_layers(unet)
    for name in layers:
        unet.get_submodule(name).set_processor(TemporalSelfAttentionProcessor(name, control))
        cross = unet.get_submodule(name[: -len("attn1")] + "attn2")
        processor = OldTemporalContextProcessor(AttnProcessor2_0()) if release_compat else AttnProcessor2_0()
        if release_compat:
            processor.control = control
        cross.set_processor(processor)
    return layers
