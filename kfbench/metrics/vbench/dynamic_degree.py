"""``dynamic_degree``: VBench's dynamic degree, whether a clip moves: RAFT flow between consecutive sampled frames, as
``vbench.dynamic_degree.DynamicDegree`` computes it (no ground truth).

Frames are sampled every max(1, round(fps / 8)) frames (VBench reads the video at its frame rate; here the
run's preview rate); each consecutive pair is padded to multiples of 8 (edge replication) and gets RAFT's
flow (20 iterations); its score is the mean of the largest 5% flow magnitudes (of the padded frame). The
clip moves (1) when at least round(4 * n / 16) of the n sampled frames' steps score above 6 * shorter side
/ 256 (VBench's thresholds, Python's rounding); the value is the share of clips that move.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kfbench.metrics.vbench.common import VBenchDimension, video_tensor
from kfbench.metrics.weights import WeightsFile

RAFT_THINGS = WeightsFile(
    "RAFT weights",
    "--raft-weights",
    ("raft-things.pth",),
    "the RAFT authors' raft-things.pth (models.zip of github princeton-vl/RAFT), as VBench downloads it",
)
TOP_SHARE = 0.05


def step_score(flow: Any) -> float:
    """The mean of the largest 5% flow magnitudes of one flow field [2, H, W] (VBench's ``get_score``)."""
    magnitude = np.sqrt(np.square(flow[0]) + np.square(flow[1])).flatten()
    return float(np.mean(np.sort(magnitude)[::-1][: int(magnitude.size * TOP_SHARE)]))


def moves(scores: list[float], height: int, width: int, sampled: int) -> bool:
    """VBench's ``check_move``: at least round(4 * sampled / 16) steps above 6 * min(H, W) / 256 (never without a
    step)."""
    threshold, needed = 6.0 * (min(height, width) / 256.0), round(4 * (sampled / 16.0))
    return bool(scores) and sum(score > threshold for score in scores) >= needed


class DynamicDegree:
    """A clip (uint8 [T, H, W, 3]) and its frame rate -> [1 if it moves else 0, 1]."""

    extractor = "vbench-dynamic-degree/raft-things"

    def __init__(self, weights: Any, device: str = "cpu"):
        from kfbench.metrics.vbench.raft import load_raft

        self.model, self.device = load_raft(weights, RAFT_THINGS.what, RAFT_THINGS.flag).to(device), device

    def scores(self, frames: np.ndarray, fps: float) -> list[float]:
        """Each sampled step's score."""
        import torch

        from kfbench.metrics.vbench.raft import pad_to_eight

        video = video_tensor(frames[:: max(1, round(fps / 8))]).to(self.device)
        out = []
        with torch.no_grad():
            for a, b in zip(video[:-1], video[1:]):
                first, second = pad_to_eight(a[None], b[None])
                out.append(step_score(self.model(first, second)[0].cpu().numpy()))
        return out

    def __call__(self, frames: np.ndarray, fps: float) -> np.ndarray:
        sampled = len(frames[:: max(1, round(fps / 8))])
        moving = moves(self.scores(frames, fps), frames.shape[1], frames.shape[2], sampled)
        return np.array([float(moving), 1.0])


class DynamicDegreeMetric(VBenchDimension):
    name = "dynamic_degree"
    description = "VBench dynamic degree: share of clips whose RAFT flow shows motion above VBench's thresholds"
    label = "Dynamic degree"
    digits = 3
    weights = (RAFT_THINGS,)
    papers = (
        "Huang et al.: VBench: comprehensive benchmark suite for video generative models, CVPR 2024",
        "Teed, Deng: RAFT: recurrent all-pairs field transforms for optical flow, ECCV 2020",
    )
    extractor_tag = DynamicDegree.extractor
    min_side = 57  # padded to a multiple of 8: 64, whose 1/8 RAFT pools three times
    min_side_why = "RAFT's 4-level correlation pyramid at 1/8 of the frame, padded to multiples of 8"

    def build(self) -> Any:
        return DynamicDegree(self.weights_paths[0], self.config.device)

    def reference(self) -> str:
        return "vbench.dynamic_degree.DynamicDegree.infer (frames sampled by the run's preview frame rate)"
