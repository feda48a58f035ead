"""Training clips: every video file or frame folder under a folder, sampled as N frames with a stride.

Each sample's randomness (which video, where the clip starts) depends only on the run's seed and
the sample's global index, so a resumed run or a run on more processes reads the same clips.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kfbench.datasets.sources import FrameSource, discover
from kfbench.errors import BadSourceError, KfbenchError
from kfbench.utils.imageops import resize_center_crop


@dataclass(frozen=True)
class Video:
    source: FrameSource
    num_frames: int


@dataclass
class ClipSet:
    """Videos long enough for one clip, and what was left out."""

    videos: list[Video]
    num_frames: int
    stride: int
    too_short: list[str]
    unreadable: list[str]

    @property
    def span(self) -> int:
        """Consecutive source frames one clip covers ((N - 1) * stride + 1: 27 for 14 frames, stride 2)."""
        return clip_span(self.num_frames, self.stride)

    def sample(self, index: int, seed: int) -> tuple[Video, list[int]]:
        """The video and frame indices of global sample ``index``: each epoch is a seeded permutation."""
        count = len(self.videos)
        epoch, position = divmod(index, count)
        order = np.random.default_rng([seed, epoch]).permutation(count)
        video = self.videos[int(order[position])]
        start = int(np.random.default_rng([seed, index, 1]).integers(0, video.num_frames - self.span + 1))
        return video, list(range(start, start + self.span, self.stride))

    def read(self, index: int, seed: int, height: int, width: int) -> np.ndarray:
        """Frames of sample ``index`` as uint8 [N, height, width, 3] (scaled to cover, centre-cropped)."""
        video, indices = self.sample(index, seed)
        try:
            return resize_center_crop(video.source.read(indices), height, width)
        finally:
            video.source.close()


def clip_span(num_frames: int, stride: int) -> int:
    return (num_frames - 1) * stride + 1


def load_clips(folder: Path, *, num_frames: int, stride: int) -> ClipSet:
    """Discover the videos under ``folder``; those shorter than a clip's span are skipped and counted."""
    if num_frames < 2 or stride < 1:
        raise KfbenchError(
            f"a clip needs at least 2 frames and a stride of at least 1, got {num_frames} frames, stride {stride}"
        )
    if not folder.is_dir():
        raise KfbenchError(f"--videos '{folder}' is not a folder; pass a folder of mp4 files or frame folders")
    span = clip_span(num_frames, stride)
    videos, too_short, unreadable = [], [], []
    for source in discover(folder):
        try:
            frames = source.info().num_frames
        except BadSourceError:
            unreadable.append(source.name)
            continue
        finally:
            source.close()
        (videos.append(Video(source, frames)) if frames >= span else too_short.append(source.name))
    if not videos:
        raise KfbenchError(
            f"no usable training video in '{folder}' ({len(too_short)} shorter than the clip span of {span} frames, "
            f"{len(unreadable)} unreadable); it needs mp4 files or frame folders of at least {span} frames"
        )
    return ClipSet(videos, num_frames, stride, too_short, unreadable)


def split_holdout(clips: ClipSet, count: int) -> tuple[ClipSet, list[Video]]:
    """Keep the last ``count`` videos (in name order) out of training, for validation."""
    if count < 0 or count >= len(clips.videos):
        raise KfbenchError(
            f"--holdout must be between 0 and {len(clips.videos) - 1} (one video must remain for training), got {count}"
        )
    kept = clips.videos[: len(clips.videos) - count]
    return ClipSet(kept, clips.num_frames, clips.stride, clips.too_short, clips.unreadable), clips.videos[len(kept) :]


def validation_pairs(
    videos: list[Video], num_frames: int, stride: int, height: int, width: int
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, first, last) keyframes of each held-out video's first clip span."""
    span = clip_span(num_frames, stride)
    pairs = []
    for video in videos:
        first, last = resize_center_crop(video.source.read([0, span - 1]), height, width)
        video.source.close()
        pairs.append((video.source.name, first, last))
    return pairs
