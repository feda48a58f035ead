"""``psnr``: peak signal-to-noise ratio of each compared frame against the ground truth, capped at 100 dB."""

from __future__ import annotations

from typing import Any

import numpy as np

from kfbench.metrics.shapes import PerFrame

PSNR_CAP_DB = 100.0
PSNR_CONVENTION = {
    "data_range": 255,
    "cap_db": PSNR_CAP_DB,
    "pooling": f"mean over frames of min(PSNR, {PSNR_CAP_DB:g} dB) per frame; an exact copy (MSE 0, e.g. a keyframe) "
    f"scores {PSNR_CAP_DB:g}",
}


def frames_as_float(frames: np.ndarray, dtype: str = "float64") -> Any:
    """uint8 [N, H, W, 3] -> float tensor [N, 3, H, W] (values 0-255), float64 unless ``dtype`` says otherwise."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).to(getattr(torch, dtype))


def psnr_per_frame(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """PSNR in dB of each uint8 frame pair (data range 255), capped at ``PSNR_CAP_DB`` so it is always finite.

    torchmetrics' ``peak_signal_noise_ratio(..., data_range=255.0, reduction="none", dim=(1, 2, 3))`` on float64
    frames, without the float64 copies: each frame's sum of squared differences is an integer that OpenCV's
    ``norm`` sums exactly from the uint8 frames (as float64 does), then torchmetrics' formula is applied to it.
    """
    import cv2
    import torch

    if len(generated) == 0:
        return np.zeros(0)
    sse = torch.tensor([cv2.norm(a, b, cv2.NORM_L2SQR) for a, b in zip(generated, truth)], dtype=torch.float64)
    observations = torch.tensor(generated[0].size)
    data_range = torch.tensor(255.0)
    decibels = (2 * torch.log(data_range) - torch.log(sse / observations)) * (10 / torch.log(torch.tensor(10.0)))
    return np.minimum(decibels.numpy(), PSNR_CAP_DB)


class PsnrMetric(PerFrame):
    name = "psnr"
    description = "PSNR per compared frame against the ground truth (capped at 100 dB)"
    higher_is_better = True
    label, digits, table = "PSNR", 2, "table1"

    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return psnr_per_frame(generated, truth)

    def details(self) -> dict[str, Any]:
        return PSNR_CONVENTION
