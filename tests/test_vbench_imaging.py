"""``imaging_quality`` against vbench 0.1.5 itself: ``vbench.imaging_quality.technical_quality`` (VBench's video reading
and 'longer' resize) around pyiqa 0.1.16's MUSIQ, both loading the same random weights file in pyiqa's layout; through
evaluate without ground truth and without its weights; files kfbench refuses in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kfbench import create_dataset, create_method
from kfbench.errors import KfbenchError
from kfbench.metrics.evaluate import EvalConfig, evaluate_store
from kfbench.metrics.vbench.imaging_quality import ImagingQuality
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.flow_clips import panned
from tests.helpers.hostile import hostile_pickle, hostile_torchscript
from tests.helpers.vbench_reference import MUSIQ_TINY, import_vbench, read_video, save_random_musiq, write_gif


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return save_random_musiq(tmp_path_factory.mktemp("musiq") / "musiq_spaq_ckpt-358bb6af.pth")


def test_imaging_quality_equals_vbench_with_pyiqas_musiq(weights, tmp_path):
    musiq_arch = pytest.importorskip("pyiqa.archs.musiq_arch", reason="pyiqa 0.1.16 (pip install --no-deps pyiqa)")
    vbench = import_vbench("imaging_quality")
    width, depth, hidden = MUSIQ_TINY["width"], MUSIQ_TINY["depth"], MUSIQ_TINY["hidden"]
    reference = musiq_arch.MUSIQ(
        hidden_size=width, mlp_dim=hidden, num_heads=width // 64, num_layers=depth, pretrained_model_path=str(weights)
    )
    reference.training = False  # as vbench's compute_imaging_quality leaves it
    seen: list[tuple[tuple[int, ...], float]] = []

    def recording(frame: torch.Tensor) -> torch.Tensor:
        score = reference(frame)
        seen.append((tuple(frame.shape[2:]), float(score)))
        return score

    # 4 frames each: one small (patch grids under the 10 x 10 hash grid, padded), one wider than 512 (VBench resizes it
    # to 56 x 512; 16 patch columns at full size, over the hash grid)
    videos = [
        write_gif(tmp_path / "small.gif", panned(0, 4, (44, 56), (3, 1))),
        write_gif(tmp_path / "wide.gif", panned(1, 4, (60, 544), (4, 1))),
    ]
    with torch.no_grad():
        expected, per_video = vbench.technical_quality(recording, [str(v) for v in videos], "cpu")
    assert [shape for shape, _ in seen] == [(44, 56)] * 4 + [(56, 512)] * 4
    ours = ImagingQuality(weights)
    scores = np.concatenate([ours.scores(read_video(v)) for v in videos])
    reference_scores = np.array([score for _, score in seen])
    np.testing.assert_allclose(scores, reference_scores, rtol=1e-4)
    assert np.ptp(reference_scores[:4]) > 1 and np.ptp(reference_scores[4:]) > 1  # frames score differently
    kept = np.stack([ours(read_video(v), 8.0) for v in videos])
    np.testing.assert_allclose(kept[:, 0], [v["video_results"] / 100 for v in per_video], rtol=1e-4)
    np.testing.assert_allclose(kept[:, 0].mean(), expected, rtol=1e-4)
    # random weights rank nothing; what holds for any weights: a clip's score is the mean of its frames' scores
    frames = read_video(videos[1])
    assert ours(frames[::-1].copy(), 8.0)[0] == pytest.approx(kept[1, 0], rel=1e-5)


def test_imaging_quality_runs_without_ground_truth_and_is_missing_without_its_weights(weights, tmp_path, monkeypatch):
    out = tmp_path / "runs"
    data = create_dataset("synthetic", num_pairs=2, num_frames=3, height=32, width=48)
    run_benchmark(create_method("linear"), data, RunStore(out), data.pair_ids())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    missing = evaluate_store(out, EvalConfig(metrics=("imaging_quality",), bootstrap=20))[0].iloc[0]
    assert np.isnan(missing["value"]) and "--musiq-weights" in missing["missing_reason"]
    assert "musiq_spaq_ckpt-358bb6af.pth not in the torch hub cache" in missing["missing_reason"]
    config = EvalConfig(metrics=("imaging_quality",), bootstrap=20, weights={"musiq_weights": str(weights)})
    row = evaluate_store(out, config)[0].iloc[0]
    assert row["missing_reason"] == "" and row["n"] == 2 and row["ci_low"] <= row["value"] <= row["ci_high"]
    assert json.loads(row["settings"])["reference"].startswith("vbench 0.1.5 vbench.imaging_quality.technical_quality")


@pytest.mark.parametrize("kind", ["pickle", "torchscript"])
def test_a_musiq_file_that_would_run_code_is_refused_in_one_line(kind, tmp_path):
    marker = tmp_path / "marker"
    hostile = {"pickle": hostile_pickle, "torchscript": hostile_torchscript}[kind](tmp_path, marker)
    with pytest.raises(KfbenchError) as error:
        ImagingQuality(hostile)
    assert str(hostile) in str(error.value) and "\n" not in str(error.value) and not marker.exists()


def test_a_musiq_of_another_layout_is_refused_in_one_line(weights, tmp_path):
    state = torch.load(weights, weights_only=True)
    state["head.weight"], state["head.bias"] = torch.zeros(10, MUSIQ_TINY["width"]), torch.zeros(10)  # AVA's head
    ava = tmp_path / "musiq_ava_ckpt-e8d3f067.pth"
    torch.save(state, ava)
    with pytest.raises(KfbenchError, match="is not MUSIQ as VBench runs it") as error:
        ImagingQuality(ava)
    assert "\n" not in str(error.value)
