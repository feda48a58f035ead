"""``subject_consistency`` against vbench 0.1.5: live with our DINO network inside vbench's own function, and against
values that vbench computed with DINO's own network code (tests/data/subject_consistency_reference.json, made by
tests/data/make_subject_consistency_reference.py from github facebookresearch/dino, which is no package)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from kfbench.metrics.vbench.subject_consistency import SubjectConsistency
from tests.helpers.vbench_reference import import_vbench, read_video, save_random_dino, subject_videos

REFERENCE = json.loads((Path(__file__).parent / "data" / "subject_consistency_reference.json").read_text())


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[SubjectConsistency, list[Path], np.ndarray]:
    folder = tmp_path_factory.mktemp("subject")
    weights = save_random_dino(folder / "dino_vitbase16_pretrain.pth")
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == REFERENCE["weights_sha256"]
    videos = subject_videos(folder)
    frames = [read_video(v) for v in videos]
    assert {v.name: hashlib.sha256(f.tobytes()).hexdigest() for v, f in zip(videos, frames)} == REFERENCE["videos"]
    ours = SubjectConsistency(weights)
    return ours, videos, np.stack([ours(f, 8.0) for f in frames])


def test_subject_consistency_equals_vbench_with_dinos_network(setup):
    _, _, kept = setup
    got, expected = kept[:, 0] / kept[:, 1], np.array(REFERENCE["per_video"])
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    np.testing.assert_allclose(1 - got, 1 - expected, rtol=1e-3)  # the part that differs between clips
    np.testing.assert_allclose(kept[:, 0].sum() / kept[:, 1].sum(), REFERENCE["subject_consistency"], rtol=1e-4)


def test_vbench_own_function_around_our_network_gives_our_values(setup):
    ours, videos, kept = setup
    vbench = import_vbench("subject_consistency")
    total, per_video = vbench.subject_consistency(ours.model, [str(v) for v in videos], "cpu", False)
    np.testing.assert_allclose(kept[:, 0] / kept[:, 1], [v["video_results"] for v in per_video], rtol=1e-6)
    assert kept[:, 0].sum() / kept[:, 1].sum() == pytest.approx(total, rel=1e-6)


def test_a_frame_of_noise_lowers_subject_consistency(setup):
    _, _, kept = setup
    assert kept[1, 0] / kept[1, 1] < kept[0, 0] / kept[0, 1]
