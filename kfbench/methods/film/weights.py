"""FILM weights: read the port's TorchScript release or a state_dict/safetensors file, check it strictly, convert.

Accepted files: the PyTorch port's TorchScript models (``film_net_fp32.pt``, ``film_net_fp16.pt``, in the
current layout or the one before its 2023-11-21 ``util.conv`` change, see :func:`old_layout_names`;
their tensors are read as data by kfbench.utils.safeload, the scripted code is not run unless
``allow_torchscript_code``), a ``torch.save``d state_dict (optionally under a ``state_dict`` key,
loaded weights-only), or the safetensors file ``kfbench convert-checkpoint --method film`` writes.
"""

from __future__ import annotations

from pathlib import Path

import torch

from kfbench.errors import KfbenchError
from kfbench.methods.film.network import Conv, FilmNet
from kfbench.methods.vfi.weights import layout_problems, read_tensors
from kfbench.utils.hub import require_file
from kfbench.utils.safeload import is_torchscript, read_torchscript, run_torchscript
from kfbench.utils.safetensorsio import save_safetensors

WHAT = "FILM checkpoint"


def read_state_dict(path: str | Path, *, allow_torchscript_code: bool = False) -> dict[str, torch.Tensor]:
    """Tensors of a FILM weights file, whatever its container (TorchScript, torch.save, safetensors).

    A TorchScript file is read as data; only ``allow_torchscript_code`` loads it with torch.jit.load (its code runs).
    """
    file = require_file(path, what=WHAT, flag="--checkpoint", source="option checkpoint")
    if file.suffix != ".safetensors" and is_torchscript(file):
        if allow_torchscript_code:
            return dict(run_torchscript(file, WHAT).state_dict())
        return read_torchscript(file, WHAT)
    return read_tensors(file, WHAT)


def check_state_dict(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], source: str) -> None:
    """Raise a KfbenchError listing missing, unexpected and wrongly shaped keys, if any."""
    problems = layout_problems(state, expected)
    if problems:
        raise KfbenchError(
            f"'{source}' is not a FILM (film_net Style) checkpoint: {'; '.join(problems)}; "
            "pass the port's film_net_fp32.pt or a file from `kfbench convert-checkpoint --method film`"
        )


def old_layout_names() -> dict[str, str]:
    """Old name -> current name of the 16 tensors the port named differently before its 2023-11-21 ``util.conv`` change.

    Its v1.0.0-era files hold the convolutions without an activation (each level's first fusion
    convolution, each flow predictor's last) as bare Conv2d modules: ``fuse.convs.0.0.weight`` for
    today's ``fuse.convs.0.0.0.weight``, ``predict_flow._predictor._convs.4.weight`` for
    ``..._convs.4.0.weight``. Shapes and numerics are the same.
    """
    names = {}
    for name, module in expected_layout().named_modules():
        if isinstance(module, Conv) and not module.activate:
            names.update({f"{name}.{p}": f"{name}.0.{p}" for p in ("weight", "bias")})
    return names


def with_current_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with a pre-2023-11-21 file's names (all 16 of them, nothing else old) mapped to today's."""
    old = old_layout_names()
    if not old.keys() <= state.keys() or set(old.values()) & state.keys():
        return state
    return {old.get(k, k): v for k, v in state.items()}


def load_film(path: str | Path, *, allow_torchscript_code: bool = False) -> FilmNet:
    """A float32 FilmNet in eval mode with the weights of ``path`` (either layout), checked key by key and shape by
    shape."""
    state = with_current_names(read_state_dict(path, allow_torchscript_code=allow_torchscript_code))
    network = expected_layout()
    check_state_dict(state, network.state_dict(), str(path))
    network.load_state_dict(state, strict=True, assign=True)
    return network.float().eval()


def expected_layout() -> FilmNet:
    """A FilmNet on the meta device: its state_dict gives the expected keys and shapes at no cost."""
    with torch.device("meta"):
        return FilmNet()


def convert_film(src: str, dst: Path, *, allow_torchscript_code: bool = False) -> Path:
    """`kfbench convert-checkpoint --method film SRC DST`: any accepted FILM file -> float32 safetensors."""
    state = with_current_names(read_state_dict(src, allow_torchscript_code=allow_torchscript_code))
    check_state_dict(state, expected_layout().state_dict(), src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    return save_safetensors(
        {k: v.float().contiguous() for k, v in state.items()}, dst, {"format": "pt", "model": "film_net"}
    )


def make_tiny_film(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Random-weight FILM at the real size (34.4 M parameters) as float32 safetensors, for tests."""
    torch.manual_seed(seed)
    path = Path(folder) / "film" / "film_net_random.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_safetensors({k: v.contiguous() for k, v in FilmNet().state_dict().items()}, path)
    return {"film": path}
