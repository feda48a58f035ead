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
    channels_last: bool = False  # the UNet's 2-D convolution weights in channels-last memory format
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


# The levers the suite runs the SVD family with. Left out: bfloat16 (on the tiny CPU models it moves frames by
# 1.1 uint8 levels on average from float32, fp16 by 0.13; the precision tolerance is < 1.0) and VAE decode chunks
# (SVD's temporal decoder then sees fewer frames at once: different frames, not rounding). Both are swept.
FAST = Levers(dtype="float16", sdpa_rotation=True, fp32_softmax=False, channels_last=True, offload_idle=True)


def fast(device: str) -> Levers:
    """:data:`FAST`, without the CUDA-only offload on other devices."""
    return FAST if device.startswith("cuda") else dataclasses.replace(FAST, offload_idle=False)


# `kfbench bench --levers`: each cumulative step turns one more lever on;
# each variant changes one thing of the last step.
CUMULATIVE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("release", {}),
    ("+sdpa rotation", {"sdpa_rotation": True}),
    ("+no fp32 softmax", {"fp32_softmax": False}),
    ("+channels-last", {"channels_last": True}),
    ("+offload idle", {"offload_idle": True}),
    ("+compile", {"compile": True}),
    ("+cuda graphs", {"cuda_graphs": True}),
)
VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("bf16 instead of fp16", {"dtype": "bfloat16"}),
    ("decode chunk 8", {"decode_chunk": 8}),
)
GPU_ONLY = ("dtype", "offload_idle", "compile", "cuda_graphs")  # compile: inductor on CPU takes minutes


def sweep(device: str) -> list[tuple[str, Levers]]:
    """The sweep's configurations; on CPU: float32, and the GPU-only levers (and compile) left out."""
    cuda = device.startswith("cuda")
    steps, levers = [], Levers(dtype="float16" if cuda else "float32")
    for name, change in CUMULATIVE:
        change = change if cuda else {k: v for k, v in change.items() if k not in GPU_ONLY}
        if name == "release" or change:
            levers = dataclasses.replace(levers, **change)
            steps.append((name, levers))
    for name, change in VARIANTS:
        change = change if cuda else {k: v for k, v in change.items() if k not in GPU_ONLY}
        if change:
            steps.append((name, dataclasses.replace(levers, **change)))
    return steps


def apply(model: SVDModel, levers: Levers) -> None:
    """Switch the levers that live in the loaded model."""
    if levers.cuda_graphs and not levers.compile:
        raise KfbenchError(
            "the cuda_graphs lever needs compile (CUDA graphs come from torch.compile mode reduce-overhead)"
        )
    model.control.sdpa_rotation = levers.sdpa_rotation
    model.control.fp32_softmax = levers.fp32_softmax
    if levers.channels_last:
        for module in model.pipe.unet.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.to(memory_format=torch.channels_last)
    if levers.compile:
        model.pipe.unet.compile(mode="reduce-overhead" if levers.cuda_graphs else None)
