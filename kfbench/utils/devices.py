"""The one rule for an unspecified device: the GPU when there is one, else the CPU."""

from __future__ import annotations

from kfbench.errors import KfbenchError


def resolve_device(device: str | None = None) -> str:
    """``device`` itself (checked), or for None / "auto" "cuda" when available, else "cpu"."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise KfbenchError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise KfbenchError(f"device '{device}' asked for, but this machine has no usable CUDA GPU; use --device cpu")
    return device
