"""Evaluate streams frames through the weight-free metrics on every core, and its numbers are unchanged (issue 30)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from kfbench import create_dataset, create_method
from kfbench.metrics.evaluate import EvalConfig, evaluate_store
from kfbench.metrics.psnr import psnr_per_frame
from kfbench.metrics.ssim import ssim_per_frame
from kfbench.metrics.temporal import FLICKER_SIGMA_FRACTION, flicker
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from kfbench.utils.parallel import CHUNK_FRAMES

RECORDED = Path(__file__).parent / "data" / "evaluate_weight_free_values.json"


@pytest.fixture(scope="module")
def clips():
    """Two clips longer than a chunk (flicker, PSNR: 4 frames; SSIM: 1), the second a noisy copy of the first."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2 * CHUNK_FRAMES + 1, 40, 56, 3), dtype=np.uint8)
    b = np.clip(a.astype(np.int16) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    return a, b


def as_tensor(frames: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(frames).permute(0, 3, 1, 2).to(dtype)


def test_streamed_ssim_and_psnr_equal_torchmetrics_on_the_whole_clip(clips):
    a, b = clips
    whole_ssim = structural_similarity_index_measure(
        as_tensor(a, torch.float32), as_tensor(b, torch.float32), data_range=255.0, reduction="none"
    )
    whole_psnr = peak_signal_noise_ratio(
        as_tensor(a, torch.float64), as_tensor(b, torch.float64), data_range=255.0, reduction="none", dim=(1, 2, 3)
    )
    np.testing.assert_allclose(ssim_per_frame(a, b), whole_ssim.double().numpy(), rtol=1e-6, atol=0)
    np.testing.assert_allclose(psnr_per_frame(a, b), whole_psnr.numpy(), rtol=1e-6, atol=0)


def test_streamed_flicker_equals_the_mean_over_the_whole_blurred_clip(clips):
    import cv2

    a, _ = clips
    sigma = FLICKER_SIGMA_FRACTION * min(a.shape[1:3])
    low = np.stack([cv2.GaussianBlur(f.astype(np.float32) / 255, (0, 0), sigma) for f in a]).astype(np.float64)
    assert flicker(a) == pytest.approx(np.abs(np.diff(low, axis=0)).mean(), rel=1e-9)


@pytest.mark.slow  # two methods run and evaluated: about 30 s on a loaded 2-core machine
def test_evaluate_gives_the_values_recorded_before_streaming(tmp_path):
    """Run in a fresh interpreter: other tests' imports change process-global state (vbench's RAFT calls
    cv2.setNumThreads, and OpenCV DIS's last digits follow it), which is not what this test is about."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pool.apply(compare_with_recorded, (str(tmp_path),))


def compare_with_recorded(folder: str) -> None:
    tmp_path = Path(folder)
    recorded = json.loads(RECORDED.read_text())
    data = create_dataset("synthetic", num_pairs=2, num_frames=9, height=48, width=80)
    for name in ("linear", "flow"):
        run_benchmark(create_method(name), data, RunStore(tmp_path), data.pair_ids())
    metrics = ("psnr", "ssim", "warp_error", "flicker", "keyframe_psnr")
    results, per_frame = evaluate_store(tmp_path, EvalConfig(metrics=metrics, bootstrap=20))
    got = {f"{r.method}/{r.metric}": [r.value, r.ci_low, r.ci_high] for r in results.itertuples()}
    assert got.keys() == recorded["results"].keys()
    for key, values in recorded["results"].items():
        # flicker was a float32 mean over the stacked clip, now each step's mean in float64: its value moves by
        # float32 rounding (< 1e-6), its interval bounds (bootstrapped logs of small ratios) by up to ~3e-6
        bounds = 5e-6 if key.endswith("/flicker") else 1e-6
        assert got[key][0] == pytest.approx(values[0], rel=1e-6), key
        assert got[key][1:] == pytest.approx(values[1:], rel=bounds), key
    frames = {f"{r.method}/{r.pair}/{r.frame}": [r.psnr, r.ssim] for r in per_frame.itertuples()}
    assert frames.keys() == recorded["per_frame"].keys()
    for key, values in recorded["per_frame"].items():
        assert frames[key] == pytest.approx(values, rel=1e-6), key
