"""Settings fingerprints: what determines a method's frames, written to meta.json and into every results row.

A run's settings are the method, every resolved option (a device's index dropped: cuda:1 and
cuda:0 are one setting, so the ranks of a distributed run share them), the seed, the dataset and
its options that shape a pair (not where the data lies nor which pairs are selected), and the
content hash of every weights file or folder an option names (a hub id: the id alone; pass a
local folder for a content-addressed fingerprint). Their sha256 is the run's fingerprint; it
chooses the run folder. A pair's fingerprint adds its keyframes' hash, frame count, size and prompt.
The versions of kfbench, torch, diffusers and transformers are recorded beside, not in, the
fingerprint: an upgrade is announced and reported, never a reason to throw finished pairs away
(docs/provenance.md).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.utils.digests import arrays_sha256, json_sha256, path_sha256
from kfbench.utils.hub import is_hub_id

VERSIONED = ("kfbench", "torch", "diffusers", "transformers")
# dataset options that say where the data lies or which pairs to take, not what a pair holds
DATASET_LOCATION_OPTIONS = ("root", "manifest", "skip_bad", "num_pairs", "splits")
SHORT = 8


def versions() -> dict[str, str | None]:
    """The installed versions of the packages whose code makes the frames."""
    found: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def weights_identity(value: Any) -> str | None:
    """The content hash of the file or folder an option names, a hub id, or None (not weights)."""
    if not isinstance(value, (str, Path)) or not str(value):
        return None
    path = Path(value).expanduser()
    try:
        exists = path.exists()
    except OSError:  # text that cannot name a file (a long prompt: ENAMETOOLONG) is not weights
        exists = False
    if exists:
        return f"sha256:{path_sha256(path)}"
    if isinstance(value, str) and is_hub_id(value):
        return f"hub:{value}"  # the id only: its content is known once the method downloads it (docs/provenance.md)
    return None


def _plain(value: Any) -> Any:
    """A JSON-ready copy: paths as text, numpy scalars as numbers, a device without its index."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def run_settings(
    method_name: str, options: dict[str, Any], seed: int, dataset: str, dataset_options: dict[str, Any]
) -> dict[str, Any]:
    """Everything chosen for a run that determines its frames (see the module docstring)."""
    options = _plain(options)
    if isinstance(options.get("device"), str):
        options["device"] = options["device"].split(":")[0]
    weights = {name: ident for name, value in sorted(options.items()) if (ident := weights_identity(value))}
    shaping = {k: v for k, v in _plain(dataset_options).items() if k not in DATASET_LOCATION_OPTIONS}
    return {
        "method": method_name,
        "options": options,
        "seed": seed,
        "weights": weights,
        "dataset": dataset,
        "dataset_options": shaping,
    }


def digest(settings: dict[str, Any]) -> str:
    return json_sha256(settings)


def pair_settings(
    run_digest: str,
    first: np.ndarray,
    last: np.ndarray,
    num_frames: int,
    size: tuple[int, int] | None,
    prompt: str | None,
) -> dict[str, Any]:
    """What one pair adds to its run's settings: the keyframes (as the dataset gave them), frame count, size, prompt."""
    return {
        "run": run_digest,
        "keyframes_sha256": keyframes_sha256(first, last),
        "num_frames": num_frames,
        "size": list(size) if size else None,
        "prompt": prompt,
    }


def keyframes_sha256(first: np.ndarray, last: np.ndarray) -> str:
    return arrays_sha256(first, last)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{'options': {'steps': 2}} -> {'options.steps': 2} (lists and scalars are leaves)."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def differences(old: dict[str, Any], new: dict[str, Any], limit: int = 4) -> str:
    """'options.num_inference_steps 2 -> 3, seed 0 -> 1' (at most ``limit`` named, then how many more)."""
    a, b = flatten(old), flatten(new)
    changed = [
        f"{k} {_short(a.get(k, '(unset)'))} -> {_short(b.get(k, '(unset)'))}"
        for k in sorted(set(a) | set(b))
        if a.get(k, "(unset)") != b.get(k, "(unset)")
    ]
    shown = ", ".join(changed[:limit])
    return shown + (f" and {len(changed) - limit} more" if len(changed) > limit else "") if changed else "nothing"


def _short(value: Any) -> str:
    text = str(value)
    return text[: 7 + text.index(":")] + "…" if text.startswith("sha256:") else text
