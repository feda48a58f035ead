"""Speed and memory levers of the SVD family on a GPU, each a switch that `kfbench bench --levers` measures.

Some are method options (dtype, cpu_offload, decode_chunk_size); the rest are applied to the loaded
model (:func:`apply`). None changes what is computed beyond floating-point rounding; the tests
compare each against the float32 reference path on CPU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from kfbench.errors import KfbenchError
from kfbench.methods.svd.model import SVDModel


@dataclass(frozen=True)
class Levers:
    """One configuration of the levers (defaults: the release's way, in fp16)."""

    dtype: str = "float16"  # float16 | bfloat16 (| float32 on CPU)
    sdpa_rotation: bool = False  # fused call: forward + rotated backward temporal attention as one SDPA kernel
    fp32_softmax: bool = True  # recorded maps' softmax up-cast to float32 (off: in the compute dtype)
    channels_last: bool = False  # UNet weights in channels-last memory format
    compile: bool = False  # torch.compile of the UNet (one graph for the fused batch)
    cuda_graphs: bool = False  # compile with mode="reduce-overhead" (CUDA graphs); needs compile
    offload_idle: bool = False  # image encoder and VAE on the CPU while the UNet samples (diffusers model offload)
    decode_chunk: int | None = None  # VAE decode frames per chunk (None: all at once)

    def method_options(self, names: set[str]) -> dict[str, Any]:
        """The levers that are options of the method (``names``: its option names)."""
        options = {"dtype": self.dtype, "cpu_offload": self.offload_idle, "decode_chunk_size": self.decode_chunk}
        return {k: v for k, v in options.items() if k in names and (k != "cpu_offload" or v)}

    def label(self) -> str:
        changed = [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != f.default]
        return ", ".join(f"{n}={getattr(self, n)}" for n in changed) or "release (fp16, maps, eager)"


FAST = Levers(dtype="bfloat16", sdpa_rotation=True, fp32_softmax=False, channels_last=True, offload_idle=True, decode_chunk=8)

# The cumulative sweep of `kfbench bench --levers`: each step turns one more lever on.
SWEEP: tuple[tuple[str, dict[str, Any]], ...] = (
    ("release", {}),
    ("+bf16", {"dtype": "bfloat16"}),
    ("+sdpa rotation", {"sdpa_rotation": True}),
    ("+no fp32 softmax", {"fp32_softmax": False}),
    ("+channels-last", {"channels_last": True}),
    ("+decode chunk 8", {"decode_chunk": 8}),
    ("+offload idle", {"offload_idle": True}),
    ("+compile", {"compile": True}),
    ("+cuda graphs", {"cuda_graphs": True}),
)


def sweep(device: str) -> list[tuple[str, Levers]]:
    """The cumulative configurations; on CPU float32 stands for the 16-bit dtypes and GPU-only levers are left out."""
    steps, levers = [], Levers(dtype="float16" if device.startswith("cuda") else "float32")
    for name, change in SWEEP:
        if not device.startswith("cuda"):
            change = {k: v for k, v in change.items() if k not in ("dtype", "offload_idle", "cuda_graphs")}
            if name != "release" and not change:
                continue
        levers = dataclasses.replace(levers, **change)
        steps.append((name, levers))
    return steps


def apply(model: SVDModel, levers: Levers) -> None:
    """Switch the levers that live in the loaded model."""
    if levers.cuda_graphs and not levers.compile:
        raise KfbenchError("the cuda_graphs lever needs compile (CUDA graphs come from torch.compile mode reduce-overhead)")
    model.control.sdpa_rotation = levers.sdpa_rotation
    model.control.fp32_softmax = levers.fp32_softmax
    if levers.channels_last:
        model.pipe.unet.to(memory_format=torch.channels_last)
    if levers.compile:
        model.pipe.unet.compile(mode="reduce-overhead" if levers.cuda_graphs else None)
