"""Reading a two-frame model's weights file as data and checking it against the network, key by key."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from kfbench.errors import KfbenchError
from kfbench.utils.safeload import load_weights_only, state_dict_of

_LISTED = 8


def read_tensors(file: Path, what: str) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, or of a ``torch.save``d state_dict (optionally under ``state_dict``).

    Pickles are read weights-only (kfbench.utils.safeload): one that would import code is refused in one line.
    """
    if file.suffix == ".safetensors":
        try:
            return load_file(file)
        except (SafetensorError, OSError, ValueError) as exc:
            raise KfbenchError(f"cannot read {what} '{file}' as safetensors ({type(exc).__name__}: {exc})") from None
    return state_dict_of(load_weights_only(file, what), what, file)


def without_prefix(state: dict[str, torch.Tensor], prefix: str = "module.") -> dict[str, torch.Tensor]:
    """Keys without a wrapper's prefix (DataParallel and DDP save ``module.``) where every key has it."""
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix) :]: v for k, v in state.items()}
    return state


def layout_problems(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> list[str]:
    """Missing, unexpected and wrongly shaped keys of ``state`` against ``expected``, a phrase per kind ([] if none)."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
        for k in sorted(set(state) & set(expected))
        if state[k].shape != expected[k].shape
    ]
    return [
        f"{len(items)} {label}: {', '.join(items[:_LISTED])}{', ...' if len(items) > _LISTED else ''}"
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
        if items
    ]
