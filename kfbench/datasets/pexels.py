"""Pexels stock clips: video files the user downloads from pexels.com into the root folder.

No list of the paper's clips was published, and kfbench ships none: a benchmark is pinned by a
manifest (video id, source URL, size, fps, start frame, stride, sha256) written by
`kfbench prepare pexels` from the clips in the root folder and shared with `--manifest`.
"""

from __future__ import annotations

import re

from kfbench.datasets.clips import ClipDataset
from kfbench.datasets.manifest import Manifest
from kfbench.datasets.pairrule import PairRule
from kfbench.datasets.sources import (
    VIDEO_EXTENSIONS,
    FrameSource,
    VideoFile,
    source_name,
)
from kfbench.errors import KfbenchError

PAGE_URL = "https://www.pexels.com/video/{id}/"
DOWNLOAD_URL = "https://www.pexels.com/download/video/{id}/"
# Pexels names downloads '<id>-uhd_3840_2160_25fps.mp4' or 'pexels-<author>-<id>.mp4'.
_ID = re.compile(r"(?:^|[-_ ])(\d{5,})(?=$|[-_ .(])")


def video_id(stem: str) -> str | None:
    """The Pexels id in a downloaded file's name, if it carries one."""
    match = _ID.search(stem)
    return match.group(1) if match else None


def download_url(facts: dict) -> str | None:
    """Where to fetch a manifest source: its download_url, else Pexels' download link for its id."""
    if facts.get("download_url"):
        return facts["download_url"]
    return DOWNLOAD_URL.format(id=facts["video_id"]) if facts.get("video_id") else None


class PexelsDataset(ClipDataset):
    """Pexels videos in the root folder, cut into pairs by the shared pair rule."""

    kind = "pexels"

    def __init__(
        self,
        *,
        root: str | None = None,
        num_frames: int = 25,
        frame_stride: int = 1,
        num_pairs: int | None = 45,
        manifest: str | None = None,
        skip_bad: bool = False,
        gaps: str | None = None,
    ) -> None:
        super().__init__(
            root=root,
            rule=PairRule(num_frames, frame_stride, num_pairs),
            manifest=manifest,
            skip_bad=skip_bad,
            gaps=gaps,
        )

    def find_sources(self) -> list[FrameSource]:
        files = sorted(p for p in self.root.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        if not files:
            raise KfbenchError(
                f"pexels: no videos ({', '.join(VIDEO_EXTENSIONS)}) in {self.root}; download clips from "
                "https://www.pexels.com/videos/ into it, or pin a shared list with --manifest"
            )
        return [VideoFile(source_name(p.relative_to(self.root).with_suffix("")), p) for p in files]

    def describe_source(self, source: FrameSource) -> dict[str, str | None]:
        vid = video_id(source.path.stem)
        return {"video_id": vid, "url": PAGE_URL.format(id=vid) if vid else None}

    def missing_sources(self, manifest: Manifest, names: list[str]) -> KfbenchError:
        listed = "; ".join(
            f"{self.root / manifest.sources[n]['path']} <- {download_url(manifest.sources[n]) or 'no URL recorded'}"
            for n in names
        )
        return KfbenchError(
            f"pexels: {len(names)} video(s) of manifest {self.manifest_path} are missing: {listed} "
            f"(`kfbench prepare pexels --root {self.root} --manifest {self.manifest_path}` fetches them when online)"
        )
