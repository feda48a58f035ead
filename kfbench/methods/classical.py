"""Weight-free baselines: a cross-fade and bidirectional optical-flow warping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import cv2
import numpy as np

from kfbench.interfaces import Interpolator
from kfbench.utils.imageops import backward_warp
from kfbench.utils.parallel import chunks


def crossfade(first: np.ndarray, last: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Frames (1 - t) * first + t * last at ``times`` (float32, rounded), a few at a time as floats."""
    out = np.empty((len(times), *first.shape), dtype=np.uint8)
    a, b, t = first.astype(np.float32), last.astype(np.float32), np.asarray(times, dtype=np.float32)
    for part in chunks(len(times)):
        step = t[part, None, None, None]
        out[part] = np.clip(np.rint((1 - step) * a + step * b), 0, 255)
    return out


class LinearInterpolator(Interpolator):
    """Cross-fade: frame t is (1 - t) * first + t * last."""

    def _interpolate(
        self,
        first: np.ndarray,
        last: np.ndarray,
        *,
        num_frames: int,
        seed: int,
        latents: Any,
        prompt: str | None = None,
    ) -> np.ndarray:
        return crossfade(first, last, self.output_times(num_frames))


class FlowInterpolator(Interpolator):
    """Dense optical flow both ways (OpenCV), both keyframes warped to time t, falling back to the cross-fade where
    unconfirmed.

    Intermediate flows follow Super SloMo's linear-motion approximation:
    F_t0 = -(1-t) t F_01 + t^2 F_10 and F_t1 = (1-t)^2 F_01 - t (1-t) F_10. Each keyframe's
    confidence c is a forward-backward consistency weight in [0, 1], warped to t with the same flow.
    Frame t is w0 * warp(first) + w1 * warp(last) + (1 - w0 - w1) * crossfade with w0 = (1-t) c0 and
    w1 = t c1: where both flows are confirmed it is the flow blend, where neither is the cross-fade.
    ``dis`` is OpenCV's DIS flow, medium preset (coarse-to-fine patch search with variational refinement).
    """

    def __init__(self, *, algorithm: Literal["dis", "farneback"] = "dis", consistency_sigma: float = 3.0) -> None:
        super().__init__()
        self.algorithm = algorithm
        self.consistency_sigma = consistency_sigma

    def _flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ga, gb = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
        if self.algorithm == "dis":
            dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
            return dis.calc(ga, gb, None)
        return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 5, 15, 5, 7, 1.5, 0)

    def _interpolate(
        self,
        first: np.ndarray,
        last: np.ndarray,
        *,
        num_frames: int,
        seed: int,
        latents: Any,
        prompt: str | None = None,
    ) -> np.ndarray:
        f01, f10 = self._flow(first, last), self._flow(last, first)
        conf0 = self._visibility(f01, f10)
        conf1 = self._visibility(f10, f01)
        a, b = first.astype(np.float32), last.astype(np.float32)
        frames = []
        for t in self.output_times(num_frames):
            if t == 0.0 or t == 1.0:
                frames.append(first if t == 0.0 else last)
                continue
            ft0 = -(1 - t) * t * f01 + t * t * f10
            ft1 = (1 - t) ** 2 * f01 - t * (1 - t) * f10
            w0 = (1 - t) * backward_warp(conf0, ft0)[..., None]
            w1 = t * backward_warp(conf1, ft1)[..., None]
            crossfade = (1 - t) * a + t * b
            blend = w0 * backward_warp(a, ft0) + w1 * backward_warp(b, ft1) + (1 - w0 - w1) * crossfade
            frames.append(np.clip(np.rint(blend), 0, 255).astype(np.uint8))
        return np.stack(frames)

    def _visibility(self, forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
        """Soft weight that a pixel's forward flow is confirmed by the backward flow where it lands."""
        back = backward_warp(backward, forward)
        error = np.sum((forward + back) ** 2, axis=-1)
        return np.exp(-error / (2 * self.consistency_sigma**2)).astype(np.float32)
