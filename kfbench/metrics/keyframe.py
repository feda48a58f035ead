"""The figures of ``keyframe_psnr`` and ``keyframe_lpips``: how far a method's end frames are from its keyframes.

Methods that decode their own keyframes (e.g. through a video VAE) drift from them; ones that copy them
reproduce them exactly. Each pair gives the distance of generated frame 0 to the first keyframe and of
frame T-1 to the last, both at the generated size (the keyframes as the method received them). PSNR is
capped at ``PSNR_CAP`` dB so that an exact copy (MSE 0, PSNR infinite) averages; ``keyframe_exact`` is
the fraction of keyframes reproduced bit for bit, so a capped value is never mistaken for an exact one.

Shape: ``features(generated, first, last)`` (the generated clip [T, H, W, 3] and the two keyframes
[H, W, 3]) -> one row per pair; ``score(rows)`` -> named figures, the headline first (its ``name``);
the metrics (``kfbench.metrics.keyframe_psnr``, ``keyframe_lpips``) bootstrap by pair over rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.lpips import LpipsPerFrame
from kfbench.metrics.psnr import psnr_per_frame

PSNR_CAP = 100.0


class KeyframeDistance(ABC):
    """Distance of the generated end frames from the input keyframes; rows [first, last, first exact, last exact]."""

    name: str = ""
    extractor: str = ""
    reports_exact = False

    @abstractmethod
    def distance(self, ends: np.ndarray, keyframes: np.ndarray) -> np.ndarray:
        """Per-frame distance of uint8 [2, H, W, 3] end frames from the [2, H, W, 3] keyframes."""

    def features(self, generated: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        keyframes = np.stack([np.asarray(first), np.asarray(last)])
        if generated.ndim != 4 or len(generated) < 2 or generated.shape[1:] != keyframes.shape[1:]:
            raise KfbenchError(
                f"{self.name} compares a clip's end frames with its keyframes at the same size: clip "
                f"{generated.shape}, "
                f"keyframes {keyframes.shape[1:]}; resize the keyframes to the generated size first"
            )
        ends = generated[[0, -1]]
        exact = (ends == keyframes).all(axis=(1, 2, 3)).astype(np.float64)
        return np.concatenate([np.asarray(self.distance(ends, keyframes), np.float64), exact])

    def score(self, rows: np.ndarray) -> dict[str, float]:
        rows = np.asarray(rows, np.float64).reshape(-1, 4)
        figures = {
            self.name: float(rows[:, :2].mean()),
            f"{self.name}_first": float(rows[:, 0].mean()),
            f"{self.name}_last": float(rows[:, 1].mean()),
        }
        if self.reports_exact:
            figures["keyframe_exact"] = float(rows[:, 2:].mean())
        return figures


class KeyframePsnr(KeyframeDistance):
    """PSNR (dB, data range 255, capped at PSNR_CAP) of the end frames against the keyframes; higher is closer."""

    name = "keyframe_psnr"
    reports_exact = True

    def distance(self, ends: np.ndarray, keyframes: np.ndarray) -> np.ndarray:
        return np.minimum(psnr_per_frame(ends, keyframes), PSNR_CAP)


class KeyframeLpips(KeyframeDistance):
    """LPIPS (v0.1, AlexNet) of the end frames against the keyframes; 0 for an exact copy."""

    name = "keyframe_lpips"
    extractor = LpipsPerFrame.tag

    def __init__(self, backbone: Path, *, device: str = "cpu"):
        self.lpips = LpipsPerFrame(backbone, device=device)

    def distance(self, ends: np.ndarray, keyframes: np.ndarray) -> np.ndarray:
        return self.lpips(ends, keyframes)
