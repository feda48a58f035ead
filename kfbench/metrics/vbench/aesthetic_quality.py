"""``aesthetic_quality``: VBench's aesthetic quality, the LAION aesthetic predictor (a linear head on normalised CLIP
ViT-L/14 image embeddings) / 10, averaged over a clip's frames, as ``vbench.aesthetic_quality`` computes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.vbench.common import VBenchDimension, clip_transform, video_tensor
from kfbench.metrics.weights import WeightsFile

CLIP_L14 = WeightsFile(
    "OpenAI CLIP ViT-L/14 weights",
    "--clip-l14-weights",
    ("ViT-L-14.pt",),
    "OpenAI's CLIP ViT-L-14.pt (https://openaipublic.azureedge.net/clip/models/b8cca3fd41ae0c99ba7e8951adf17d267cdb84"
    "cd88be6f7c2e0eca1737a03836/ViT-L-14.pt), as VBench downloads it",
)
LAION_HEAD = WeightsFile(
    "LAION aesthetic predictor head",
    "--aesthetic-head-weights",
    ("sa_0_4_vit_l_14_linear.pth",),
    "LAION's sa_0_4_vit_l_14_linear.pth (github LAION-AI/aesthetic-predictor), as VBench downloads it",
)
BATCH = 32  # VBench's batch size (the result does not depend on it)


def load_head(path: Path) -> Any:
    """The LAION linear head (768 -> 1), read weights-only."""
    import torch

    from kfbench.utils.safeload import load_weights_only, state_dict_of

    state = state_dict_of(load_weights_only(path, LAION_HEAD.what), LAION_HEAD.what, path)
    head = torch.nn.Linear(768, 1)
    try:
        head.load_state_dict(state)
    except RuntimeError as exc:
        raise KfbenchError(
            f"{LAION_HEAD.what} '{path}' is not a 768 -> 1 linear layer ({str(exc).splitlines()[0]}); "
            f"pass sa_0_4_vit_l_14_linear.pth with {LAION_HEAD.flag}"
        ) from None
    return head.eval()


class AestheticQuality:
    """A clip (uint8 [T, H, W, 3]) -> [mean over frames of the LAION score / 10, 1]."""

    extractor = "vbench-aesthetic-quality/openai-clip-vit-l14/laion-sa-0-4-linear"

    def __init__(self, clip: Path, head: Path, device: str = "cpu"):
        from kfbench.metrics.vbench.clipvision import load_clip_vision

        self.model = load_clip_vision(clip, CLIP_L14.what, CLIP_L14.flag).to(device)
        self.head, self.device = load_head(head).to(device), device

    def __call__(self, frames: np.ndarray, fps: float) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        video, scores = video_tensor(frames), []
        with torch.no_grad():
            for start in range(0, len(video), BATCH):
                batch = clip_transform(video[start : start + BATCH]).to(self.device)
                features = F.normalize(self.model(batch).float(), dim=-1, p=2)
                scores.append(self.head(features).squeeze(-1))
        return np.array([float(torch.cat(scores).div(10).mean()), 1.0])


class AestheticQualityMetric(VBenchDimension):
    name = "aesthetic_quality"
    description = "VBench aesthetic quality: LAION aesthetic predictor on CLIP ViT-L/14, /10, mean over frames"
    label = "Aesthetic quality"
    weights = (CLIP_L14, LAION_HEAD)
    papers = (
        "Huang et al.: VBench: comprehensive benchmark suite for video generative models, CVPR 2024",
        "Schuhmann et al.: LAION-5B (the LAION aesthetic predictor), NeurIPS 2022 Datasets and Benchmarks",
    )
    extractor_tag = AestheticQuality.extractor

    def build(self) -> Any:
        return AestheticQuality(*self.weights_paths, device=self.config.device)

    def reference(self) -> str:
        return "vbench.aesthetic_quality.laion_aesthetic"
