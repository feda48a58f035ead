"""``ssim``: structural similarity of each compared frame against the ground truth (torchmetrics' SSIM)."""

from __future__ import annotations

from typing import Any

import numpy as np

from kfbench.metrics.psnr import frames_as_float
from kfbench.metrics.shapes import PerFrame
from kfbench.utils.parallel import chunks

SSIM_CHUNK_FRAMES, SSIM_GPU_CHUNK_FRAMES = 1, 8

SSIM_CONVENTION = {
    "data_range": 255,
    "window": "gaussian 11x11, sigma 1.5",
    "constants": "K1 0.01, K2 0.03",
    "borders": "reflect-padded",
    "pooling": "mean of the SSIM map over every pixel of the full image and the 3 RGB channels (torchmetrics)",
}


def ssim_per_frame(generated: np.ndarray, truth: np.ndarray, device: str = "cpu") -> np.ndarray:
    """SSIM of each uint8 frame pair, with the conventions of ``SSIM_CONVENTION``, on ``device``.

    Streamed frame by frame (``SSIM_GPU_CHUNK_FRAMES`` at a time on a GPU): torchmetrics' intermediates take about
    0.5 GB per 1080p frame (over 15 GB for a whole clip); each frame's value is the same, as SSIM is computed frame
    by frame.
    """
    from torchmetrics.functional.image import structural_similarity_index_measure

    def chunk(part: slice) -> np.ndarray:
        # float32: float64 convolutions are ~5x slower
        a = frames_as_float(generated[part], "float32").to(device)
        b = frames_as_float(truth[part], "float32").to(device)
        return structural_similarity_index_measure(a, b, data_range=255.0, reduction="none").double().cpu().numpy()

    size = SSIM_CHUNK_FRAMES if device == "cpu" else SSIM_GPU_CHUNK_FRAMES
    return np.concatenate([chunk(part) for part in chunks(len(generated), size)])


class SsimMetric(PerFrame):
    name = "ssim"
    min_side, min_side_why = 11, "its 11x11 Gaussian window"
    description = "SSIM per compared frame against the ground truth (torchmetrics)"
    higher_is_better = True
    label, digits, table = "SSIM", 3, "table1"
    papers = ("Wang et al.: Image quality assessment: from error visibility to structural similarity, IEEE TIP 2004",)

    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return ssim_per_frame(generated, truth, self.config.device)

    def details(self) -> dict[str, Any]:
        return SSIM_CONVENTION
