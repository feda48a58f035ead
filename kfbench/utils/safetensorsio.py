"""Writing safetensors files whose bytes depend only on the tensors and the metadata.

safetensors keeps the ``__metadata__`` strings in a hash map, so a file with two or more metadata
entries comes out with its header in a different order from one process to the next. The header
is rewritten here with the metadata sorted by key; tensors keep safetensors' own (stable) order.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from kfbench.utils.atomicio import replacing

_ALIGN = 8  # safetensors pads its JSON header with spaces to a multiple of 8 bytes


def safetensors_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors serialisation of ``tensors`` with ``metadata``, its header in a canonical order."""
    from safetensors.torch import save

    data = save(tensors, metadata=metadata)
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    stored = header.pop("__metadata__", None)
    canonical = ({"__metadata__": dict(sorted(stored.items()))} if stored else {}) | header
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % _ALIGN)
    return len(text).to_bytes(8, "little") + text + data[8 + size :]


def save_safetensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> Path:
    """Write ``tensors`` to ``path`` atomically; the same tensors and metadata always give the same bytes."""
    with replacing(Path(path)) as tmp:
        tmp.write_bytes(safetensors_bytes(tensors, metadata))
    return Path(path)
