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


def frames_as_float(frames: np.ndarray) -> Any:
    """uint8 [N, H, W, 3] -> float64 tensor [N, 3, H, W] (values 0-255)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).double()


def psnr_per_frame(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """PSNR in dB of each uint8 frame pair (data range 255), capped at ``PSNR_CAP_DB`` so it is always finite."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    values = peak_signal_noise_ratio(
        frames_as_float(generated), frames_as_float(truth), data_range=255.0, reduction="none", dim=(1, 2, 3)
    )
    return np.minimum(values.numpy(), PSNR_CAP_DB)


class PsnrMetric(PerFrame):
    name = "psnr"
    description = "PSNR per compared frame against the ground truth (capped at 100 dB)"
    higher_is_better = True
    label, digits, table = "PSNR", 2, "table1"

    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return psnr_per_frame(generated, truth)

    def details(self) -> dict[str, Any]:
        return PSNR_CONVENTION
