"""Keyframe fidelity and temporal consistency: exact for methods that keep their keyframes, worse with flicker."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import kfbench
from kfbench.errors import KfbenchError
from kfbench.methods.classical import LinearInterpolator
from kfbench.metrics.keyframe import PSNR_CAP, KeyframeLpips, KeyframePsnr
from kfbench.metrics.temporal import Flicker, WarpError
from tests.helpers.metric_weights import save_random_alexnet


class BrightenedLinear(LinearInterpolator):
    """The cross-fade, every frame (so its endpoints too) 6 levels brighter: a method that drifts from its keyframes."""

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
        frames = super()._interpolate(first, last, num_frames=num_frames, seed=seed, latents=latents)
        return np.clip(frames.astype(np.int16) + 6, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def pairs():
    return list(kfbench.create_dataset("synthetic", num_pairs=3, motion="translation", height=64, width=96))


def _keyframe_rows(metric, method, pairs) -> np.ndarray:
    return np.stack(
        [metric.features(method.interpolate(p.first, p.last, num_frames=9), p.first, p.last) for p in pairs]
    )


def test_keyframe_psnr_is_exact_for_linear_and_finite_for_a_method_that_moves_its_endpoints(pairs):
    metric = KeyframePsnr()
    linear = metric.score(_keyframe_rows(metric, kfbench.create_method("linear"), pairs))
    assert linear == {
        "keyframe_psnr": PSNR_CAP,
        "keyframe_psnr_first": PSNR_CAP,
        "keyframe_psnr_last": PSNR_CAP,
        "keyframe_exact": 1.0,
    }
    drifted = metric.score(_keyframe_rows(metric, BrightenedLinear(), pairs))
    assert drifted["keyframe_exact"] == 0.0
    assert (
        25 < drifted["keyframe_psnr_first"] < 40 and 25 < drifted["keyframe_psnr_last"] < 40
    )  # ~6 levels: 20 log10(255/6) = 32.6 dB


def test_keyframe_lpips_is_zero_for_linear_and_positive_for_a_method_that_moves_its_endpoints(pairs, tmp_path):
    metric = KeyframeLpips(save_random_alexnet(tmp_path / "alexnet-owt-7be5be79.pth"))
    linear = metric.score(_keyframe_rows(metric, kfbench.create_method("linear"), pairs))
    assert linear["keyframe_lpips"] == 0.0 and "keyframe_exact" not in linear
    assert metric.score(_keyframe_rows(metric, BrightenedLinear(), pairs))["keyframe_lpips"] > 1e-4


def test_keyframe_metrics_refuse_keyframes_of_another_size(pairs):
    clip = kfbench.create_method("linear").interpolate(pairs[0].first, pairs[0].last, num_frames=5)
    with pytest.raises(KfbenchError, match="resize the keyframes to the generated size"):
        KeyframePsnr().features(clip, pairs[0].first[:32], pairs[0].last[:32])


def _with_flicker(frames: np.ndarray, seed: int) -> np.ndarray:
    """Every in-between frame shifted by a random +-4..10 levels: global brightness flicker."""
    offsets = np.random.default_rng(seed).uniform(4, 10, len(frames)) * np.resize([1, -1], len(frames))
    offsets[[0, -1]] = 0
    return np.clip(frames + offsets[:, None, None, None], 0, 255).astype(np.uint8)


@pytest.mark.parametrize("metric", [WarpError(), Flicker()], ids=lambda m: m.name)
def test_temporal_metrics_rank_flicker_below_the_same_interpolation_without(metric, pairs):
    method = kfbench.create_method("flow")
    clean, flickered = [], []
    for index, pair in enumerate(pairs):
        frames = method.interpolate(pair.first, pair.last, num_frames=len(pair.ground_truth))
        clean.append(metric.features(frames, pair.ground_truth))
        flickered.append(metric.features(_with_flicker(frames, index), pair.ground_truth))
    steady, flickery = metric.score(np.stack(clean)), metric.score(np.stack(flickered))
    assert flickery[metric.name] > 1.5 * steady[metric.name], (steady, flickery)
    assert steady.keys() == flickery.keys() and list(steady)[0] == metric.name
    truth_key = [k for k in steady if k.endswith("ground_truth")][0]
    assert steady[truth_key] == flickery[truth_key] > 0  # the ground truth's own figure, beside


def test_temporal_metrics_refuse_clips_of_different_shapes(pairs):
    with pytest.raises(KfbenchError, match="same shape"):
        WarpError().features(pairs[0].ground_truth, pairs[0].ground_truth[:-1])
