"""The one resize-and-centre-crop every dataset goes through before a method sees it."""

import numpy as np
import pytest

from kfbench.interfaces import Interpolator, Pair
from kfbench.run.runner import prepare_pair
from kfbench.utils.imageops import resize_center_crop


class FixedSize(Interpolator):
    frame_size = (32, 48)

    def _interpolate(self, first, last, *, num_frames, seed, latents, prompt=None):
        return np.stack([first] * num_frames)


@pytest.mark.parametrize(
    "source, target, scaled",
    [
        ((1080, 1920), (576, 1024), (576, 1024)),  # 1080p to SVD: same aspect, no crop
        ((480, 854), (576, 1024), (576, 1025)),  # DAVIS 480p to SVD: one column cropped
        ((1080, 1920), (320, 512), (320, 569)),  # 1080p to DynamiCrafter: sides cropped
    ],
)
def test_cover_then_centre_crop_keeps_the_aspect_ratio(source, target, scaled):
    h, w = source
    image = np.zeros((h, w, 3), np.uint8)
    image[:, : w // 2] = 200  # left half bright: the crop must stay centred
    out = resize_center_crop(image, *target)
    assert out.shape == (*target, 3)
    crop_left = (scaled[1] - target[1]) // 2
    boundary = round(w / 2 * scaled[1] / w) - crop_left
    assert out[:, : boundary - 2].min() >= 190 and out[:, boundary + 2 :].max() <= 10


def test_downscaling_averages_pixel_areas():
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    out = resize_center_crop(np.repeat(checker[..., None], 3, axis=2), 16, 16)
    assert np.all(np.abs(out.astype(int) - 128) <= 1)  # no aliasing: a 1-pixel checkerboard becomes flat grey


def test_keyframes_and_ground_truth_get_the_same_transform():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 255, (5, 48, 80, 3), dtype=np.uint8)
    pair = prepare_pair(Pair("p", clip[0], clip[-1], clip, {}), FixedSize())
    assert pair.ground_truth.shape == (5, 32, 48, 3)
    assert np.array_equal(pair.first, pair.ground_truth[0]) and np.array_equal(pair.last, pair.ground_truth[-1])
    assert np.array_equal(pair.ground_truth, resize_center_crop(clip, 32, 48))
