"""``motion_smoothness``: VBench's motion smoothness, how well AMT-S frame interpolation predicts a clip's odd frames
from its even ones, as ``vbench.motion_smoothness.MotionSmoothness`` computes it on a CPU (no ground truth).

The even frames (0, 2, 4, ...) in [0, 1], padded to multiples of 16 by edge replication (split evenly),
give AMT-S's midpoint (t = 0.5, scale 1: VBench rescales only on a GPU, by its memory) between each
neighbouring two; each prediction, unpadded and truncated to uint8 (VBench's ``tensor2img``), is compared
with the odd frame it stands for by the mean absolute difference over pixels and channels; the clip's
score is (255 - the mean over its predictions) / 255, and the value the mean over clips. The network is
kfbench's AMT (``kfbench.methods.amt``), checked against vbench's copy of the release.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kfbench.metrics.vbench.common import VBenchDimension
from kfbench.metrics.weights import WeightsFile

AMT_S = WeightsFile(
    "AMT-S weights",
    "--amt-weights",
    ("amt-s.pth",),
    "the AMT release's amt-s.pth (https://huggingface.co/lalala125/AMT/resolve/main/amt-s.pth), as VBench downloads it",
)
DIVISOR = 16  # VBench's InputPadder at scale 1


def midpoint_errors(frames: np.ndarray, predict: Any) -> list[float]:
    """Mean |AMT midpoint of frames 2i, 2i+2 (uint8, truncated) - frame 2i+1| for each odd frame with both
    neighbours; ``predict(a, b)`` maps padded [1, 3, H, W] frames in [0, 1] to the midpoint."""
    import torch
    import torch.nn.functional as F

    height, width = frames.shape[1:3]
    ph, pw = (-height) % DIVISOR, (-width) % DIVISOR
    pad = [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]
    even = [F.pad(torch.from_numpy(f).permute(2, 0, 1)[None] / 255.0, pad, mode="replicate") for f in frames[::2]]
    errors = []
    with torch.no_grad():
        for a, b, odd in zip(even[:-1], even[1:], frames[1::2]):
            middle = predict(a, b)[..., pad[2] : pad[2] + height, pad[0] : pad[0] + width]
            image = (middle * 255.0)[0].permute(1, 2, 0).numpy().clip(0, 255).astype(np.uint8)
            errors.append(float(np.abs(image.astype(np.int16) - odd.astype(np.int16)).mean()))
    return errors


class MotionSmoothness:
    """A clip (uint8 [T, H, W, 3], T >= 3) -> [(255 - mean midpoint error) / 255, 1]."""

    extractor = "vbench-motion-smoothness/amt-s"

    def __init__(self, weights: Any, device: str = "cpu"):
        from kfbench.methods.amt.weights import load_amt

        self.model, self.device = load_amt(weights, "AMT-S").to(device), device

    def predict(self, a: Any, b: Any) -> Any:
        import torch

        half = torch.full((1, 1, 1, 1), 0.5, device=self.device)
        return self.model(a.to(self.device), b.to(self.device), half, 1.0).cpu()

    def __call__(self, frames: np.ndarray, fps: float) -> np.ndarray:
        if len(frames) < 3:
            return np.array([np.nan, 1.0])
        return np.array([(255.0 - float(np.mean(midpoint_errors(frames, self.predict)))) / 255.0, 1.0])


class MotionSmoothnessMetric(VBenchDimension):
    name = "motion_smoothness"
    description = "VBench motion smoothness: how well AMT-S interpolation predicts the odd frames from the even ones"
    label = "Motion smoothness"
    weights = (AMT_S,)
    papers = (
        "Huang et al.: VBench: comprehensive benchmark suite for video generative models, CVPR 2024",
        "Li et al.: AMT: all-pairs multi-field transforms for efficient frame interpolation, CVPR 2023",
    )
    extractor_tag = MotionSmoothness.extractor
    min_side = 113  # padded to a multiple of 16: 128, AMT's smallest (its coarsest correlation level)
    min_side_why = "AMT's 4-level correlation at 1/8 of the frame, padded to multiples of 16"

    def build(self) -> Any:
        return MotionSmoothness(self.weights_paths[0], self.config.device)

    def rows(self, kept: list[np.ndarray], ctx: Any) -> list[dict[str, Any]]:
        if any(np.isnan(k[0]) for k in kept):
            reason = "motion_smoothness needs clips of at least 3 frames (two even frames around an odd one)"
            return [ctx.row(self.name, n=ctx.pairs, missing_reason=reason)]
        return super().rows(kept, ctx)

    def reference(self) -> str:
        return "vbench.motion_smoothness.MotionSmoothness.motion_score (CPU: scale 1)"
