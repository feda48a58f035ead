"""AMT weights: the release's ``amt-s.pth`` / ``amt-l.pth`` / ``amt-g.pth``, read as data and checked strictly.

The release's trainer saves ``torch.save(OrderedDict(epoch=..., state_dict=model.state_dict(), optim=...))``
and its demos load ``ckpt['state_dict']`` strictly; here the file is read weights-only
(kfbench.utils.safeload: a pickle that would run code is refused in one line), the ``state_dict`` entry
taken, a ``module.`` prefix (a DistributedDataParallel model's) dropped, and keys and shapes checked
against the variant's network. A safetensors file with the same keys is accepted too.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch

from kfbench.errors import KfbenchError
from kfbench.methods.amt.network import AMT, VARIANTS
from kfbench.methods.vfi.weights import layout_problems, read_tensors, without_prefix
from kfbench.utils.hub import require_file

WHAT = "AMT checkpoint"


def expected_layout(variant: str) -> AMT:
    """An AMT ``variant`` on the meta device: its state_dict gives the expected keys and shapes at no cost."""
    with torch.device("meta"):
        return AMT(VARIANTS[variant])


def load_amt(path: str | Path, variant: str) -> AMT:
    """A float32 AMT ``variant`` in eval mode with the weights of ``path``, checked key by key and shape by shape."""
    file = require_file(path, what=WHAT, flag="--checkpoint", source="option checkpoint")
    state = without_prefix(read_tensors(file, WHAT))
    network = expected_layout(variant)
    problems = layout_problems(state, network.state_dict())
    if problems:
        others = [v for v in VARIANTS if v != variant and not layout_problems(state, expected_layout(v).state_dict())]
        hint = (
            f"it is an {others[0]} file: pass --variant {others[0]}" if others else "pass the release's amt-s/l/g.pth"
        )
        raise KfbenchError(f"'{path}' is not an {variant} checkpoint: {'; '.join(problems)}; {hint}")
    network.load_state_dict(state, strict=True, assign=True)
    return network.float().eval()


def save_release_format(network: AMT, path: Path, epoch: int = 299) -> Path:
    """Write ``network`` as the release's trainer does: torch.save of an OrderedDict of epoch, state_dict and optim."""
    path.parent.mkdir(parents=True, exist_ok=True)
    optim = torch.optim.AdamW(network.parameters(), lr=2e-4, weight_decay=0.0).state_dict()
    torch.save(OrderedDict(epoch=epoch, state_dict=network.state_dict(), optim=optim), path)
    return path


def make_tiny_amt(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Random-weight AMT-S at the real size (3.0 M parameters) as the release's amt-s.pth, for tests and demos."""
    torch.manual_seed(seed)
    return {"amt": save_release_format(AMT(VARIANTS["AMT-S"]), Path(folder) / "amt" / "amt-s.pth")}
