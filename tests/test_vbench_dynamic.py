"""``dynamic_degree`` against vbench 0.1.5's ``DynamicDegree`` itself: the same mp4 (read at its frame rate), identical
random RAFT weights in raft-things.pth's layout; the per-step flow scores and the moving/static decision."""

from __future__ import annotations

import numpy as np
import pytest
from easydict import EasyDict

from kfbench.metrics.vbench.dynamic_degree import DynamicDegree, moves
from kfbench.utils.videoio import write_mp4
from tests.helpers.flow_clips import panned
from tests.helpers.vbench_reference import import_vbench, read_with_cv2, save_random_raft


@pytest.mark.slow  # RAFT's 20 iterations, twice (vbench's and ours), about 10 s a frame rate on 2 cores
@pytest.mark.parametrize("fps", [24.0, 12.0])
def test_dynamic_degree_equals_vbench(fps, tmp_path, monkeypatch):
    vbench = import_vbench("dynamic_degree")
    weights = save_random_raft(tmp_path / "raft-things.pth")
    video = tmp_path / "moving.mp4"
    write_mp4(panned(0, 7, (64, 64), (3, 1)), video, fps=fps)
    recorded = []
    check_move = vbench.DynamicDegree.check_move

    def record(self, scores):
        recorded.append((list(scores), dict(self.params)))
        return check_move(self, scores)

    monkeypatch.setattr(vbench.DynamicDegree, "check_move", record)
    args = EasyDict({"model": str(weights), "small": False, "mixed_precision": False, "alternate_corr": False})
    expected = vbench.DynamicDegree(args, "cpu").infer(str(video))
    ((expected_scores, params),) = recorded

    ours, frames = DynamicDegree(weights), read_with_cv2(video)
    scores = ours.scores(frames, fps)
    assert len(scores) == len(expected_scores) == (2 if fps == 24 else 3)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-4)
    assert ours(frames, fps).tolist() == [float(expected), 1.0]
    assert params == {"thres": 6.0 * 64 / 256, "count_num": round(4 * (len(scores) + 1) / 16)}


def test_the_thresholds_follow_vbench():
    """6 * shorter side / 256 per step, round(4 * n / 16) steps of n sampled frames (Python rounding), never without
    a step: a still clip is static, one that moves enough often enough is dynamic."""
    assert moves([], 64, 64, 1) is False
    assert moves([1.6], 64, 96, 2) is True  # round(0.5) == 0 steps needed, as VBench's loop returns at once
    assert moves([1.4, 1.4, 1.4], 64, 96, 4) is False and moves([1.4, 1.6, 1.4], 64, 96, 4) is True
    assert moves([2.0] * 9 + [0.0] * 6, 64, 64, 16) is True and moves([2.0] * 3 + [0.0] * 12, 64, 64, 16) is False
