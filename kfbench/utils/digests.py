"""Content hashes: of files (memoised by path, size, mtime and inode), folders and arrays.

The memo lives in the process and, when a run store gives one, in ``OUT/.cache/digests.json``, so a
multi-gigabyte checkpoint is read once, not at every `kfbench run`. A file rewritten in place gets a
new mtime (and usually size), so its memo entry no longer matches and it is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from kfbench.utils.atomicio import write_text

_MEMO: dict[str, str] = {}
CHUNK = 1 << 20


def _memo_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"


def file_sha256(path: Path, *, memo: bool = True) -> str:
    """sha256 of a file's content (memoised by resolved path, size, mtime_ns and inode unless ``memo`` is False)."""
    if not memo:
        return _read_sha256(path)
    key = _memo_key(path)
    if key not in _MEMO:
        _MEMO[key] = _read_sha256(path)
    return _MEMO[key]


def _read_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_sha256(folder: Path) -> str:
    """sha256 over a folder's files: each relative path and its content hash, in path order.

    Hidden entries (names starting with '.', such as a hub download's ``.cache``) are left out: they
    are bookkeeping, not weights.
    """
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(f for f in files if not f.startswith(".")):
            path = Path(root) / name
            digest.update(f"{path.relative_to(folder).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def path_sha256(path: Path) -> str:
    """A file's or a folder's content hash."""
    return tree_sha256(path) if path.is_dir() else file_sha256(path)


def arrays_sha256(*arrays: np.ndarray) -> str:
    """sha256 of arrays' shapes, dtypes and bytes (the same pixels give the same digest wherever they came from)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def json_sha256(value: object) -> str:
    """sha256 of a JSON value written canonically (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def load_memo(path: Path) -> None:
    """Add a saved memo's entries (a damaged or absent file adds nothing)."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(saved, dict):
        _MEMO.update({k: v for k, v in saved.items() if isinstance(k, str) and isinstance(v, str)})


def save_memo(path: Path, keep: int = 10000) -> None:
    """Write the memo (its newest ``keep`` entries) atomically."""
    entries = dict(list(_MEMO.items())[-keep:])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(entries, indent=0, sort_keys=True) + "\n")
