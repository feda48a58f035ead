"""``flolpips`` against values computed with the FloLPIPS authors' release (github danier97/flolpips).

The release is no package: tests/data/flolpips_reference.json holds its values on two pairs of clips with
random weights, computed in a session by tests/data/make_flolpips_reference.py, which imports the release
and replaces only its CUDA-only correlation kernel (by a transcription of the kernel's indexing), the
``.cuda()`` on a grid, and the weight downloads (by the random files built here).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from kfbench.metrics.flolpips import FloLpips, flow_weighted_mean
from tests.helpers.flow_clips import panned
from tests.helpers.metric_weights import save_random_alexnet_features, save_random_pwcnet

REFERENCE = json.loads((Path(__file__).parent / "data" / "flolpips_reference.json").read_text())
CASES = {
    "other_motion": (panned(0, 4, (64, 96), (2, 1)), panned(0, 4, (64, 96), (3, -1))),
    "same_motion_other_texture": (panned(1, 4, (64, 96), (1, 2)), panned(2, 4, (64, 96), (1, 2))),
}


@pytest.fixture(scope="module")
def flolpips(tmp_path_factory) -> FloLpips:
    folder = tmp_path_factory.mktemp("flolpips")
    alexnet = save_random_alexnet_features(folder / "alexnet-owt-7be5be79.pth")
    pwc = save_random_pwcnet(folder / "network-default.pytorch")
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (alexnet, pwc)}
    assert digests == REFERENCE["weights"]["sha256"], "the random weights differ from those the reference used"
    return FloLpips(alexnet, pwc)


@pytest.mark.slow  # the random PWC-Net and AlexNet files: about 15 s on 2 busy cores, once
@pytest.mark.parametrize("case", sorted(CASES))
def test_flolpips_equals_the_authors_release_on_random_weights(flolpips, case):
    truth, generated = CASES[case]
    expected = np.array(REFERENCE["flolpips_per_step"][case])
    got = flolpips(generated, truth)
    assert got.shape == (3,) and expected.max() > 0.01
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_flolpips_ranks_wrong_motion_worse_than_right_motion(flolpips):
    """Synthetic sanity check: the same texture moving as the truth scores better than moving another way."""
    truth = panned(3, 4, (64, 64), (2, 0))
    right = np.clip(truth.astype(np.int16) + 6, 0, 255).astype(np.uint8)  # a brightness change, same motion
    wrong = panned(3, 4, (64, 64), (-2, 0))
    assert flolpips(right, truth).mean() < flolpips(wrong, truth).mean()


def test_zero_flow_difference_gives_the_plain_spatial_mean():
    import torch

    distance = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert flow_weighted_mean(distance, torch.zeros(1, 2, 8, 8)).item() == pytest.approx(7.5)
    flow = torch.zeros(1, 2, 4, 4)
    flow[0, 0, 0, 3] = 5.0
    assert flow_weighted_mean(distance, flow).item() == pytest.approx(3.0)
