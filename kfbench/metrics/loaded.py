"""One loaded pair as every metric reads it, and its cached features (ground truth per pair, generated per output)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.metrics.cache import FeatureCache, weights_digest
from kfbench.metrics.timegrid import PairFrames, grid_times, nearest, take
from kfbench.utils.imageops import resize_center_crop


@dataclass
class LoadedPair:
    """A pair read once: its frames on the protocol's grid, the method's own frames and the dataset's keyframes.

    A pair without ground truth (keyframes only) has neither ``grid`` nor ``truth``. With ``kfbench evaluate
    --reference-run``, ``reference`` holds its frames on a grid beside the reference run's frames of the same pair.
    """

    pair_id: str
    grid: PairFrames | None
    frames: np.ndarray  # the method's frames as saved, uint8 [T, H, W, 3]
    times: list[float]  # their times, 0 .. 1
    truth: np.ndarray | None  # the dataset's whole ground-truth clip
    first: np.ndarray  # the keyframes as the dataset gives them
    last: np.ndarray
    fps: float = 7.0  # the frame rate the run wrote its preview at
    reference: PairFrames | None = None  # beside the reference run's frames (kfbench.metrics.reference)

    def against_reference(self) -> LoadedPair:
        """This pair as the distribution metrics read it with a reference run: its grid the reference's, no truth."""
        return replace(self, grid=self.reference, truth=None)

    def keyframes(self) -> tuple[np.ndarray, np.ndarray]:
        """The keyframes at the generated size (as a method working at that size received them)."""
        height, width = self.frames.shape[1:3]
        return resize_center_crop(self.first, height, width), resize_center_crop(self.last, height, width)

    def clip_at_times(self) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """All the method's frames and the ground-truth frames nearest their times, both at the compared size."""
        height, width = self.grid.truth.shape[1:3]
        indices = nearest(grid_times(len(self.truth)), self.times)
        return (
            resize_center_crop(self.frames, height, width),
            resize_center_crop(take(self.truth, indices), height, width),
            indices,
        )


@dataclass
class Features:
    """Cached features of one (dataset, method): the ground truth's per pair, the generated frames' per run output."""

    dataset: str
    method: str
    cache: FeatureCache
    dataset_key: Any
    size: tuple[int, int]
    _memo: dict[Path, np.ndarray] = field(default_factory=dict)

    def real(
        self, tag: str, weights: tuple[Path, ...], pair_id: str, indices: list[int], compute: Callable[[], np.ndarray]
    ) -> np.ndarray:
        key = {
            "dataset": self.dataset_key,
            "pair": pair_id,
            "truth_indices": indices,
            "size": self.size,
            "extractor": tag,
            "weights": weights_digests(weights),
        }
        return self._get(tag, pair_id, key, compute)

    def generated(
        self, tag: str, weights: tuple[Path, ...], pair_id: str, frames: np.ndarray, compute: Callable[[], np.ndarray]
    ) -> np.ndarray:
        """Keyed by the frames' content, so a re-run pair (--overwrite) is extracted again."""
        key = {
            "method": self.method,
            "pair": pair_id,
            "frames_sha1": hashlib.sha1(frames.tobytes()).hexdigest(),
            "shape": frames.shape,
            "extractor": tag,
            "weights": weights_digests(weights),
        }
        return self._get(tag, f"{self.method}--{pair_id}", key, compute)

    def _get(self, tag: str, name: str, key: dict[str, Any], compute: Callable[[], np.ndarray]) -> np.ndarray:
        """From memory when another metric of this run read it (FID and KID share features), else the cache."""
        path = self.cache.path(self.dataset, tag, self.size, name, key)
        if path not in self._memo:
            self._memo[path] = self.cache.get(self.dataset, tag, self.size, name, key, compute)
        return self._memo[path]


def weights_digests(weights: tuple[Path, ...]) -> str | list[str]:
    """The weights files' content hashes: other weights at the same path and size are other features."""
    digests = [weights_digest(p) for p in weights]
    return digests[0] if len(digests) == 1 else digests
