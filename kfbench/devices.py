"""The one rule for an unspecified device: the GPU when there is one, else the CPU."""

from __future__ import annotations


def resolve_device(device: str | None = None) -> str:
    """``device`` itself, or for None / "auto" "cuda" when available, else "cpu"."""
    if device not in (None, "auto"):
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
