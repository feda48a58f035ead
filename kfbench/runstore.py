"""The run store: OUT/<dataset>/<method>/<pair_id>/ with frames/, preview.mp4 and meta.json.

A pair directory exists only once complete: it is written under a temporary name and renamed
into place, so a killed run never leaves a pair that a later run takes as done.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.videoio import read_png_frames, write_mp4, write_png_frames

META = "meta.json"
FRAMES = "frames"
PREVIEW = "preview.mp4"


class RunStore:
    """Read and write the runs of one output folder."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def pair_dir(self, dataset: str, method: str, pair_id: str) -> Path:
        return self.root / dataset / method / pair_id

    def is_complete(self, dataset: str, method: str, pair_id: str) -> bool:
        return (self.pair_dir(dataset, method, pair_id) / META).is_file()

    def save(
        self, dataset: str, method: str, pair_id: str, frames: np.ndarray, meta: dict[str, Any], fps: float
    ) -> Path:
        """Atomically write one pair's frames, preview and meta.json (replacing an older result)."""
        final = self.pair_dir(dataset, method, pair_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{pair_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            meta = {**meta, "frames": write_png_frames(frames, tmp / FRAMES)}
            write_mp4(frames, tmp / PREVIEW, fps=fps)
            (tmp / META).write_text(json.dumps(meta, indent=2, default=_json_default) + "\n")
            if final.exists():
                stale = final.parent / f".old-{pair_id}-{uuid.uuid4().hex[:8]}"
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
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")) if self.root.is_dir() else []

    def methods(self, dataset: str) -> list[str]:
        folder = self.root / dataset
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []

    def completed_pairs(self, dataset: str, method: str) -> list[str]:
        folder = self.root / dataset / method
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
