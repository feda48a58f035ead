"""Weights files built to run code when loaded (each builder proves it by loading the file unsafely once)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn


class RunsCommand:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


class WritesOnLoad(nn.Module):
    """A scripted module whose compiled __setstate__ (run by torch.jit.load) creates a file at ``marker``."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.weight = nn.Parameter(torch.ones(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight

    @torch.jit.export
    def __getstate__(self) -> tuple[str, torch.Tensor, bool]:
        return (self.marker, self.weight, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, torch.Tensor, bool]) -> None:
        self.marker = state[0]
        written = torch.from_file(self.marker, shared=True, size=2)  # creates the file
        self.weight = state[1] + written * 0
        self.training = state[2]


def hostile_pickle(folder: Path, marker: Path, name: str = "weights.pt") -> Path:
    path = folder / name
    torch.save({"features.0.weight": RunsCommand(marker)}, path)
    torch.load(path, weights_only=False)  # the unsafe load runs the command ...
    assert marker.exists()
    marker.unlink()  # ... so every loader below starts with no marker
    return path


def hostile_torchscript(folder: Path, marker: Path, name: str = "weights.pt") -> Path:
    path = folder / name
    torch.jit.save(torch.jit.script(WritesOnLoad(str(marker))), str(path))
    assert not marker.exists()
    torch.jit.load(str(path))  # torch.jit.load runs the archive's __setstate__ ...
    assert marker.exists()
    marker.unlink()
    return path
