"""The shape of a learned distribution metric on clips: features per pair, one score from two feature sets.

Such an object has: ``name`` (for its messages); one uint8 [T, H, W, 3] clip per pair, ``clip_length``
frames; ``extractor`` (a tag for the features, for caches and results); ``features(clips)`` -> [N, D]
float64; ``score(generated, truth)`` -> float. The metric around it (``kfbench.metrics.shapes.LearnedClipDistance``)
bootstraps by pair over features: ``score(generated[i], truth[i])`` for pair indices ``i`` drawn with replacement.
torch is imported when it is first used, so that the metric modules stay cheap to import.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from kfbench.errors import KfbenchError

if TYPE_CHECKING:
    import torch
    from torch import nn

ENCODER_SIZE = 224


def resize_frames(batch: torch.Tensor, size: int = ENCODER_SIZE) -> torch.Tensor:
    """uint8 [B, T, H, W, 3] -> float [B, 3, T, size, size] in [0, 1]: every frame bilinearly resized, whole (no
    crop)."""
    import torch.nn.functional as F

    b, t, h, w, _ = batch.shape
    frames = batch.reshape(b * t, h, w, 3).permute(0, 3, 1, 2).float() / 255
    frames = F.interpolate(frames, size=(size, size), mode="bilinear", align_corners=False)
    return frames.reshape(b, t, 3, size, size).permute(0, 2, 1, 3, 4)


class ClipDistributionMetric(ABC):
    """Features of each clip from a frozen video encoder; a distance between two sets of features."""

    name: str = ""
    clip_length = 16
    extractor: str = ""

    def __init__(self, model: nn.Module, *, device: str, batch_size: int):
        self.model, self.device, self.batch_size = model.to(device).eval(), device, batch_size

    @abstractmethod
    def preprocess(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 [B, T, H, W, 3] on the device -> the encoder's input."""

    @abstractmethod
    def score(self, generated: np.ndarray, truth: np.ndarray) -> float:
        """The metric between the generated clips' features and the ground truth's (both [N, D])."""

    def features(self, clips: np.ndarray) -> np.ndarray:
        """uint8 clips [N, clip_length, H, W, 3] -> features [N, D] (float64)."""
        import torch

        clips = np.asarray(clips)
        if clips.dtype != np.uint8 or clips.ndim != 5 or clips.shape[-1] != 3 or len(clips) == 0:
            raise KfbenchError(f"{self.name} reads uint8 clips [N, T, H, W, 3], got {clips.dtype} {clips.shape}")
        if clips.shape[1] != self.clip_length:
            raise KfbenchError(
                f"{self.name} is defined on {self.clip_length}-frame clips, got {clips.shape[1]} frames; "
                f"select a {self.clip_length}-frame window of each clip"
            )
        out = []
        with torch.no_grad():
            for start in range(0, len(clips), self.batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(clips[start : start + self.batch_size])).to(self.device)
                out.append(self.model(self.preprocess(batch)).double().cpu().numpy())
        return np.concatenate(out)
