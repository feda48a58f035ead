"""Reading a published checkpoint without executing it: torch.load(weights_only=True) or safetensors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kfbench.errors import KfbenchError
from kfbench.utils import safeload


def load_weights_only(path: Path, what: str) -> Any:
    """The contents of a checkpoint file: a .safetensors file, or a torch file unpickling tensors only."""
    if path.suffix != ".safetensors":
        return safeload.load_weights_only(path, f"{what} file")
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # a truncated or foreign file
        raise KfbenchError(f"cannot read {what} file '{path}' ({safeload.first_line(exc)}); re-download it") from None


def state_dict_in(
    checkpoint: Any, keys: tuple[str, ...], prefixes: tuple[str, ...], path: Path, what: str
) -> dict[str, torch.Tensor]:
    """The state dict under the first of ``keys`` present (or the checkpoint itself), ``prefixes`` removed."""
    if not isinstance(checkpoint, dict):
        raise KfbenchError(f"{what} file '{path}' holds a {type(checkpoint).__name__}, not a state dict")
    state = next((checkpoint[k] for k in keys if isinstance(checkpoint.get(k), dict)), checkpoint)
    out = {}
    for key, value in state.items():
        for prefix in prefixes:
            key = key.replace(prefix, "")
        out[key] = value
    if not all(isinstance(v, torch.Tensor) for v in out.values()):
        raise KfbenchError(f"{what} file '{path}' is not a state dict of tensors (looked under {', '.join(keys)})")
    return out


def load_exactly(
    module: nn.Module, state: dict[str, torch.Tensor], path: Path, what: str, *, ignore: tuple[str, ...] = ()
) -> None:
    """Load ``state`` into ``module``; every module tensor must be given and every given tensor used (bar ``ignore``
    prefixes)."""
    used = {k: v for k, v in state.items() if not k.startswith(ignore)}
    try:
        result = module.load_state_dict(used, strict=False)
    except RuntimeError as exc:
        reason = str(exc).splitlines()[-1].strip()
        raise KfbenchError(f"{what} file '{path}' does not fit the network its shapes describe ({reason})") from None
    if result.missing_keys or result.unexpected_keys:
        raise KfbenchError(
            f"{what} file '{path}' does not have the published layout: missing {result.missing_keys[:3]}, "
            f"unexpected {result.unexpected_keys[:3]}"
        )


def require(state: dict[str, torch.Tensor], key: str, path: Path, what: str) -> torch.Tensor:
    """``state[key]``, or a one-line error naming the file."""
    if key not in state:
        raise KfbenchError(f"{what} file '{path}' has no '{key}' tensor; it is not the published checkpoint")
    return state[key]


def build_loaded(
    build: Callable[[], nn.Module], state: dict[str, torch.Tensor], path: Path, what: str, published: str
) -> nn.Module:
    """``build()``'s network made on the meta device (no random initialisation) holding exactly ``state``'s tensors,
    in eval mode; a file of another layout is one line naming it and the ``published`` file it should be."""
    with torch.device("meta"):
        network = build()
    try:
        network.load_state_dict(state, assign=True)
    except RuntimeError as exc:
        problem = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), safeload.first_line(exc))
        raise KfbenchError(f"{what} '{path}' is not {published} ({problem})") from None
    return network.eval()
