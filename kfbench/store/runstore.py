"""The run store: OUT/<dataset>/<method>/<pair_id>/ with frames/, preview.mp4 and meta.json.

A pair directory exists only once complete: it is written under a temporary name and renamed
into place, so a killed run never leaves a pair that a later run takes as done. Pair ids are
checked before they name a folder, a pair folder must lie inside its method folder, a dataset or
method folder inside the store (no symlink leading out), and only a folder holding meta.json (one
kfbench wrote) is ever replaced.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.store.pairids import check_folder_name, check_pair_id
from kfbench.utils.atomicio import remove_leftovers, temp_path
from kfbench.utils.containment import contained
from kfbench.utils.videoio import read_png_frames, write_mp4, write_png_frames

META = "meta.json"
FRAMES = "frames"
PREVIEW = "preview.mp4"


class RunStore:
    """Read and write the runs of one output folder."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def dataset_dir(self, dataset: str) -> Path:
        """OUT/<dataset>; a name that is not one folder, or a folder symlinked out of OUT, is an error."""
        folder = self.root / check_folder_name(dataset, "dataset name", f"run store {self.root}")
        return contained(folder, self.root, "dataset folder")

    def method_dir(self, dataset: str, method: str) -> Path:
        """OUT/<dataset>/<method>, checked as :meth:`dataset_dir`."""
        folder = self.dataset_dir(dataset) / check_folder_name(method, "method name", f"run store {self.root}")
        return contained(folder, self.root, "method folder")

    def pair_dir(self, dataset: str, method: str, pair_id: str) -> Path:
        """OUT/<dataset>/<method>/<pair_id>; an id or symlink that would lead elsewhere is an error."""
        folder = self.method_dir(dataset, method)
        path = folder / check_pair_id(pair_id, f"run store {folder}")
        if path.is_symlink() or (path.exists() and path.resolve().parent != folder.resolve()):
            raise KfbenchError(f"pair folder {path} leads outside {folder} (a symlink); move it away")
        return path

    def remove_leftovers(self, dataset: str, method: str) -> list[Path]:
        """Remove the temporary folders that dead runs left in the method folder."""
        return remove_leftovers(self.method_dir(dataset, method))

    def completed_since(self, dataset: str, method: str, pair_id: str, since: float) -> bool:
        """True when the pair was completed at or after time ``since`` (seconds since the epoch)."""
        meta = self.pair_dir(dataset, method, pair_id) / META
        try:
            return meta.stat().st_mtime >= since
        except FileNotFoundError:
            return False

    def is_complete(self, dataset: str, method: str, pair_id: str) -> bool:
        return (self.pair_dir(dataset, method, pair_id) / META).is_file()

    def save(
        self, dataset: str, method: str, pair_id: str, frames: np.ndarray, meta: dict[str, Any], fps: float
    ) -> Path:
        """Atomically write one pair's frames, preview and meta.json (replacing an older result)."""
        final = self.pair_dir(dataset, method, pair_id)
        if final.exists() and not (final / META).is_file():
            raise KfbenchError(
                f"{final} exists but is not a kfbench pair folder (no {META}); move it away, kfbench will not delete it"
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(final)
        tmp.mkdir()
        try:
            meta = {**meta, "frames": write_png_frames(frames, tmp / FRAMES)}
            write_mp4(frames, tmp / PREVIEW, fps=fps)
            (tmp / META).write_text(json.dumps(meta, indent=2, default=_json_default) + "\n")
            if final.exists():
                stale = temp_path(final, "old")
                final.rename(stale)
                shutil.rmtree(stale)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        return final

    def load_meta(self, dataset: str, method: str, pair_id: str) -> dict[str, Any]:
        return json.loads((self.pair_dir(dataset, method, pair_id) / META).read_text())

    def load_frames(self, dataset: str, method: str, pair_id: str) -> np.ndarray:
        return read_png_frames(self.pair_dir(dataset, method, pair_id) / FRAMES)

    def datasets(self) -> list[str]:
        return (
            sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
            if self.root.is_dir()
            else []
        )

    def methods(self, dataset: str) -> list[str]:
        folder = self.dataset_dir(dataset)
        return (
            sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
            if folder.is_dir()
            else []
        )

    def completed_pairs(self, dataset: str, method: str) -> list[str]:
        folder = self.method_dir(dataset, method)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and (p / META).is_file())


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)
