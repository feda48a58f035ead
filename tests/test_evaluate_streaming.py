"""Evaluate streams frames through the weight-free metrics on every core, and its numbers are unchanged (issue 30)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from kfbench import create_dataset, create_method
from kfbench.metrics.evaluate import EvalConfig, evaluate_store
from kfbench.metrics.psnr import psnr_per_frame
from kfbench.metrics.ssim import ssim_per_frame
from kfbench.metrics.temporal import FLICKER_SIGMA_FRACTION, flicker, step_warp_error, warp_error
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


def test_evaluate_gives_the_values_recorded_before_streaming(tmp_path):
    """The cross-fade's frames (numpy only: the same bytes on every CPU) scored by evaluate as before streaming.

    Compared: the metrics computed with numpy and torch (PSNR, SSIM, keyframe PSNR, each per frame too). The
    recording's flow rows and its warp_error and flicker figures are not: they rest on OpenCV (DIS flow, Gaussian
    blur), whose last digits follow the CPU's instruction set (AMD and Intel machines differ by up to 2e-5 relative),
    so they recorded the recording machine rather than evaluate. Streaming those two is checked above and below
    against the whole clip, on the machine that runs the tests.
    """
    recorded = json.loads(RECORDED.read_text())
    data = create_dataset("synthetic", num_pairs=2, num_frames=9, height=48, width=80)
    run_benchmark(create_method("linear"), data, RunStore(tmp_path), data.pair_ids())
    metrics = ("psnr", "ssim", "keyframe_psnr")
    results, per_frame = evaluate_store(tmp_path, EvalConfig(metrics=metrics, bootstrap=20))
    got = {f"{r.method}/{r.metric}": [r.value, r.ci_low, r.ci_high] for r in results.itertuples()}
    expected = {f"linear/{metric}": recorded["results"][f"linear/{metric}"] for metric in metrics}
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-6), key
    frames = {f"{r.method}/{r.pair}/{r.frame}": [r.psnr, r.ssim] for r in per_frame.itertuples()}
    expected = {key: values for key, values in recorded["per_frame"].items() if key.startswith("linear/")}
    assert frames.keys() == expected.keys()
    for key, values in expected.items():
        assert frames[key] == pytest.approx(values, rel=1e-6), key


def test_warp_error_on_every_core_equals_its_steps_one_after_another(clips):
    a, _ = clips
    steps = [step_warp_error(a[t], a[t + 1]) for t in range(len(a) - 1)]
    assert warp_error(a) == float(np.mean(steps))


def _traced_peak(store: Path, metrics: tuple[str, ...]) -> int:
    """Peak bytes numpy and Python allocated while evaluating ``store`` (tracemalloc sees numpy's arrays)."""
    import tracemalloc

    tracemalloc.start()
    try:
        evaluate_store(store, EvalConfig(metrics=metrics, bootstrap=10))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_evaluate_holds_one_pairs_frames_whatever_the_number_of_pairs(tmp_path):
    """Four pairs peak where one does: the next pair loads after the last is dropped, no grid keeps its clip."""
    data = create_dataset("synthetic", num_pairs=4, num_frames=9, height=288, width=512)
    clip = 9 * 288 * 512 * 3
    peaks = {}
    for count in (1, 4):
        store = tmp_path / f"{count}-pairs"
        run_benchmark(create_method("linear"), data, RunStore(store), data.pair_ids()[:count])
        _traced_peak(store, ("psnr",))  # imports and first-call caches, untraced from here on
        peaks[count] = _traced_peak(store, ("psnr", "ssim"))
    assert peaks[4] - peaks[1] < clip, (peaks, clip)
