import numpy as np
import pytest
from PIL import Image

import kfbench
from kfbench.errors import KfbenchError


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


@pytest.mark.parametrize("name", ["linear", "flow"])
@pytest.mark.parametrize("num_frames", [2, 7, 25])
def test_interpolate_returns_num_frames_at_the_keyframes_size(name, num_frames):
    pair = kfbench.create_dataset("synthetic", num_pairs=1, height=37, width=53).load("synthetic-0-0000")
    frames = kfbench.create_method(name).interpolate(
        Image.fromarray(pair.first), pair.last, num_frames=num_frames
    )
    assert frames.shape == (num_frames, 37, 53, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames[0], pair.first) and np.array_equal(frames[-1], pair.last)


def test_keyframes_of_different_sizes_are_rejected():
    a, b = np.zeros((32, 48, 3), np.uint8), np.zeros((32, 40, 3), np.uint8)
    with pytest.raises(KfbenchError, match="keyframes differ in size: 48x32 vs 40x32"):
        kfbench.create_method("linear").interpolate(a, b, num_frames=5)


def test_non_image_input_is_rejected():
    with pytest.raises(KfbenchError, match="expected an HxWx3 uint8 image"):
        kfbench.create_method("linear").interpolate(np.zeros((8, 8)), np.zeros((8, 8)), num_frames=3)
