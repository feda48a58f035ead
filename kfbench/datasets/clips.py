"""The shared machinery of clip datasets (davis, pexels, folder): sources -> pair rule -> pairs.

Without a manifest, the pairs come from the files under the root and the pair rule; with
``manifest``, they come from the manifest alone, and every source is checked against it (frame
count and size when the dataset opens, file checksums when a pair is loaded).
"""

from __future__ import annotations

import os
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.datasets.manifest import Manifest
from kfbench.datasets.pairrule import PairRule, pair_id, parse_gaps
from kfbench.datasets.sources import FrameFolder, FrameSource, SourceInfo, VideoFile
from kfbench.errors import BadSourceError, KfbenchError
from kfbench.interfaces import Pair, PairDataset
from kfbench.store.pairids import check_pair_id


def default_root(dataset: str) -> Path:
    """$KFBENCH_DATA/<dataset>, else <user cache dir>/kfbench/<dataset> ($XDG_CACHE_HOME or ~/.cache)."""
    if os.environ.get("KFBENCH_DATA"):
        return Path(os.environ["KFBENCH_DATA"]).expanduser() / dataset
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "kfbench" / dataset


def resolve_root(root: str | None, dataset: str) -> Path:
    path = Path(root).expanduser() if root else default_root(dataset)
    if not path.exists():
        hint = f"run `kfbench prepare {dataset}` or " if dataset in ("davis", "pexels") else ""
        raise KfbenchError(f"{dataset}: data folder {path} does not exist; {hint}pass --root DIR or set KFBENCH_DATA")
    return path


def default_manifest_path(root: Path, dataset: str) -> Path:
    return root / "manifests" / f"{dataset}.json"


@dataclass(frozen=True)
class PairEntry:
    source: str
    start: int
    stride: int
    num_frames: int
    sha256: dict[str, str] | None = None

    @property
    def frame_indices(self) -> list[int]:
        return PairRule(self.num_frames, self.stride).frame_indices(self.start)


class ClipDataset(PairDataset):
    """Pairs cut from frame sources by the shared pair rule, or pinned by a manifest."""

    kind: str = ""
    """Stable dataset id used for default folders and manifests (the preset name)."""

    def __init__(
        self, *, root: str | None, rule: PairRule, manifest: str | None, skip_bad: bool, gaps: str | None = None
    ) -> None:
        self.root = resolve_root(root, self.kind)
        self.rule, self.skip_bad, self.gaps = rule, skip_bad, parse_gaps(gaps)
        self.manifest_path = Path(manifest).expanduser() if manifest else None
        self.sources: dict[str, FrameSource] = {}
        self.infos: dict[str, SourceInfo] = {}
        self.extras: dict[str, dict[str, Any]] = {}
        self.bad: list[str] = []
        self.short: list[str] = []
        self.entries: dict[str, PairEntry] = {}
        if self.manifest_path is None:
            self._from_tree()
        else:
            self._from_manifest(Manifest.load(self.manifest_path, self.kind))

    @abstractmethod
    def find_sources(self) -> list[FrameSource]:
        """Every clip under the root, in any order."""

    def describe_source(self, source: FrameSource) -> dict[str, Any]:
        """Extra facts recorded for a source in the manifest and in each pair's meta."""
        return {}

    def missing_sources(self, manifest: Manifest, names: list[str]) -> KfbenchError:
        paths = ", ".join(str(manifest.source_path(self.root, n)) for n in names)
        return KfbenchError(
            f"{self.kind}: {len(names)} source(s) of manifest {self.manifest_path} are missing: {paths}"
        )

    def _from_tree(self) -> None:
        for source in sorted(self.find_sources(), key=lambda s: s.name):
            try:
                self.infos[source.name] = source.info()
            except BadSourceError as exc:
                self._reject(exc)
                continue
            finally:
                source.close()
            self.sources[source.name] = source
            self.extras[source.name] = self.describe_source(source)
        lengths = {name: info.num_frames for name, info in self.infos.items()}
        self.short = sorted(name for name, length in lengths.items() if length < self._shortest_span())
        if self.gaps:
            cut = [
                (name, 0, PairRule(gap, self.rule.frame_stride)) for name, gap in self.rule.sweep(lengths, self.gaps)
            ]
        else:
            cut = [(name, start, self.rule) for name, start in self.rule.select(lengths)]
        for name, start, rule in cut:
            entry = PairEntry(name, start, rule.frame_stride, rule.num_frames)
            self.entries[check_pair_id(pair_id(name, start, rule), f"made from {self.sources[name].path}")] = entry

    def _from_manifest(self, manifest: Manifest) -> None:
        paths = {name: manifest.source_path(self.root, name) for name in manifest.sources}
        missing = [n for n, path in paths.items() if not path.exists()]
        if missing:
            raise self.missing_sources(manifest, sorted(missing))
        for name, facts in manifest.sources.items():
            path = paths[name]
            source = VideoFile(name, path) if facts["kind"] == "video" else FrameFolder(name, path)
            try:
                info = source.info()
                expected = SourceInfo(facts["num_frames"], facts["height"], facts["width"], info.fps)
                if info != expected:
                    raise BadSourceError(
                        f"{path}: {info.num_frames} frames of {info.width}x{info.height}, but manifest "
                        f"{self.manifest_path} says {expected.num_frames} of {expected.width}x{expected.height}; "
                        "the data changed since the manifest was written"
                    )
            except BadSourceError as exc:
                self._reject(exc)
                continue
            finally:
                source.close()
            self.sources[name], self.infos[name] = source, info
            self.extras[name] = {k: v for k, v in facts.items() if k not in _SOURCE_FACTS}
        for pair in manifest.pairs:
            if pair["source"] in self.sources:
                entry = PairEntry(pair["source"], pair["start"], pair["stride"], pair["num_frames"], pair["sha256"])
                length = self.infos[pair["source"]].num_frames
                if entry.frame_indices[-1] >= length:
                    raise KfbenchError(
                        f"manifest {self.manifest_path}: pair {pair['id']!r} needs frame {entry.frame_indices[-1]} of "
                        f"{paths[pair['source']]}, which has {length} frames; fix the pair or prepare a new manifest"
                    )
                self.entries[pair["id"]] = entry

    def _reject(self, exc: BadSourceError) -> None:
        if not self.skip_bad:
            raise exc
        self.bad.append(str(exc))

    def pair_ids(self) -> list[str]:
        return list(self.entries)

    def load(self, pair_id: str) -> Pair:
        if pair_id not in self.entries:
            raise KfbenchError(f"{self.kind}: no pair '{pair_id}'")
        entry = self.entries[pair_id]
        source, info = self.sources[entry.source], self.infos[entry.source]
        indices = entry.frame_indices
        if indices[-1] >= info.num_frames:
            raise BadSourceError(
                f"{source.path}: pair {pair_id} needs frame {indices[-1]}, the source has {info.num_frames}"
            )
        if entry.sha256 is not None:
            self._verify(source, indices, entry.sha256)
        try:
            frames, times = source.read(indices), source.timestamps(indices)
        finally:
            source.close()
        if frames.shape[1:3] != (info.height, info.width):
            raise BadSourceError(
                f"{source.path}: frames are {frames.shape[2]}x{frames.shape[1]}, expected {info.width}x{info.height}"
            )
        meta = {
            "source": self.kind,
            "clip": entry.source,
            "path": source.path.relative_to(self.root).as_posix(),
            **self.extras[entry.source],
            "frame_indices": indices,
            "frame_stride": entry.stride,
            "num_frames": entry.num_frames,
            "fps": info.fps,
            "source_size": [info.height, info.width],
        }
        if times is not None:
            meta["frame_times_s"] = times
        return Pair(pair_id, frames[0].copy(), frames[-1].copy(), np.ascontiguousarray(frames), meta)

    def _verify(self, source: FrameSource, indices: list[int], expected: dict[str, str]) -> None:
        actual = source.checksums(indices)
        changed = sorted(name for name in expected if actual.get(name) != expected[name])
        if changed or set(actual) != set(expected):
            shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "") if changed else "the file list"
            raise BadSourceError(
                f"{source.path}: {shown} changed since manifest {self.manifest_path} was written (sha256 differs); "
                "restore the original files or prepare a new manifest"
            )

    def to_manifest(self) -> Manifest:
        """The current selection with the checksums of every file its frames come from."""
        sources = {}
        for name in sorted({e.source for e in self.entries.values()}):
            source, info = self.sources[name], self.infos[name]
            sources[name] = {
                "path": source.path.relative_to(self.root).as_posix(),
                "kind": source.kind,
                "num_frames": info.num_frames,
                "height": info.height,
                "width": info.width,
                "fps": info.fps,
                **self.extras[name],
            }
            if source.kind == "video":
                sources[name]["bytes"] = source.path.stat().st_size
                sources[name]["sha256"] = source.checksums([])[source.path.name]
        pairs = [
            {
                "id": pid,
                "source": e.source,
                "start": e.start,
                "stride": e.stride,
                "num_frames": e.num_frames,
                "frame_indices": e.frame_indices,
                "sha256": self.sources[e.source].checksums(e.frame_indices),
            }
            for pid, e in self.entries.items()
        ]
        options = {k: v for k, v in self.options.items() if k not in ("root", "manifest", "skip_bad")}
        return Manifest(self.kind, options, sources, pairs)

    def verify(self) -> list[str]:
        """Check every pinned pair's checksums without decoding; one line per problem."""
        problems = list(self.bad)
        for pid, entry in self.entries.items():
            if entry.sha256 is None:
                continue
            try:
                self._verify(self.sources[entry.source], entry.frame_indices, entry.sha256)
            except BadSourceError as exc:
                problems.append(f"{pid}: {exc}")
        return problems

    def summary(self) -> str:
        """One line: pairs, clips used, clips too short, unreadable clips skipped."""
        used = len({e.source for e in self.entries.values()})
        origin = f"pinned by {self.manifest_path}" if self.manifest_path else f"rule {self._rule_text()}"
        return (
            f"{self.kind}: {len(self.entries)} pair(s) from {used} of {len(self.infos) + len(self.bad)} clip(s) "
            f"({origin}); {len(self.short)} clip(s) shorter than {self._shortest_span()} frames skipped; "
            f"{len(self.bad)} unreadable clip(s) skipped"
        )

    def _shortest_span(self) -> int:
        return PairRule(min(self.gaps), self.rule.frame_stride).span if self.gaps else self.rule.span

    def _rule_text(self) -> str:
        r = self.rule
        frames = f"gaps={','.join(map(str, self.gaps))}" if self.gaps else f"num_frames={r.num_frames}"
        return f"{frames} frame_stride={r.frame_stride} num_pairs={r.num_pairs}"


_SOURCE_FACTS = ("path", "kind", "num_frames", "height", "width", "fps", "bytes", "sha256", "download_url")
