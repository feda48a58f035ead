"""``motion_smoothness`` against vbench 0.1.5's ``MotionSmoothness`` itself (on a CPU): the same mp4, the same random
AMT-S weights in the release's amt-s.pth form, vbench's own copy of the AMT network and its AMT-S config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kfbench.methods.amt.weights import make_tiny_amt
from kfbench.metrics.vbench.motion_smoothness import MotionSmoothness
from kfbench.utils.videoio import write_mp4
from tests.helpers.flow_clips import panned
from tests.helpers.vbench_reference import import_vbench, read_with_cv2

pytestmark = pytest.mark.slow  # full-size random AMT-S networks (vbench's and ours) at 128 x 144 on 2 cores


@pytest.fixture(scope="module")
def amt(tmp_path_factory) -> Path:
    return make_tiny_amt(tmp_path_factory.mktemp("amt"))["amt"]


def test_motion_smoothness_equals_vbench(amt, tmp_path):
    vbench = import_vbench("motion_smoothness")
    config = Path(vbench.__file__).parent / "third_party" / "amt" / "cfgs" / "AMT-S.yaml"
    video = tmp_path / "clip.mp4"
    write_mp4(panned(0, 6, (120, 136), (2, 1)), video, fps=8)
    expected = vbench.MotionSmoothness(str(config), str(amt), "cpu").motion_score(str(video))
    ours = MotionSmoothness(amt)
    got = ours(read_with_cv2(video), 8.0)
    assert got[1] == 1.0 and 0 < got[0] < 1
    np.testing.assert_allclose(got[0], expected, rtol=1e-4)


def test_a_clip_whose_odd_frames_jump_is_less_smooth(amt):
    """Ranking sanity: the same clip with every odd frame replaced by noise scores lower."""
    ours = MotionSmoothness(amt)
    clip = panned(1, 5, (128, 128), (2, 0))
    jumpy = clip.copy()
    jumpy[1::2] = np.random.default_rng(0).integers(0, 256, jumpy[1::2].shape, dtype=np.uint8)
    assert ours(jumpy, 8.0)[0] < ours(clip, 8.0)[0]
