"""DISTS, FloLPIPS and VBench's dimensions through the whole tool: `kfbench list metrics`, `kfbench evaluate` (by flag,
on a dataset with ground truth and on a `pairs` dataset without), the report and `kfbench check`'s directions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from kfbench import create_dataset, create_method
from kfbench.methods.amt.weights import make_tiny_amt
from kfbench.metrics.evaluate import load_results
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.datatrees import frame
from tests.helpers.inprocess import run_main
from tests.helpers.metric_weights import save_random_alexnet_features, save_random_pwcnet, save_random_vgg16
from tests.helpers.vbench_reference import (
    save_random_dino,
    save_random_musiq,
    save_random_openai_clip,
    save_random_raft,
)

WITH_TRUTH = ("dists", "flolpips")
VBENCH = ("subject_consistency", "background_consistency", "aesthetic_quality", "imaging_quality")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> list[str]:
    """Every new metric's weights files, random, in the published layouts, as evaluate flags."""
    import torch

    folder = tmp_path_factory.mktemp("weights")
    head = torch.nn.Linear(768, 1)
    torch.nn.init.constant_(head.bias, 5.0)
    torch.save(head.state_dict(), folder / "sa_0_4_vit_l_14_linear.pth")
    files = {
        "--vgg16-weights": save_random_vgg16(folder / "vgg16-397923af.pth"),
        "--lpips-weights": save_random_alexnet_features(folder / "alexnet-owt-7be5be79.pth"),
        "--pwcnet-weights": save_random_pwcnet(folder / "network-default.pytorch"),
        "--dino-weights": save_random_dino(folder / "dino_vitbase16_pretrain.pth"),
        "--clip-b32-weights": save_random_openai_clip(folder / "ViT-B-32.pt", patch=32, embed_dim=512),
        "--clip-l14-weights": save_random_openai_clip(folder / "ViT-L-14.pt", patch=14, embed_dim=768, layers=1),
        "--aesthetic-head-weights": folder / "sa_0_4_vit_l_14_linear.pth",
        "--raft-weights": save_random_raft(folder / "raft-things.pth"),
        "--amt-weights": make_tiny_amt(folder)["amt"],
        "--musiq-weights": save_random_musiq(folder / "musiq_spaq_ckpt-358bb6af.pth"),
    }
    return [str(x) for flag, path in files.items() for x in (flag, path)]


def _blurred(frames: np.ndarray) -> np.ndarray:
    """The in-between frames box-blurred (5x5): the same motion, less detail."""
    import cv2

    out = frames.copy()
    out[1:-1] = np.stack([cv2.blur(f, (5, 5)) for f in frames[1:-1]])
    return out


def _flickering(frames: np.ndarray) -> np.ndarray:
    out = frames.astype(np.int16)
    out[1:-1:2] += 40
    return np.clip(out, 0, 255).astype(np.uint8)


def _add_variant(root: Path, dataset: str, name: str, change) -> None:
    runs = RunStore(root)
    for pair_id in runs.completed_pairs(dataset, "linear"):
        meta = runs.load_meta(dataset, "linear", pair_id)
        frames = change(runs.load_frames(dataset, "linear", pair_id))
        runs.save(dataset, name, pair_id, frames, {**meta, "method": name}, fps=7)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory, weights) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("synthetic")
    data = create_dataset("synthetic", num_pairs=3, num_frames=6, height=48, width=64)
    run_benchmark(create_method("linear"), data, RunStore(out), data.pair_ids())
    _add_variant(out, "synthetic", "blurry", _blurred)
    _add_variant(out, "synthetic", "flickery", _flickering)
    metrics = ",".join(WITH_TRUTH + VBENCH + ("dynamic_degree",))
    code, _, err = run_main("evaluate", "--out", out, "--metrics", metrics, *weights, "--bootstrap", "20", "--quiet")
    assert code == 0, err
    return out, load_results(out)[0]


@pytest.mark.slow
def test_dynamic_degree_is_missing_with_the_reason_on_frames_raft_cannot_read(synthetic):
    _, results = synthetic
    reason = value(results, "linear", "dynamic_degree").missing_reason
    assert reason.startswith("frames of 48 px are smaller than the 57 px dynamic_degree needs (RAFT's 4-level")


def value(results: pd.DataFrame, method: str, metric: str) -> pd.Series:
    return results[(results["method"] == method) & (results["metric"] == metric)].iloc[0]


def test_list_metrics_names_weights_and_whether_ground_truth_is_needed():
    code, out, _ = run_main("list", "metrics")
    lines = {line.split()[0]: line for line in out.strip().splitlines()}
    assert code == 0
    assert lines["dists"].endswith("(needs ground truth)  [vgg16-397923af.pth + weights.pt]")
    assert lines["flolpips"].endswith("(needs ground truth)  [alexnet-owt-7be5be79.pth + network-default.pytorch]")
    assert lines["subject_consistency"].endswith("(no ground truth needed)  [dino_vitbase16_pretrain.pth]")
    assert lines["background_consistency"].endswith("(no ground truth needed)  [ViT-B-32.pt]")
    assert lines["aesthetic_quality"].endswith("(no ground truth needed)  [ViT-L-14.pt + sa_0_4_vit_l_14_linear.pth]")
    assert lines["dynamic_degree"].endswith("(no ground truth needed)  [raft-things.pth]")
    assert lines["motion_smoothness"].endswith("(no ground truth needed)  [amt-s.pth]")
    assert lines["imaging_quality"].endswith("(no ground truth needed)  [musiq_spaq_ckpt-358bb6af.pth]")
    assert lines["psnr"].endswith("(needs ground truth)  [no weights]")


@pytest.mark.slow
def test_new_metrics_have_values_intervals_and_rank_the_damaged_methods_worse(synthetic):
    _, results = synthetic
    for metric in WITH_TRUTH + VBENCH:
        for method in ("linear", "blurry", "flickery"):
            row = value(results, method, metric)
            assert row.missing_reason == "" and np.isfinite(row.value), (metric, method, row.missing_reason)
            assert row.ci_low <= row.value <= row.ci_high
    for metric in WITH_TRUTH:  # against the ground truth: a blurred or flickering copy of linear is further off
        assert value(results, "linear", metric).value < value(results, "blurry", metric).value
        assert value(results, "linear", metric).value < value(results, "flickery", metric).value
    for metric in ("subject_consistency", "background_consistency"):  # flicker breaks the frames' consistency
        assert value(results, "flickery", metric).value < value(results, "linear", metric).value
    settings = json.loads(value(results, "linear", "subject_consistency").settings)
    assert settings["reference"].startswith("vbench 0.1.5") and settings["weights"].endswith("pretrain.pth")


@pytest.mark.slow
def test_vbench_dimensions_run_on_pairs_without_ground_truth(tmp_path, weights):
    for i in (0, 9):
        Image.fromarray(frame(i, 64, 80)).save(tmp_path / f"k{i}.png")  # large enough for RAFT (dynamic_degree)
    (tmp_path / "pairs.csv").write_text("id,first,last,num_frames\nwalk,k0.png,k9.png,5\nback,k9.png,k0.png,5\n")
    out = tmp_path / "runs"
    data = create_dataset("pairs", root=str(tmp_path / "pairs.csv"))
    run_benchmark(create_method("linear"), data, RunStore(out), data.pair_ids())
    metrics = ",".join(("psnr", "dists", "motion_smoothness") + VBENCH + ("dynamic_degree",))
    code, _, err = run_main("evaluate", "--out", out, "--metrics", metrics, *weights, "--bootstrap", "20", "--quiet")
    assert code == 0, err
    results = load_results(out)[0]
    assert value(results, "linear", "dynamic_degree").value in (0.0, 0.5, 1.0)
    too_small = value(results, "linear", "motion_smoothness").missing_reason
    assert too_small.startswith("frames of 64 px are smaller than the 113 px motion_smoothness needs (AMT's")
    for metric in VBENCH + ("dynamic_degree",):
        row = value(results, "linear", metric)
        assert row.missing_reason == "" and np.isfinite(row.value) and row.n == 2
    for metric in ("psnr", "dists"):
        reason = value(results, "linear", metric).missing_reason
        assert reason.startswith(f"{metric} needs ground truth; pair(s) back, walk have keyframes only")
        assert (
            "subject_consistency, background_consistency, motion_smoothness, aesthetic_quality, dynamic_degree"
            in reason
        )


@pytest.mark.slow
def test_report_shows_the_new_metrics(synthetic, tmp_path):
    out, _ = synthetic
    code, _, err = run_main("report", "--out", out, "--to", tmp_path / "report", "--quiet")
    assert code == 0, err
    table = (tmp_path / "report" / "table_newer.md").read_text()
    for label in (
        "DISTS↓",
        "FloLPIPS↓",
        "Subject consistency↑",
        "Background consistency↑",
        "Aesthetic quality↑",
        "Imaging quality↑",
    ):
        assert f"synthetic {label}" in table
    assert "FloLPIPS" in (tmp_path / "report" / "index.html").read_text()


def test_check_knows_the_new_metrics_directions():
    from kfbench.report.check import compare, parse_tolerance

    now = pd.DataFrame(
        [
            {"dataset": "s", "method": "m", "metric": "dists", "value": 0.3, "missing_reason": ""},
            {"dataset": "s", "method": "m", "metric": "subject_consistency", "value": 0.90, "missing_reason": ""},
            {"dataset": "s", "method": "m", "metric": "flolpips", "value": 0.1, "missing_reason": ""},
        ]
    )
    baseline = [
        {"dataset": "s", "method": "m", "metric": "dists", "value": 0.2},
        {"dataset": "s", "method": "m", "metric": "subject_consistency", "value": 0.95},
        {"dataset": "s", "method": "m", "metric": "flolpips", "value": 0.2},
    ]
    regressions = compare(baseline, now, parse_tolerance("subject_consistency=0.01", 0.01)).regressions
    assert [r.split(":")[0] for r in regressions] == ["s/m/dists", "s/m/subject_consistency"]


HOSTILE_CASES = [
    ("--vgg16-weights", "dists"),
    ("--dists-weights", "dists"),
    ("--pwcnet-weights", "flolpips"),
    ("--dino-weights", "subject_consistency"),
    ("--clip-b32-weights", "background_consistency"),
    ("--clip-l14-weights", "aesthetic_quality"),
    ("--aesthetic-head-weights", "aesthetic_quality"),
    ("--raft-weights", "dynamic_degree"),
    ("--amt-weights", "motion_smoothness"),
    ("--musiq-weights", "imaging_quality"),
]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small")
    data = create_dataset("synthetic", num_pairs=1, num_frames=5, height=128, width=128)  # AMT's smallest
    run_benchmark(create_method("linear"), data, RunStore(out), data.pair_ids())
    return out


@pytest.mark.slow  # builds every new metric's random weights files once (about 30 s on 2 busy cores)
@pytest.mark.parametrize("kind", ["pickle", "torchscript"])
@pytest.mark.parametrize("flag, metric", HOSTILE_CASES)
def test_a_weights_file_that_would_run_code_is_refused_in_one_line(kind, flag, metric, small_store, weights, tmp_path):
    from tests.helpers.hostile import hostile_pickle, hostile_torchscript
    from tests.test_hostile_files import assert_one_line_error

    marker = tmp_path / "marker"
    hostile = {"pickle": hostile_pickle, "torchscript": hostile_torchscript}[kind](tmp_path, marker)
    others = [x for f, p in zip(weights[::2], weights[1::2]) if f != flag for x in (f, p)]
    result = run_main("evaluate", "--out", small_store, "--metrics", metric, *others, flag, hostile, "--quiet")
    line = assert_one_line_error(*result)
    assert str(hostile) in line and not marker.exists()
