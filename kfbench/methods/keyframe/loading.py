"""Loading a diffusers keyframe pipeline: hub id or folder, checked model_index, safetensors only.

Nothing downloaded is executed: only configs, safetensors weights and tokenizer data files are
fetched, the folder passes the one check of every diffusers folder
(:func:`kfbench.utils.safeload.check_diffusers_folder`), ``trust_remote_code`` is never set and
``use_safetensors=True`` refuses pickled weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch

from kfbench.errors import KfbenchError
from kfbench.utils.dtypes import DTYPES as DTYPES  # the keyframe modules take the one table from here
from kfbench.utils.hub import resolve_model_dir
from kfbench.utils.quiet import loading
from kfbench.utils.safeload import check_diffusers_folder, first_line
from kfbench.utils.userfiles import read_json_object

# Configs, safetensors weights and tokenizer data (sentencepiece .model, vocab .txt); never pickles or code.
FETCHED_FILES = ["*.json", "*.safetensors", "*.model", "*.txt"]
Offload = Literal["none", "model", "sequential"]


def model_folder(model: str) -> Path:
    """The local folder of ``model`` (a folder, or a hub id fetched unless HF_HUB_OFFLINE=1)."""
    return resolve_model_dir(model, allow_patterns=FETCHED_FILES)


def read_json(path: Path, model: str) -> dict[str, Any]:
    if not path.is_file():
        raise KfbenchError(f"'{model}' is not a diffusers pipeline folder: {path} is missing; pass one with --model")
    return read_json_object(path, "config")


def read_model_index(folder: Path, model: str) -> dict[str, Any]:
    """model_index.json, after the one check every diffusers folder passes
    (kfbench.utils.safeload.check_diffusers_folder: diffusers or transformers components only, no code, no auto_map,
    safetensors weights)."""
    path = folder / "model_index.json"
    read_json(path, model)  # a missing folder or index says so first
    check_diffusers_folder(folder, "--model")
    return read_json(path, model)


def load_pipeline(
    pipeline_class: type,
    folder: Path,
    *,
    dtype: torch.dtype,
    float32_components: tuple[str, ...],
    device: str,
    cpu_offload: Offload,
    vae_tiling: bool,
    flow_shift: float | None,
    components: dict[str, Any] | None = None,
) -> Any:
    """The pipeline in ``folder`` (``components`` replacing some of its own) with ``float32_components``
    in float32 and the rest in ``dtype``, placed or offloaded."""
    dtypes = {**{name: torch.float32 for name in float32_components}, "default": dtype}
    try:
        with loading(f"{pipeline_class.__name__} from {folder}"):
            pipe = pipeline_class.from_pretrained(
                folder, dtype=dtypes, use_safetensors=True, local_files_only=True, **(components or {})
            )
    except Exception as exc:  # a header that lies, a config the weights do not fit: the folder's fault, one line
        raise KfbenchError(
            f"could not load {pipeline_class.__name__} from {folder}: {type(exc).__name__}: {first_line(exc)}"
        ) from None
    if flow_shift is not None:
        pipe.scheduler = with_flow_shift(pipe.scheduler, flow_shift)
    if cpu_offload == "none":
        pipe.to(device)
    elif cpu_offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.enable_sequential_cpu_offload(device=device)
    if vae_tiling:
        pipe.vae.enable_tiling()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def with_flow_shift(scheduler: Any, flow_shift: float) -> Any:
    """The same scheduler with its flow shift replaced (UniPC calls it flow_shift, FlowMatchEuler shift)."""
    key = next((k for k in ("flow_shift", "shift") if k in scheduler.config), None)
    if key is None:
        raise KfbenchError(f"{type(scheduler).__name__} has no flow shift; drop --flow-shift")
    return type(scheduler).from_config(scheduler.config, **{key: flow_shift})
