"""Manifests: the exact pairs of a prepared dataset, with checksums, pinned with ``--manifest``.

A manifest is JSON::

    {"kfbench_manifest": 1, "dataset": "davis", "created": "...", "options": {...},
     "sources": {"bear": {"path": "DAVIS/JPEGImages/480p/bear", "kind": "frames",
                          "num_frames": 82, "height": 480, "width": 854, "fps": null, ...}},
     "pairs": [{"id": "bear_00000-00024_s1", "source": "bear", "start": 0, "stride": 1,
                "num_frames": 25, "frame_indices": [0, ..., 24],
                "sha256": {"00000.jpg": "...", ...}}]}

Source paths are relative to the dataset root and must stay inside it (no absolute path, no
``..``, no symlink leading out); pair ids must name one folder. ``sha256`` holds the files the
pair's frames come from: each image of a frame folder, or the whole video file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kfbench.errors import KfbenchError
from kfbench.registry import SIZE_LIMITS
from kfbench.store.pairids import check_pair_id
from kfbench.utils.atomicio import remove_leftovers, write_text

VERSION = 1
MAX_SOURCE_FRAMES = 10_000_000
_PAIR_KEYS = ("id", "source", "start", "stride", "num_frames", "sha256")
_SOURCE_KEYS = ("path", "kind", "num_frames", "height", "width")


@dataclass
class Manifest:
    dataset: str
    options: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    pairs: list[dict[str, Any]]
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def save(self, path: Path) -> Path:
        data = {
            "kfbench_manifest": VERSION,
            "dataset": self.dataset,
            "created": self.created,
            "options": self.options,
            "sources": self.sources,
            "pairs": self.pairs,
        }
        remove_leftovers(path.parent)
        return write_text(path, json.dumps(data, indent=1) + "\n")

    def source_path(self, root: Path, name: str) -> Path:
        """Where source ``name`` lies under ``root``; a path leading outside ``root`` (by a symlink) is an error."""
        path = root / self.sources[name]["path"]
        inside = root.resolve()
        if path.resolve() == inside:
            raise KfbenchError(
                f"manifest source {name!r}: path {self.sources[name]['path']!r} names the dataset root itself, not a "
                "file in it"
            )
        if not path.resolve().is_relative_to(inside):
            raise KfbenchError(
                f"manifest source {name!r}: path {self.sources[name]['path']!r} leads outside {root} "
                f"(to {path.resolve()}); kfbench reads and writes only inside the dataset root"
            )
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
        problem = _invalid(data)
        if problem:
            raise KfbenchError(f"manifest {path}: {problem}")
        seen: set[str] = set()
        for index, pair in enumerate(data["pairs"]):
            check_pair_id(pair["id"], f"manifest {path}, pairs[{index}]")
            if pair["id"] in seen:
                raise KfbenchError(
                    f"manifest {path}: pair id {pair['id']!r} appears twice (pairs[{index}]); "
                    "each pair id names one folder: remove or rename one"
                )
            seen.add(pair["id"])
        return cls(data["dataset"], data["options"], data["sources"], data["pairs"], data["created"])


def _problem(data: dict[str, Any]) -> str | None:
    """What a manifest lacks, or None."""
    missing = [key for key in ("created", "options", "sources", "pairs") if key not in data]
    if missing:
        return ", ".join(missing)
    if not isinstance(data["sources"], dict) or not isinstance(data["pairs"], list):
        return "a sources object and a pairs list"
    for name, facts in data["sources"].items():
        missing = [key for key in _SOURCE_KEYS if not isinstance(facts, dict) or key not in facts]
        if missing:
            return f"{', '.join(missing)} in source {name}"
    for pair in data["pairs"]:
        if not isinstance(pair, dict):
            return f"an object for pair {pair!r}"
        missing = [key for key in _PAIR_KEYS if key not in pair]
        if missing:
            return f"{', '.join(missing)} in pair {pair.get('id')}"
        if not isinstance(pair["source"], str) or pair["source"] not in data["sources"]:
            return f"source {pair['source']} of pair {pair['id']}"
    return None


def _invalid(data: dict[str, Any]) -> str | None:
    """The first value of a complete manifest that is of the wrong kind or leaves the root, or None."""
    for name, facts in data["sources"].items():
        problem = _relative_path_problem(facts["path"]) or _kind_problem(facts, _SOURCE_CHECKS)
        if problem:
            return f"source {name!r}: {problem}"
    for pair in data["pairs"]:
        problem = _kind_problem(pair, _PAIR_CHECKS) or _pair_fields_problem(pair)
        if problem:
            return f"pair {pair['id']!r}: {problem}"
    return None


def _pair_fields_problem(pair: dict[str, Any]) -> str | None:
    """A field kfbench would not obey: unknown, or frame_indices other than start, start + stride, ... (num_frames)."""
    unknown = sorted(set(pair) - set(_PAIR_CHECKS) - {"id", "source"})
    if unknown:
        return (
            f"unknown field(s) {', '.join(unknown)}; kfbench obeys every field of a pair, so it refuses ones it "
            "does not know"
        )
    indices = pair.get("frame_indices")
    expected = [pair["start"] + k * pair["stride"] for k in range(pair["num_frames"])]
    if indices is not None and indices != expected:
        return (
            "frame_indices are not start, start + stride, ... (num_frames of them); kfbench reads a pair's frames "
            "only in that order: fix start, stride and num_frames, or drop frame_indices"
        )
    return None


def _relative_path_problem(path: Any) -> str | None:
    if not isinstance(path, str) or not path or "\x00" in path:
        return f"path {path!r} is not a file name"
    if path.startswith("/") or "\\" in path or ":" in path.split("/")[0]:
        return f"path {path!r} is absolute; source paths are relative to the dataset root, with / separators"
    if ".." in path.split("/"):
        return f"path {path!r} goes up with '..'; source paths must stay inside the dataset root"
    return None


def _kind_problem(values: dict[str, Any], checks: dict[str, Callable[[Any], bool]]) -> str | None:
    for key, ok in checks.items():
        if key in values and not ok(values[key]):
            return f"{key} {values[key]!r} is not valid"
    return None


def _count(minimum: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _at_most(check: Callable[[Any], bool], limit: int) -> Callable[[Any], bool]:
    return lambda v: check(v) and v <= limit


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


_SOURCE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "kind": lambda v: v in ("frames", "video"),
    "num_frames": _at_most(_count(1), MAX_SOURCE_FRAMES),
    "height": _count(1),
    "width": _count(1),
    "bytes": _optional(_count(0)),
    "sha256": _optional(_is_str),
    "download_url": _optional(_is_str),
}
_PAIR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "start": _at_most(_count(0), MAX_SOURCE_FRAMES),
    "stride": _at_most(_count(1), MAX_SOURCE_FRAMES),
    "num_frames": _at_most(_count(2), SIZE_LIMITS["num_frames"][1]),
    "sha256": _optional(lambda v: isinstance(v, dict)),
    "frame_indices": _optional(lambda v: isinstance(v, list) and all(_count(0)(i) for i in v)),
}
