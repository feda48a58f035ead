"""Manifests: the exact pairs of a prepared dataset, with checksums, pinned with ``--manifest``.

A manifest is JSON::

    {"kfbench_manifest": 1, "dataset": "davis", "created": "...", "options": {...},
     "sources": {"bear": {"path": "DAVIS/JPEGImages/480p/bear", "kind": "frames",
                          "num_frames": 82, "height": 480, "width": 854, "fps": null, ...}},
     "pairs": [{"id": "bear_00000-00024_s1", "source": "bear", "start": 0, "stride": 1,
                "num_frames": 25, "frame_indices": [0, ..., 24],
                "sha256": {"00000.jpg": "...", ...}}]}

Source paths are relative to the dataset root. ``sha256`` holds the files the pair's frames come
from: each image of a frame folder, or the whole video file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kfbench.errors import KfbenchError

VERSION = 1
_PAIR_KEYS = ("id", "source", "start", "stride", "num_frames", "sha256")


@dataclass
class Manifest:
    dataset: str
    options: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    pairs: list[dict[str, Any]]
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"kfbench_manifest": VERSION, "dataset": self.dataset, "created": self.created,
                "options": self.options, "sources": self.sources, "pairs": self.pairs}
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path, dataset: str) -> Manifest:
        """Read a manifest written for ``dataset``; anything else is a clear error."""
        if not path.is_file():
            raise KfbenchError(f"manifest {path} does not exist; write one with `kfbench prepare {dataset}`")
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KfbenchError(f"manifest {path} is not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("kfbench_manifest") != VERSION:
            raise KfbenchError(f"manifest {path} is not a kfbench manifest (version {VERSION})")
        if data.get("dataset") != dataset:
            raise KfbenchError(f"manifest {path} was written for dataset '{data.get('dataset')}', not '{dataset}'")
        problem = _problem(data)
        if problem:
            raise KfbenchError(f"manifest {path} lacks {problem}; write it again with `kfbench prepare {dataset}`")
        return cls(data["dataset"], data["options"], data["sources"], data["pairs"], data["created"])


def _problem(data: dict[str, Any]) -> str | None:
    """What a manifest lacks, or None."""
    missing = [key for key in ("created", "options", "sources", "pairs") if key not in data]
    if missing:
        return ", ".join(missing)
    for pair in data["pairs"]:
        missing = [key for key in _PAIR_KEYS if key not in pair]
        if missing:
            return f"{', '.join(missing)} in pair {pair.get('id')}"
        if pair["source"] not in data["sources"]:
            return f"source {pair['source']} of pair {pair['id']}"
    return None
