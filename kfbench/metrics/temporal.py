"""The figures of ``warp_error`` and ``flicker`` (weight-free temporal consistency), each beside the ground truth's.

``warp_error`` (after Lai et al., ECCV 2018): for each pair of consecutive frames, OpenCV DIS optical flow
(``DISOPTICAL_FLOW_PRESET_MEDIUM`` on grey frames) both ways; frame t+1 is warped back to t with the forward
flow; pixels whose forward flow is not undone by the backward flow where it lands (|f + b|^2 >=
0.01 (|f|^2 + |b|^2) + 0.5, as in Ruder et al. 2016) are occluded and left out; the error is the mean squared
RGB difference (values in [0, 1]) over the visible pixels, averaged over the T-1 steps of the clip.
``flicker``: the mean absolute frame-to-frame change of Gaussian-blurred frames (sigma = shorter side / 32,
values in [0, 1]).

Both have the ground truth's own value as their ideal (a video steadier than the real one is not
better), so the headline is the distance to it, per pair, averaged: ``warp_error`` |generated -
ground truth|, ``flicker`` |log(generated / ground truth)| (0: as steady as the real video; pairs whose
ground truth does not change at all are left out). The raw figures sit beside it. Without ground
truth the headline is the generated clips' raw mean, and the row's settings say so.

Shape: ``features(generated, truth)`` (the generated clip [T, H, W, 3], keyframes included, and the ground
truth at the same times and size) -> [generated figure, ground-truth figure] per pair; ``score(rows)`` ->
named figures, the headline first; the metrics (``kfbench.metrics.warp_error``, ``flicker``) bootstrap by pair.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import cv2
import numpy as np

from kfbench.errors import KfbenchError
from kfbench.utils.imageops import backward_warp
from kfbench.utils.parallel import chunks, map_ordered

OCCLUSION_ALPHA, OCCLUSION_BETA = 0.01, 0.5
FLICKER_SIGMA_FRACTION = 1 / 32


DIS_MIN_SIDE = 12
"""Frames smaller than this (height and width) are refused by OpenCV's DIS optical flow."""


def dis_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow [H, W, 2] from RGB frame a to b (OpenCV DIS, medium preset, on grey)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), None)


def visible(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Pixels whose forward flow the backward flow undoes (forward-backward check): bool [H, W]."""
    back = backward_warp(backward, forward)
    mismatch = np.sum((forward + back) ** 2, axis=-1)
    return mismatch < OCCLUSION_ALPHA * (np.sum(forward**2, axis=-1) + np.sum(back**2, axis=-1)) + OCCLUSION_BETA


def warp_error(frames: np.ndarray) -> float:
    """Mean over consecutive frames of the visible pixels' squared difference to the next frame warped back.

    The steps run on every core (``kfbench.utils.parallel``), each holding only its two frames' flows.
    """
    return float(np.mean(map_ordered(lambda t: step_warp_error(frames[t], frames[t + 1]), range(len(frames) - 1))))


def step_warp_error(a: np.ndarray, b: np.ndarray) -> float:
    """The visible pixels' mean squared difference between frame a and frame b warped back onto it."""
    forward, backward = dis_flow(a, b), dis_flow(b, a)
    mask = visible(forward, backward)
    warped = backward_warp(b.astype(np.float32) / 255, forward)
    squared = ((a.astype(np.float32) / 255 - warped) ** 2).mean(axis=-1)
    return float(squared[mask].sum() / max(mask.sum(), 1))


def flicker(frames: np.ndarray) -> float:
    """Mean absolute frame-to-frame change of the Gaussian-blurred frames (values in [0, 1]).

    Streamed: a few blurred frames at a time (on every core), each step's mean taken in float64; the
    value agrees with the float32 mean over the whole stacked clip to its rounding (about 1e-7 relative).
    """
    sigma = FLICKER_SIGMA_FRACTION * min(frames.shape[1:3])

    def blur(f: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(f.astype(np.float32) / 255, (0, 0), sigma)

    total, previous = 0.0, None
    for part in chunks(len(frames)):
        low = map_ordered(blur, frames[part])
        for current in low:
            if previous is not None:
                total += float(np.abs(current - previous).mean(dtype=np.float64))
            previous = current
    return total / (len(frames) - 1)


class GeneratedBesideTruth(ABC):
    """A figure of a clip, for the generated clip and for the ground truth; rows [generated, truth]."""

    name: str = ""
    extractor: str = ""

    @abstractmethod
    def figure(self, frames: np.ndarray) -> float:
        """The figure of one uint8 clip [T, H, W, 3]."""

    def features(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        if generated.ndim != 4 or generated.shape != truth.shape or len(generated) < 2:
            raise KfbenchError(
                f"{self.name} needs a generated clip and its ground truth of the same shape with at least 2 frames, "
                f"got {generated.shape} and {truth.shape}"
            )
        return np.array([self.figure(generated), self.figure(truth)], np.float64)

    @staticmethod
    @abstractmethod
    def distance(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Per pair: how far the generated figure is from the ground truth's."""

    def score(self, rows: np.ndarray) -> dict[str, float]:
        """The mean distance to the ground truth with both raw means beside; without ground truth (NaN) the raw mean."""
        rows = np.asarray(rows, np.float64).reshape(-1, 2)
        generated, truth = rows[:, 0], rows[:, 1]
        if np.isnan(truth).all():
            return {self.name: float(generated.mean()), f"{self.name}_generated": float(generated.mean())}
        with np.errstate(divide="ignore", invalid="ignore"):
            distances = self.distance(generated, truth)
        finite = distances[np.isfinite(distances)]
        return {
            self.name: float(finite.mean()) if len(finite) else float("nan"),
            f"{self.name}_generated": float(generated.mean()),
            f"{self.name}_ground_truth": float(truth.mean()),
        }

    def quantity(self, with_truth: bool) -> str:
        """What the headline value is."""
        if with_truth:
            return self.distance_text
        return f"the generated clips' raw {self.name} (no ground truth to compare with)"

    distance_text = ""


class WarpError(GeneratedBesideTruth):
    """Flow-warping error between consecutive frames (occlusions masked): |generated - ground truth| per pair."""

    name = "warp_error"
    extractor = "opencv-dis-medium/forward-backward-occlusion"
    distance_text = "|generated - ground truth| warp error per pair, averaged (0: as steady as the real video)"

    def figure(self, frames: np.ndarray) -> float:
        return warp_error(frames)

    @staticmethod
    def distance(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return np.abs(generated - truth)


class Flicker(GeneratedBesideTruth):
    """Low-pass frame-to-frame change: |log(generated / ground truth)| per pair; 0 is as steady as the real video."""

    name = "flicker"
    extractor = "gaussian-blur-sigma-shorter-side/32"
    distance_text = (
        "|log(generated / ground truth)| flicker per pair, averaged over pairs whose ground truth changes "
        "(0: as steady as the real video)"
    )

    def figure(self, frames: np.ndarray) -> float:
        return flicker(frames)

    @staticmethod
    def distance(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return np.abs(np.log(generated / truth))
