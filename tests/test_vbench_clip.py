"""``background_consistency`` and ``aesthetic_quality`` against the vbench package (0.1.5) itself: the same videos,
identical random weights in the published forms (OpenAI's TorchScript CLIP files, LAION's linear-head state_dict)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kfbench.metrics.vbench.aesthetic_quality import AestheticQuality
from kfbench.metrics.vbench.background_consistency import BackgroundConsistency
from tests.helpers.flow_clips import panned
from tests.helpers.vbench_reference import import_vbench, read_video, save_random_openai_clip, write_gif


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("videos")
    moving = panned(0, 5, (40, 56), (3, 1))
    noisy = moving.copy()
    noisy[2] = np.random.default_rng(0).integers(0, 256, noisy[2].shape, dtype=np.uint8)
    return [write_gif(folder / "moving.gif", moving), write_gif(folder / "noisy.gif", noisy)]


def test_background_consistency_equals_vbench(videos, tmp_path):
    vbench = import_vbench("background_consistency")
    weights = save_random_openai_clip(tmp_path / "ViT-B-32.pt", patch=32, embed_dim=512)
    clip_model, preprocess = vbench.clip.load(str(weights), device="cpu")
    expected, per_video = vbench.background_consistency(clip_model, preprocess, [str(v) for v in videos], "cpu", False)
    ours = BackgroundConsistency(weights)
    kept = np.stack([ours(read_video(v), 8.0) for v in videos])
    assert kept[:, 1].tolist() == [4, 4]
    np.testing.assert_allclose(kept[:, 0] / kept[:, 1], [v["video_results"] for v in per_video], rtol=1e-4)
    np.testing.assert_allclose(kept[:, 0].sum() / kept[:, 1].sum(), expected, rtol=1e-4)
    # ranking sanity: a frame of noise in the clip lowers its consistency; a still clip is perfectly consistent
    assert kept[1, 0] < kept[0, 0]
    still = ours(np.repeat(read_video(videos[0])[:1], 4, axis=0), 8.0)
    assert still[0] / still[1] == pytest.approx(1.0, abs=1e-5)


def test_aesthetic_quality_equals_vbench(videos, tmp_path):
    vbench = import_vbench("aesthetic_quality")
    clip_file = save_random_openai_clip(tmp_path / "ViT-L-14.pt", patch=14, embed_dim=768, layers=1)
    torch.manual_seed(1)
    head_file = tmp_path / "sa_0_4_vit_l_14_linear.pth"
    head = torch.nn.Linear(768, 1)
    torch.nn.init.constant_(head.bias, 5.0)  # LAION scores are around 5 (of 10)
    torch.save(head.state_dict(), head_file)
    clip_model, _ = vbench.clip.load(str(clip_file), device="cpu")
    head = vbench.get_aesthetic_model(str(tmp_path))
    expected, per_video = vbench.laion_aesthetic(head, clip_model, [str(v) for v in videos], "cpu")
    ours = AestheticQuality(clip_file, head_file)
    kept = np.stack([ours(read_video(v), 8.0) for v in videos])
    np.testing.assert_allclose(kept[:, 0], [v["video_results"] for v in per_video], rtol=1e-4)
    np.testing.assert_allclose(kept[:, 0].mean(), expected, rtol=1e-4)
    # a clip's score is the mean of its frames' scores: the clip and its frames reversed score the same
    frames = read_video(videos[1])
    assert ours(frames[::-1].copy(), 8.0)[0] == pytest.approx(kept[1, 0], rel=1e-5)
