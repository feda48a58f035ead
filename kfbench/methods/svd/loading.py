"""Loading SVD and the backward model's fine-tuned tensors (released UNet folder or compact deltas).

The backward model is the base UNet with a few temporal self-attention tensors replaced. Only
those tensors are kept (as base + delta); the rest of the UNet exists once, shared by both directions.

- Released layout (the paper's release): a diffusers UNet folder fine-tuned from SVD img2vid.
  For every tensor whose name contains ``temporal_transformer_blocks.0.attn1.to_v`` or
  ``...attn1.to_out.0`` (plus ``to_q``/``to_k`` for w/o RA), the delta fine-tuned minus img2vid
  (``checkpoint_base``) is added to the base model's tensor.
- Compact: one safetensors file holding those deltas under the UNet's tensor names
  (``kfbench convert-checkpoint --method ours SRC DST`` writes it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch
from safetensors import SafetensorError, safe_open

from kfbench.errors import KfbenchError
from kfbench.methods.svd.attention import TEMPORAL_SELF_ATTENTION
from kfbench.utils.hub import is_hub_id, resolve_model_dir
from kfbench.utils.quiet import loading
from kfbench.utils.safeload import check_diffusers_folder, first_line
from kfbench.utils.safetensorsio import save_safetensors

DEFAULT_MODEL = "stabilityai/stable-video-diffusion-img2vid-xt"
DEFAULT_CHECKPOINT_BASE = "stabilityai/stable-video-diffusion-img2vid"
COMPACT_FORMAT = "kfbench-svd-unet-delta"
UNET_WEIGHTS = "diffusion_pytorch_model.safetensors"

FineTuned = Literal["vo", "qkvo"]
PROJECTIONS = {"vo": ("to_v", "to_out.0"), "qkvo": ("to_q", "to_k", "to_v", "to_out.0")}


def is_finetuned_name(name: str, tensors: FineTuned) -> bool:
    """The release's rule: a tensor is fine-tuned when its name contains one of these prefixes."""
    return any(f"{TEMPORAL_SELF_ATTENTION}.{p}." in name for p in PROJECTIONS[tensors])


def expected_weights(layers: list[str], tensors: FineTuned) -> list[str]:
    """Weight names a checkpoint must hold: the projections' weights of every temporal self-attention layer."""
    return [f"{layer}.{p}.weight" for layer in layers for p in PROJECTIONS[tensors]]


def load_pipeline(model: str, *, dtype: torch.dtype):
    """SVD image-to-video pipeline from a hub id or a local diffusers folder."""
    from diffusers import StableVideoDiffusionPipeline

    # a hub snapshot also holds the original sgm checkpoints and both precisions: fetch only what diffusers loads
    weights = ["*/*.fp16.safetensors"] if dtype == torch.float16 else [f"*/{UNET_WEIGHTS}", "*/model.safetensors"]
    folder = resolve_model_dir(
        model, flag="--model", allow_patterns=["model_index.json", "*/*.json", *weights] if is_hub_id(model) else None
    )
    if not (folder / "model_index.json").is_file():
        raise KfbenchError(
            f"'{model}' is not a diffusers pipeline folder (no model_index.json); pass an SVD img2vid model with "
            "--model"
        )
    check_diffusers_folder(folder, "--model")
    variant = "fp16" if dtype == torch.float16 and any(folder.glob("unet/*.fp16.safetensors")) else None
    try:
        with loading(f"the SVD pipeline from {folder}"):
            return StableVideoDiffusionPipeline.from_pretrained(
                folder, dtype=dtype, variant=variant, use_safetensors=True
            )
    except Exception as exc:  # diffusers/transformers: malformed configs, missing or mismatched files
        raise KfbenchError(
            f"cannot load the diffusers pipeline '{folder}' (--model): {type(exc).__name__}: {first_line(exc)}"
        ) from None


def unet_weight_files(src: str, *, flag: str) -> dict[str, Path]:
    """Tensor name -> safetensors file of a diffusers UNet folder (``X/unet/`` or ``X`` itself; sharded or not)."""
    allow = ["unet/config.json", f"unet/{UNET_WEIGHTS}", f"unet/{UNET_WEIGHTS}.index.json", "unet/*-of-*.safetensors"]
    folder = resolve_model_dir(src, flag=flag, allow_patterns=allow if is_hub_id(src) else None)
    for candidate in (folder / "unet", folder):
        single, index = candidate / UNET_WEIGHTS, candidate / f"{UNET_WEIGHTS}.index.json"
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text())["weight_map"]
                files = {str(name): str(file) for name, file in weight_map.items()}
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise KfbenchError(
                    f"'{index}' is not a safetensors index (JSON with a weight_map): {type(exc).__name__}: {exc}"
                ) from None
            outside = sorted({f for f in files.values() if Path(f).name != f or f in (".", "..")})
            if outside:
                raise KfbenchError(
                    f"'{index}' points outside its folder ({', '.join(outside[:3])}); shards must be plain file "
                    "names beside it"
                )
            return {name: candidate / file for name, file in files.items()}
        if single.is_file():
            with _open(single) as fh:
                return {name: single for name in fh.keys()}
    raise KfbenchError(
        f"no UNet weights in '{folder}' (looked for unet/{UNET_WEIGHTS} and {UNET_WEIGHTS}); pass a diffusers UNet "
        f"folder with {flag}"
    )


def _open(path: Path):
    try:
        return safe_open(str(path), framework="pt")
    except (SafetensorError, OSError, ValueError) as exc:
        raise KfbenchError(
            f"checkpoint file '{path}' is not a readable safetensors file ({exc}); re-download or re-convert it"
        ) from None


def read_tensors(files: dict[str, Path], names: list[str]) -> dict[str, torch.Tensor]:
    by_file: dict[Path, list[str]] = {}
    for name in names:
        by_file.setdefault(files[name], []).append(name)
    out = {}
    for path, members in by_file.items():
        with _open(path) as fh:
            for name in members:
                try:
                    out[name] = fh.get_tensor(name).float()
                except (SafetensorError, OSError, ValueError) as exc:
                    raise KfbenchError(f"checkpoint file '{path}': tensor {name} is unreadable ({exc})") from None
    return out


def released_deltas(checkpoint: str, checkpoint_base: str, tensors: FineTuned) -> dict[str, torch.Tensor]:
    """Fine-tuned minus img2vid for every tensor the release's name rule selects.

    All-zero bias deltas (biases are not trained) are left out: adding them changes nothing.
    """
    finetuned = unet_weight_files(checkpoint, flag="--checkpoint")
    base = unet_weight_files(checkpoint_base, flag="--checkpoint-base")
    names = sorted(n for n in finetuned if is_finetuned_name(n, tensors))
    missing = [n for n in names if n not in base]
    if missing:
        raise KfbenchError(
            f"checkpoint base '{checkpoint_base}' lacks {_listing(missing)}; is it the model the checkpoint was "
            "fine-tuned from?"
        )
    ft, ref = read_tensors(finetuned, names), read_tensors(base, names)
    mismatched = [f"{n} {tuple(ft[n].shape)} vs {tuple(ref[n].shape)}" for n in names if ft[n].shape != ref[n].shape]
    if mismatched:
        raise KfbenchError(f"checkpoint and checkpoint base disagree in shape: {_listing(mismatched)}")
    deltas = {n: ft[n] - ref[n] for n in names}
    return {n: d for n, d in deltas.items() if n.endswith(".weight") or bool(d.any())}


def compact_deltas(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Deltas and metadata of a compact checkpoint file."""
    with _open(path) as fh:
        metadata = fh.metadata() or {}
        names = sorted(fh.keys())
    if metadata.get("format") != COMPACT_FORMAT:
        raise KfbenchError(
            f"'{path}' is not a kfbench delta checkpoint (metadata format={metadata.get('format')!r}); "
            "convert a released UNet folder with `kfbench convert-checkpoint --method ours SRC DST` or pass the folder"
        )
    return read_tensors(dict.fromkeys(names, path), names), metadata


def load_deltas(checkpoint: str, checkpoint_base: str, tensors: FineTuned) -> dict[str, torch.Tensor]:
    """Deltas from either format: a ``.safetensors`` file is compact, anything else a released UNet folder or hub id."""
    path = Path(checkpoint).expanduser()
    if path.suffix == ".safetensors":
        if not path.is_file():
            raise KfbenchError(
                f"checkpoint '{path}' does not exist; pass a delta file or a released UNet folder with --checkpoint"
            )
        deltas, metadata = compact_deltas(path)
        stored = metadata.get("tensors")
        if stored and stored != tensors:
            raise KfbenchError(
                f"checkpoint '{path}' holds fine-tuned '{stored}' tensors but this method needs '{tensors}'"
            )
        return deltas
    return released_deltas(checkpoint, checkpoint_base, tensors)


def backward_tensors(
    unet, layers: list[str], deltas: dict[str, torch.Tensor], tensors: FineTuned
) -> dict[str, dict[str, torch.Tensor]]:
    """Per layer, the backward model's tensors (base + delta), checked against the base UNet.

    Returns {layer: {"to_v.weight": tensor, ...}}, in the UNet's dtype and device.
    """
    params = dict(unet.named_parameters())
    allowed = {
        n for n in params if is_finetuned_name(n, tensors) and any(n.startswith(layer + ".") for layer in layers)
    }
    missing = [n for n in expected_weights(layers, tensors) if n not in deltas]
    extra = sorted(set(deltas) - allowed)
    problems = []
    if missing:
        problems.append(f"missing {_listing(missing)}")
    if extra:
        problems.append(f"unexpected {_listing(extra)}")
    mismatched = [
        f"{n} {tuple(deltas[n].shape)} (model {tuple(params[n].shape)})"
        for n in deltas
        if n in params and deltas[n].shape != params[n].shape
    ]
    if mismatched:
        problems.append(f"mis-shaped {_listing(mismatched)}")
    if problems:
        raise KfbenchError(
            f"checkpoint does not fit the base model's {len(layers)} temporal self-attention layers: "
            + "; ".join(problems)
        )
    out: dict[str, dict[str, torch.Tensor]] = {}
    for name, delta in deltas.items():
        layer = next(layer for layer in layers if name.startswith(layer + "."))
        base = params[name]
        out.setdefault(layer, {})[name[len(layer) + 1 :]] = (base.detach().float() + delta.to(base.device)).to(
            base.dtype
        )
    return out


def convert_released(
    src: str, dst: Path, *, checkpoint_base: str = DEFAULT_CHECKPOINT_BASE, tensors: FineTuned = "vo"
) -> Path:
    """Released fine-tuned UNet folder -> compact safetensors of its deltas against ``checkpoint_base``."""
    kept = {n: d.contiguous() for n, d in released_deltas(src, checkpoint_base, tensors).items()}
    dst.parent.mkdir(parents=True, exist_ok=True)
    return save_safetensors(
        kept, dst, {"format": COMPACT_FORMAT, "tensors": tensors, "source": src, "checkpoint_base": checkpoint_base}
    )


def convert_ours(src: str, dst: Path, *, checkpoint_base: str = DEFAULT_CHECKPOINT_BASE) -> Path:
    """`kfbench convert-checkpoint --method ours`: fine-tuned W_v, W_o."""
    return convert_released(src, dst, checkpoint_base=checkpoint_base, tensors="vo")


def convert_ours_wo_ra(src: str, dst: Path, *, checkpoint_base: str = DEFAULT_CHECKPOINT_BASE) -> Path:
    """`kfbench convert-checkpoint --method ours-wo-ra`: fine-tuned W_q, W_k, W_v, W_o."""
    return convert_released(src, dst, checkpoint_base=checkpoint_base, tensors="qkvo")


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
