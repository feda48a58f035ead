"""RIFE weights: Practical-RIFE's ``train_log/flownet.pkl`` (a pickled state_dict), read as data and checked.

The release saves its training wrapper's state_dict (keys ``module.block0...``) with torch.save and
loads it with ``load_state_dict(..., strict=False)``; here the file is read weights-only
(kfbench.utils.safeload: a pickle that would run code is refused in one line), the ``module.``
prefix is dropped, every key of the network must be present at its shape, and keys the network has
no use for are ignored, as the release's non-strict load ignores them. A safetensors file with the
same keys is accepted too.
"""

from __future__ import annotations

from pathlib import Path

import torch

from kfbench.errors import KfbenchError
from kfbench.methods.rife.network import VERSIONS, IFNet
from kfbench.methods.vfi.weights import layout_problems, read_tensors, without_prefix
from kfbench.utils.hub import require_file

WHAT = "RIFE flownet.pkl"


def expected_layout(version: str) -> IFNet:
    """An IFNet of ``version`` on the meta device: its state_dict gives the expected keys and shapes at no cost."""
    with torch.device("meta"):
        return IFNet(VERSIONS[version])


def fitting(state: dict[str, torch.Tensor], version: str) -> list[str]:
    """What keeps ``state`` from loading into ``version``'s IFNet (keys it does not use are fine); [] if nothing."""
    expected = expected_layout(version).state_dict()
    return layout_problems({k: v for k, v in state.items() if k in expected}, expected)


def load_rife(path: str | Path, version: str) -> IFNet:
    """A float32 IFNet of ``version`` in eval mode with the weights of ``path`` (keys and shapes checked)."""
    file = require_file(path, what=WHAT, flag="--checkpoint", source="option checkpoint")
    state = without_prefix(read_tensors(file, WHAT))
    problems = fitting(state, version)
    if problems:
        others = [v for v in VERSIONS if v != version and not fitting(state, v)]
        hint = (
            f"it fits --version {others[0]}"
            if others
            else "pass Practical-RIFE's train_log/flownet.pkl of 4.25 or 4.26"
        )
        raise KfbenchError(f"'{path}' is not a RIFE {version} flownet.pkl: {'; '.join(problems)}; {hint}")
    network = expected_layout(version)
    network.load_state_dict({k: state[k] for k in network.state_dict()}, strict=True, assign=True)
    return network.float().eval()


def save_release_format(network: IFNet, path: Path) -> Path:
    """Write ``network`` as the release does: torch.save of the training wrapper's state_dict (``module.`` keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({f"module.{k}": v for k, v in network.state_dict().items()}, path)
    return path


def make_tiny_rife(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Random-weight RIFE 4.25 at the real size (5.7 M parameters) as the release's flownet.pkl, for tests and demos."""
    torch.manual_seed(seed)
    return {"rife": save_release_format(IFNet(VERSIONS["4.25"]), Path(folder) / "rife" / "flownet.pkl")}
