"""`kfbench bench --evaluate`: the cost table of evaluate per metric, its JSON with the settings, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kfbench.bench import evalcost
from kfbench.bench.evalcost import COLUMNS, LOAD_ROW, size_of, weights_of
from kfbench.errors import KfbenchError
from kfbench.utils import progress
from kfbench.utils.parallel import frames_per_batch
from tests.helpers.inprocess import check_main, error_line

ARGS = ("bench", "--evaluate", "--size", "40x56", "--num-frames", "5", "--pairs", "1")


def check_report(stdout: str, report: dict, metrics: list[str]) -> None:
    lines = stdout.splitlines()
    assert lines[0].startswith("kfbench evaluate at 40x56, 1 pair(s) x 1 method(s) (linear), 5 frames")
    assert lines[1].split() == ["metric", "s/pair", "cpu", "s/pair", "cores", "peak", "RSS", "MB", "runs"]
    rows = [LOAD_ROW, *metrics] + (["all"] if len(metrics) > 1 else [])
    assert [line.split()[0] for line in lines[2 : 2 + len(rows)]] == rows
    assert report["settings"]["height"] == 40 and report["settings"]["num_frames"] == 5
    assert report["settings"]["metrics"] == metrics and len(report["settings"]["load_1_5_15"]) == 3
    assert [r["metric"] for r in report["rows"]] == rows
    for row in report["rows"]:
        assert set(COLUMNS) <= set(row)
        assert row["s/pair"] > 0 and row["cpu s/pair"] > 0 and row["cores"] > 0 and row["peak RSS MB"] > 0, row
        assert row["runs"][0]["cpu_s"] > 0


def test_bench_evaluate_writes_the_table_and_its_settings(tmp_path, monkeypatch):
    """In this process (a fresh interpreter per measurement is the slow test below): the columns and the JSON."""
    monkeypatch.setattr(evalcost, "in_fresh_process", lambda fn, *args: fn(*args))
    monkeypatch.setattr(progress, "enabled", progress.enabled)
    report = tmp_path / "cost.json"
    stdout = check_main(*ARGS, "--metrics", "psnr", "--out", tmp_path / "bench", "--json", report)
    check_report(stdout, json.loads(report.read_text()), ["psnr"])


@pytest.mark.slow  # about 30 s of CPU on 2 cores: three interpreters that import torch and the evaluation stack
def test_bench_evaluate_measures_each_metric_in_a_fresh_process(tmp_path):
    report = tmp_path / "cost.json"
    stdout = check_main(*ARGS, "--metrics", "psnr,flicker", "--out", tmp_path / "bench", "--json", report)
    check_report(stdout, json.loads(report.read_text()), ["psnr", "flicker"])


def test_bench_evaluate_sizes_and_weights_flags():
    assert size_of("1080p") == (1080, 1920) and size_of("576p") == (576, 1024) and size_of("270x480") == (270, 480)
    for bad in ("720", "10x10", "axb"):
        with pytest.raises(KfbenchError, match="--size"):
            size_of(bad)
    assert weights_of({"lpips_weights": "a.pth"}) == {"lpips_weights": "a.pth"}
    with pytest.raises(KfbenchError, match="not --height"):
        weights_of({"height": "64"})
    assert "--size '720'" in error_line("bench", "--evaluate", "--size", "720")


def test_networks_take_the_pixels_of_their_576p_batch():
    assert frames_per_batch(576, 1024, 32) == 32 and frames_per_batch(64, 96, 32) == 32
    assert frames_per_batch(1080, 1920, 32) == 9 and frames_per_batch(1080, 1920, 16) == 4
    assert frames_per_batch(1080, 1920, 4) == 1 and frames_per_batch(4320, 7680, 4) == 1


@pytest.mark.slow  # about 14 s of CPU: three random networks built and saved in their real formats
def test_learned_metrics_give_the_same_values_whatever_the_batch(tmp_path, monkeypatch):
    """LPIPS, DISTS and the Inception features per frame: one frame at a time (a 1080p batch) as in one batch (576p),
    so bounding the batch by pixels leaves the numbers as they were. DISTS is 1 - a similarity in float32: the
    convolutions' last bits follow the batch, and it moves by float32 rounding at 1 (below 1.2e-7). FloLPIPS keeps
    its batch at every size (its PWC-Net flows' last bits follow the batch and its weights amplify them)."""
    import kfbench.metrics.dists as dists
    import kfbench.metrics.inception as inception
    import kfbench.metrics.lpips as lpips
    from tests.helpers.metric_weights import (
        save_random_alexnet_features,
        save_random_inception,
        save_random_vgg16,
    )

    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    alexnet = save_random_alexnet_features(tmp_path / "alexnet.pth")
    vgg16, dists_weights = save_random_vgg16(tmp_path / "vgg16.pth"), dists.DISTS_WEIGHTS.resolve(None)
    networks = {
        "lpips": (lpips, lambda: lpips.LpipsPerFrame(alexnet)(a, b)),
        "dists": (dists, lambda: dists.DistsPerFrame(vgg16, dists_weights)(a, b)),
        "inception": (
            inception,
            lambda: inception.ImageFeatures(
                inception.load_inception(save_random_inception(tmp_path / "inception.pth")), "inception", 2048
            )(a),
        ),
    }
    for name, (module, values) in networks.items():
        whole = values()
        with monkeypatch.context() as patch:
            patch.setattr(module, "frames_per_batch", lambda height, width, most: 1)
            one_at_a_time = values()
        atol = np.finfo(np.float32).eps if name == "dists" else 0
        np.testing.assert_allclose(one_at_a_time, whole, rtol=1e-6, atol=atol, err_msg=name)


def test_reference_ratios_time_kfbench_and_the_packages_on_the_same_frames(tmp_path, monkeypatch):
    pytest.importorskip("skimage", reason="scikit-image is a reference of the side-by-side timing (test extra)")
    from kfbench.bench.evalref import REFERENCE_NAMES, format_ratios, reference_ratios
    from tests.helpers.metric_weights import save_random_alexnet_features

    monkeypatch.setattr(progress, "enabled", progress.enabled)
    request = evalcost.EvalCostRequest(40, 56, num_frames=5, pairs=1)
    store = evalcost.store_folder(tmp_path, request)
    evalcost.build_store(store, request)
    alexnet = save_random_alexnet_features(tmp_path / "alexnet.pth")
    figures = reference_ratios(str(store), {"lpips_weights": str(alexnet)}, repeats=2)
    assert figures["pair_runs"] == 1 and figures["frames_per_pair"] == 3  # the in-between frames
    assert list(figures["metrics"]) == ["psnr", "ssim", "lpips"]
    for name, f in figures["metrics"].items():
        assert list(f["ratios"]) == list(REFERENCE_NAMES[name]) and all(len(t) == 2 for t in f["runs"].values())
        assert all(v > 0 for v in [*f["seconds"].values(), *f["ratios"].values()]), (name, f)
    assert "lpips         kfbench" in format_ratios(figures)
