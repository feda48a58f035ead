"""Any folder of videos (mp4, mov, webm, mkv) or frame folders, cut into pairs by the shared pair rule."""

from __future__ import annotations

from pathlib import Path

from kfbench.datasets.clips import ClipDataset
from kfbench.datasets.pairrule import PairRule
from kfbench.datasets.sources import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    FrameSource,
    discover,
)
from kfbench.errors import KfbenchError


class FolderDataset(ClipDataset):
    """Every video file and image folder under the root (searched recursively)."""

    kind = "folder"

    def __init__(
        self,
        *,
        root: str | None = None,
        num_frames: int = 25,
        frame_stride: int = 1,
        num_pairs: int | None = None,
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
        sources = discover(self.root)
        loose = sorted(p.name for p in self.root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not sources and loose:
            raise KfbenchError(
                f"folder: {len(loose)} image(s) sit directly in {self.root} ({loose[0]}, ...); each clip's frames must "
                f"sit in a sub-folder of their own, e.g. {self.root / 'clip1' / loose[0]}: move them into one "
                f"(mkdir {self.root / 'clip1'} && mv {self.root}/*{Path(loose[0]).suffix} {self.root / 'clip1'})"
            )
        if not sources:
            raise KfbenchError(
                f"folder: no videos ({', '.join(VIDEO_EXTENSIONS)}) or folders of images "
                f"({', '.join(IMAGE_EXTENSIONS)}) under {self.root}"
            )
        return sources
