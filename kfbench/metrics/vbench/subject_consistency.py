"""``subject_consistency``: VBench's subject consistency, DINO ViT-B/16 [CLS] similarity of each frame to the previous
and the first frame, as ``vbench.subject_consistency`` computes it (no ground truth)."""

from __future__ import annotations

from typing import Any

import numpy as np

from kfbench.metrics.vbench.common import VBenchDimension, consistency, dino_transform, video_tensor
from kfbench.metrics.weights import WeightsFile

DINO_B16 = WeightsFile(
    "DINO ViT-B/16 weights",
    "--dino-weights",
    ("dino_vitbase16_pretrain.pth",),
    "DINO's dino_vitbase16_pretrain.pth (https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/), which "
    "VBench's torch hub call downloads",
)


class SubjectConsistency:
    """A clip (uint8 [T, H, W, 3]) -> [sum, T - 1] of VBench's per-frame subject consistency."""

    extractor = "vbench-subject-consistency/dino-vitb16"

    def __init__(self, weights: Any, device: str = "cpu"):
        from kfbench.metrics.vbench.dino import load_dino

        self.model, self.device = load_dino(weights, DINO_B16.what, DINO_B16.flag).to(device), device

    def __call__(self, frames: np.ndarray, fps: float) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        images = dino_transform(video_tensor(frames))
        with torch.no_grad():  # one frame at a time, as VBench feeds DINO
            features = torch.cat([self.model(image[None].to(self.device)).cpu() for image in images])
        return consistency(F.normalize(features, dim=-1, p=2))


class SubjectConsistencyMetric(VBenchDimension):
    name = "subject_consistency"
    description = "VBench subject consistency: DINO ViT-B/16 similarity to the previous and first frame"
    label = "Subject consistency"
    weights = (DINO_B16,)
    papers = (
        "Huang et al.: VBench: comprehensive benchmark suite for video generative models, CVPR 2024",
        "Caron et al.: Emerging properties in self-supervised vision transformers (DINO), ICCV 2021",
    )
    extractor_tag = SubjectConsistency.extractor

    def build(self) -> Any:
        return SubjectConsistency(self.weights_paths[0], self.config.device)

    def reference(self) -> str:
        return "vbench.subject_consistency.subject_consistency (read_frame=False) with torch hub dino_vitb16"
