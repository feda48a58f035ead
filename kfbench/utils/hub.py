"""Locating weights: local folders/files or Hugging Face hub ids (cache first, offline-aware)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from kfbench.errors import KfbenchError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_hub_id(name: str) -> bool:
    return bool(_HUB_ID.match(name)) and not Path(name).exists()


def resolve_model_dir(name_or_path: str, *, flag: str = "--model", allow_patterns: list[str] | None = None) -> Path:
    """A local diffusers folder, or the snapshot of a hub id (downloaded unless HF_HUB_OFFLINE=1)."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    if not is_hub_id(name_or_path):
        raise KfbenchError(
            f"model path '{name_or_path}' does not exist; pass an existing folder or a hub id with {flag}"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    try:
        return Path(snapshot_download(name_or_path, local_files_only=offline, allow_patterns=allow_patterns))
    except LocalEntryNotFoundError:
        raise KfbenchError(
            f"'{name_or_path}' is not in the Hugging Face cache and the hub cannot be reached; "
            f"run `hf download {name_or_path}` where you are online, or pass a local folder with {flag}"
        ) from None
    except Exception as exc:  # hub errors: gated repos, missing repos, network failures
        raise KfbenchError(
            f"could not fetch '{name_or_path}' from the Hugging Face hub ({type(exc).__name__}: {exc}); "
            f"pass a local folder with {flag}"
        ) from None


def require_file(path: str | os.PathLike, *, what: str, flag: str, source: str) -> Path:
    """An existing file, or an error naming it, where it comes from and the flag that sets it."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise KfbenchError(f"{what} not found at '{resolved}' ({source}); pass it with {flag}")
    return resolved
