"""Finding, reading (weights-only) and strictly loading DynamiCrafter checkpoints; the converter.

A checkpoint is the released ``model.ckpt`` (``{"state_dict": ...}``), or a safetensors file of the
same state_dict. Its model configuration is :data:`RELEASE_CONFIG` unless a
``dynamicrafter_config.json`` lies beside the weights (tiny test models do this).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal

import torch

from kfbench.errors import KfbenchError
from kfbench.methods.dynamicrafter.model import (
    DynamiCrafter,
    build_model,
    release_config,
)
from kfbench.utils.dtypes import DTYPES
from kfbench.utils.hub import resolve_model_dir
from kfbench.utils.safeload import load_weights_only, state_dict_of
from kfbench.utils.safetensorsio import save_safetensors

CONFIG_NAME = "dynamicrafter_config.json"
WEIGHT_NAMES = ("model.safetensors", "model.ckpt")
# Older checkpoints name the frame-stride embedding differently; the release renames on load.
RENAMES = {"framestride_embed": "fps_embedding"}
WHAT = "DynamiCrafter checkpoint"
# open_clip tower options that fetch or build a model from elsewhere (Hugging Face, timm).
OUTSIDE_MODELS = ("hf_model_name", "hf_tokenizer_name", "timm_model_name")


def locate(checkpoint: str) -> tuple[Path, dict[str, Any]]:
    """(weights file, model config) for a file, a folder holding ``model.ckpt``/``model.safetensors``, or a hub id."""
    path = Path(checkpoint).expanduser()
    if not path.exists():
        path = resolve_model_dir(checkpoint, flag="--checkpoint", allow_patterns=[*WEIGHT_NAMES, CONFIG_NAME])
    if path.is_dir():
        found = [path / name for name in WEIGHT_NAMES if (path / name).is_file()]
        if not found:
            raise KfbenchError(
                f"no {' or '.join(WEIGHT_NAMES)} in '{path}'; pass the released model.ckpt "
                "(Doubiiu/DynamiCrafter_512_Interp) or its folder with --checkpoint"
            )
        path = found[0]
    config_file = path.parent / CONFIG_NAME
    if not config_file.is_file():
        return path, release_config()
    try:
        config = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KfbenchError(f"{config_file} is not valid JSON ({exc}); fix or remove it") from None
    check_config(config, config_file)
    return path, config


def check_config(config: Any, source: Path) -> None:
    """A model config builds only kfbench's own modules: no hub or timm models named inside ``clip_config``."""
    clip = config.get("clip_config") if isinstance(config, dict) else None
    if not isinstance(config, dict) or not isinstance(clip, dict):
        raise KfbenchError(
            f"{source} is not a DynamiCrafter model config (a JSON object with clip_config); fix or remove it"
        )
    towers = [clip.get("vision_cfg"), clip.get("text_cfg")]
    named = sorted(k for tower in towers if isinstance(tower, dict) for k in OUTSIDE_MODELS if tower.get(k))
    if named:
        raise KfbenchError(
            f"{source}: clip_config sets {', '.join(named)}, which would fetch or build outside models; "
            "kfbench builds the OpenCLIP towers itself from the checkpoint; remove those keys"
        )


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state_dict of a ``.ckpt``/``.pt`` (loaded weights-only) or ``.safetensors`` file, renames applied."""
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise KfbenchError(
                f"cannot read {WHAT} '{path}' as safetensors ({type(exc).__name__}: {exc}); re-download it"
            ) from None
    else:
        state = state_dict_of(_without_deepspeed_wrapper(load_weights_only(path, WHAT, mmap=True)), WHAT, path)
    return {_rename(key): value for key, value in state.items()}


DEEPSPEED_PREFIX = "_forward_module."


def _without_deepspeed_wrapper(loaded: Any) -> Any:
    """A DeepSpeed (Lightning) checkpoint ``{"module": {"_forward_module." + key: tensor}}`` as the plain state_dict
    the release's loader takes from it; anything else unchanged."""
    module = loaded.get("module") if isinstance(loaded, dict) else None
    if (
        isinstance(module, dict)
        and module
        and all(isinstance(k, str) and k.startswith(DEEPSPEED_PREFIX) for k in module)
    ):
        return {k[len(DEEPSPEED_PREFIX) :]: v for k, v in module.items()}
    return loaded


def _rename(key: str) -> str:
    for old, new in RENAMES.items():
        key = key.replace(old, new)
    return key


def load_model(checkpoint: str) -> DynamiCrafter:
    """The model of ``checkpoint`` with every entry loaded strictly (no weights initialised first)."""
    path, config = locate(checkpoint)
    state = read_state_dict(path)
    try:
        model = build_model(config, empty=True)
    except Exception as exc:  # any error building from a user's config file is that file's fault
        raise KfbenchError(f"bad DynamiCrafter model config for {path}: {type(exc).__name__}: {exc}") from None
    load_strict(model, state, str(path))
    return model


def load_strict(model: DynamiCrafter, state: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True, assign=True)`` with a one-line error on any mismatch."""
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        expected = set(model.state_dict())
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        detail = f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]})"
        if not missing and not unexpected:
            detail = str(exc).splitlines()[-1].strip()
        raise KfbenchError(
            f"{source} does not match the DynamiCrafter model of its config: {detail}; "
            f"pass the released dynamicrafter_512_interp_v1 model.ckpt, or put a matching {CONFIG_NAME} beside it"
        ) from None


def convert_checkpoint(src: str, dst: Path, *, dtype: Literal["float32", "float16", "bfloat16"] = "float32") -> Path:
    """Write the checkpoint ``src`` as safetensors (release key names, checked strictly) at ``dst``.

    ``dst`` is a file ``*.safetensors`` or a folder that receives ``model.safetensors``; the source's
    config file, if any, is copied beside it. ``dtype`` casts the network weights; schedule buffers stay float32.
    """

    path, config = locate(src)
    state = read_state_dict(path)
    load_strict(build_model(config, empty=True), dict(state), str(path))
    target = DTYPES[dtype]
    # Top-level entries (no dot) are the schedule buffers: kept float32 as released.
    tensors = {k: (v.to(target) if "." in k and v.is_floating_point() else v).contiguous() for k, v in state.items()}
    dst = Path(dst)
    if dst.suffix != ".safetensors":
        dst = dst / "model.safetensors"
    dst.parent.mkdir(parents=True, exist_ok=True)
    if (path.parent / CONFIG_NAME).is_file():
        shutil.copyfile(path.parent / CONFIG_NAME, dst.parent / CONFIG_NAME)
    save_safetensors(tensors, dst, {"format": "pt", "source": str(path)})
    return dst
