"""``imaging_quality``: VBench's imaging quality, MUSIQ trained on SPAQ (its 0-100 score) averaged over a clip's frames,
/ 100, as ``vbench.imaging_quality`` computes it (no ground truth)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kfbench.metrics.vbench.common import VBenchDimension, longer_side_transform, video_tensor
from kfbench.metrics.weights import WeightsFile

MUSIQ_SPAQ = WeightsFile(
    "MUSIQ (SPAQ) weights",
    "--musiq-weights",
    ("musiq_spaq_ckpt-358bb6af.pth",),
    "pyiqa's musiq_spaq_ckpt-358bb6af.pth (https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/"
    "musiq_spaq_ckpt-358bb6af.pth), which VBench downloads to ~/.cache/vbench/pyiqa_model/",
)
LONGER_SIDE = 512  # VBench's default imaging_quality_preprocessing_mode 'longer'
BATCH = 8  # frames per forward pass (VBench feeds one at a time; the result does not depend on it)


class ImagingQuality:
    """A clip (uint8 [T, H, W, 3]) -> [mean over frames of the MUSIQ score / 100, 1]."""

    extractor = "vbench-imaging-quality/musiq-spaq"

    def __init__(self, weights: Path, device: str = "cpu"):
        from kfbench.metrics.vbench.musiq import load_musiq

        self.model, self.device = load_musiq(weights, MUSIQ_SPAQ.what, MUSIQ_SPAQ.flag).to(device), device

    def scores(self, frames: np.ndarray) -> np.ndarray:
        """Each frame's MUSIQ score (0-100), after VBench's resize."""
        import torch

        video = longer_side_transform(video_tensor(frames), LONGER_SIDE)
        with torch.no_grad():
            batches = [self.model(video[s : s + BATCH].to(self.device)).cpu() for s in range(0, len(video), BATCH)]
        return torch.cat(batches).double().numpy()

    def __call__(self, frames: np.ndarray, fps: float) -> np.ndarray:
        return np.array([float(self.scores(frames).mean()) / 100, 1.0])


class ImagingQualityMetric(VBenchDimension):
    name = "imaging_quality"
    description = "VBench imaging quality: MUSIQ (SPAQ) score / 100, mean over frames"
    label = "Imaging quality"
    weights = (MUSIQ_SPAQ,)
    papers = (
        "Huang et al.: VBench: comprehensive benchmark suite for video generative models, CVPR 2024",
        "Ke et al.: MUSIQ: multi-scale image quality transformer, ICCV 2021",
    )
    extractor_tag = ImagingQuality.extractor

    def build(self) -> Any:
        return ImagingQuality(self.weights_paths[0], self.config.device)

    def reference(self) -> str:
        return "vbench.imaging_quality.technical_quality (preprocessing 'longer') with pyiqa 0.1.16's MUSIQ"
