"""``background_consistency``: VBench's background consistency, CLIP ViT-B/32 feature similarity of each frame to the
previous and the first frame, as ``vbench.background_consistency`` computes it (no ground truth)."""

from __future__ import annotations

from typing import Any

import numpy as np

from kfbench.metrics.vbench.common import VBenchDimension, clip_transform, consistency, video_tensor
from kfbench.metrics.weights import WeightsFile

CLIP_B32 = WeightsFile(
    "OpenAI CLIP ViT-B/32 weights",
    "--clip-b32-weights",
    ("ViT-B-32.pt",),
    "OpenAI's CLIP ViT-B-32.pt (https://openaipublic.azureedge.net/clip/models/40d365715913c9da98579312b702a82c18be"
    "219cc2a73407c4526f58eba950af/ViT-B-32.pt), as VBench downloads it",
)


class BackgroundConsistency:
    """A clip (uint8 [T, H, W, 3]) -> [sum, T - 1] of VBench's per-frame background consistency."""

    extractor = "vbench-background-consistency/openai-clip-vit-b32"

    def __init__(self, weights: Any, device: str = "cpu"):
        from kfbench.metrics.vbench.clipvision import load_clip_vision

        self.model, self.device = load_clip_vision(weights, CLIP_B32.what, CLIP_B32.flag).to(device), device

    def __call__(self, frames: np.ndarray, fps: float) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            features = self.model(clip_transform(video_tensor(frames)).to(self.device))
            return consistency(F.normalize(features, dim=-1, p=2).cpu())


class BackgroundConsistencyMetric(VBenchDimension):
    name = "background_consistency"
    description = "VBench background consistency: CLIP ViT-B/32 similarity to the previous and first frame"
    label = "Background consistency"
    weights = (CLIP_B32,)
    papers = (
        "Huang et al.: VBench: comprehensive benchmark suite for video generative models, CVPR 2024",
        "Radford et al.: Learning transferable visual models from natural language supervision (CLIP), ICML 2021",
    )
    extractor_tag = BackgroundConsistency.extractor

    def build(self) -> Any:
        return BackgroundConsistency(self.weights_paths[0], self.config.device)

    def reference(self) -> str:
        return "vbench.background_consistency.background_consistency (read_frame=False)"
