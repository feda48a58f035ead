import numpy as np
import pytest

import kfbench
from kfbench.errors import KfbenchError


def test_deterministic_per_seed_and_different_across_seeds():
    a = kfbench.create_dataset("synthetic", num_pairs=2, scene_seed=3).load("synthetic-3-0001")
    b = kfbench.create_dataset("synthetic", num_pairs=2, scene_seed=3).load("synthetic-3-0001")
    c = kfbench.create_dataset("synthetic", num_pairs=2, scene_seed=4).load("synthetic-4-0001")
    assert np.array_equal(a.ground_truth, b.ground_truth)
    assert not np.array_equal(a.ground_truth, c.ground_truth)


@pytest.mark.parametrize("motion", ["translation", "rotation", "scale", "occlusion"])
def test_any_size_and_length_with_ground_truth_spanning_the_keyframes(motion):
    data = kfbench.create_dataset("synthetic", num_pairs=1, num_frames=9, height=40, width=70, motion=motion)
    pair = next(iter(data))
    assert pair.ground_truth.shape == (9, 40, 70, 3) and pair.ground_truth.dtype == np.uint8
    assert np.array_equal(pair.ground_truth[0], pair.first) and np.array_equal(pair.ground_truth[-1], pair.last)
    assert pair.meta["motion"] == motion and pair.meta["frame_indices"] == list(range(9))
    # The clip moves: consecutive frames differ.
    assert np.abs(np.diff(pair.ground_truth.astype(int), axis=0)).mean() > 1


def test_bad_options_are_clear_errors():
    with pytest.raises(KfbenchError, match="motion must be one of"):
        kfbench.create_dataset("synthetic", motion="wobble")
