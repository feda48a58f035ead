"""The metric registry: `kfbench list metrics`, the newer metrics through evaluate, report and check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kfbench import create_dataset, create_method
from kfbench.metrics.evaluate import EvalConfig, evaluate_store
from kfbench.metrics.registry import metric_class, metric_names
from kfbench.metrics.videomae import FvdVideoMAE
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.inprocess import run_main
from tests.helpers.video_metric_weights import save_random_videomae, save_random_vjepa

NEWER = ("fvd_videomae", "jedi", "keyframe_psnr", "keyframe_lpips", "warp_error", "flicker")
WEIGHT_FREE = ("keyframe_psnr", "warp_error", "flicker")


def test_list_metrics_names_each_metric_its_description_and_weights():
    code, out, _ = run_main("list", "metrics")
    lines = out.strip().splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == list(metric_names()) and len(metric_names()) == 20
    by_name = dict(zip(metric_names(), lines))
    assert by_name["psnr"].endswith("[no weights]") and by_name["warp_error"].endswith("[no weights]")
    assert by_name["fvd_videomae"].endswith("[vit_g_hybrid_pt_1200e_ssv2_ft.pth]")
    assert by_name["jedi"].endswith("[vith16.pth.tar + ssv2-probe.pth.tar]")
    assert "i3d_torchscript.pt or i3d_pretrained_400.pt" in by_name["fvd"]
    assert all(len(line.split("  ", 1)[1].strip()) > 30 for line in lines)  # a description each
    assert {metric_class(m).reads for m in metric_names()} == {"frames", "clips"}


def _flickering(frames: np.ndarray) -> np.ndarray:
    """The in-between frames alternately 12 levels brighter and darker: the same motion, with flicker."""
    out = frames.astype(np.int16)
    out[1:-1:2] += 12
    out[2:-1:2] -= 12
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """linear and a flickering copy of it on 3 synthetic pairs of 18 frames (16 compared), without any weights."""
    out = tmp_path_factory.mktemp("runs")
    data = create_dataset("synthetic", num_pairs=3, num_frames=18, height=32, width=48)
    run_benchmark(create_method("linear"), data, RunStore(out), data.pair_ids())
    runs = RunStore(out)
    for pair_id in runs.completed_pairs("synthetic", "linear"):
        meta = runs.load_meta("synthetic", "linear", pair_id)
        runs.save(
            "synthetic",
            "flickery",
            pair_id,
            _flickering(runs.load_frames("synthetic", "linear", pair_id)),
            {**meta, "method": "flickery"},
            fps=7,
        )
    return out


def row(results: pd.DataFrame, method: str, metric: str) -> pd.Series:
    return results[(results["method"] == method) & (results["metric"] == metric)].iloc[0]


@pytest.fixture(scope="module")
def without_weights(store, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("empty-torch-home")))
        results, _ = evaluate_store(store, EvalConfig(metrics=NEWER, bootstrap=50))
    return results


def test_weight_free_metrics_have_intervals_and_rank_flicker_below(without_weights):
    results = without_weights
    for metric in WEIGHT_FREE:
        for method in ("linear", "flickery"):
            r = row(results, method, metric)
            assert r["missing_reason"] == "" and r["n"] == 3 and r["ci_low"] <= r["value"] <= r["ci_high"], (
                metric,
                method,
            )
    assert row(results, "linear", "keyframe_psnr")["value"] == 100.0  # linear copies its keyframes
    assert json.loads(row(results, "linear", "keyframe_psnr")["settings"])["figures"]["keyframe_exact"] == 1.0
    for metric in ("warp_error", "flicker"):
        assert row(results, "flickery", metric)["value"] > 2 * row(results, "linear", metric)["value"]
    figures = json.loads(row(results, "linear", "warp_error")["settings"])["figures"]
    assert set(figures) == {"warp_error", "warp_error_generated", "warp_error_ground_truth"}
    assert figures["warp_error_ground_truth"] > 0  # the headline is the distance to it
    # the mean per-pair distance is at least the distance of the means
    assert figures["warp_error"] >= abs(figures["warp_error_generated"] - figures["warp_error_ground_truth"]) - 1e-12
    # the ground truth's side is the same for both methods, computed once and cached per pair
    truth = [
        json.loads(row(results, m, "warp_error")["settings"])["figures"]["warp_error_ground_truth"]
        for m in ("linear", "flickery")
    ]
    assert truth[0] == truth[1]


def test_learned_metrics_are_missing_with_the_reason_without_weights(without_weights):
    for metric, flags in (
        ("fvd_videomae", ("--videomae-weights",)),
        ("jedi", ("--vjepa-weights",)),
        ("keyframe_lpips", ("--lpips-weights",)),
    ):
        r = row(without_weights, "linear", metric)
        assert (
            np.isnan(r["value"])
            and all(f in r["missing_reason"] for f in flags)
            and "torch hub cache" in r["missing_reason"]
        )


def test_learned_clip_metrics_from_tiny_checkpoints_by_flag_and_in_the_hub_cache(store, tmp_path, monkeypatch):
    videomae = save_random_videomae(tmp_path / "vit_g_hybrid_pt_1200e_ssv2_ft.pth")
    encoder, probe = save_random_vjepa(tmp_path)
    config = EvalConfig(
        metrics=("fvd_videomae", "jedi"),
        weights={"videomae_weights": str(videomae), "vjepa_weights": str(encoder), "vjepa_probe_weights": str(probe)},
        bootstrap=20,
    )
    with pytest.warns(UserWarning, match="fvd_videomae: 3 samples < 16 feature dimensions"):
        by_flag, _ = evaluate_store(store, config, methods=["linear"])
    for metric in ("fvd_videomae", "jedi"):
        r = row(by_flag, "linear", metric)
        assert r["missing_reason"] == "" and r["n"] == 3 and np.isfinite(r["value"]) and r["value"] > 0
        assert r["ci_low"] <= r["ci_high"] and json.loads(r["settings"])["clip_frames"] == 16
    # the wiring: the 16 compared frames of each pair, scored by the registered object
    runs, data = RunStore(store), create_dataset("synthetic", num_pairs=3, num_frames=18, height=32, width=48)
    fake = np.stack([runs.load_frames("synthetic", "linear", p)[1:17] for p in data.pair_ids()])
    real = np.stack([data.load(p).ground_truth[1:17] for p in data.pair_ids()])
    metric = FvdVideoMAE(videomae)
    with pytest.warns(UserWarning, match="biased"):
        direct = metric.score(metric.features(fake), metric.features(real))
    assert row(by_flag, "linear", "fvd_videomae")["value"] == pytest.approx(direct, rel=1e-9)
    hub = tmp_path / "torch-home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    for path in (videomae, encoder, probe):
        path.rename(hub / path.name)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    with pytest.warns(UserWarning, match="fvd_videomae: 3 samples"):
        from_hub, _ = evaluate_store(
            store, EvalConfig(metrics=("fvd_videomae", "jedi"), bootstrap=0), methods=["linear"]
        )
    for metric in ("fvd_videomae", "jedi"):
        assert row(from_hub, "linear", metric)["value"] == pytest.approx(
            row(by_flag, "linear", metric)["value"], rel=1e-9
        )
        weights = json.loads(row(from_hub, "linear", metric)["settings"])["weights"]
        assert all(w.startswith(str(hub)) for w in ([weights] if isinstance(weights, str) else weights))


def test_report_shows_the_newer_metrics_in_a_second_table(store, without_weights, tmp_path):
    code, _, err = run_main("report", "--out", store, "--to", tmp_path / "report", "--quiet")
    assert code == 0, err
    table = (tmp_path / "report" / "table_newer.md").read_text()
    assert "synthetic keyframe PSNR↑" in table and "synthetic warp error (distance to GT)↓" in table
    assert "synthetic flicker (abs log ratio to GT)↓" in table
    assert "(generated " in table and ", ground truth " in table  # the raw figures beside the distance
    assert "--videomae-weights" in table and "n=3" in table
    assert (tmp_path / "report" / "table_newer.tex").is_file() and (tmp_path / "report" / "table_newer.csv").is_file()
    assert "Newer metrics in Table 1" in (tmp_path / "report" / "index.html").read_text()


def test_check_tolerances_and_directions_cover_the_newer_metrics():
    from kfbench.report.check import compare, parse_tolerance

    assert parse_tolerance("warp_error=0.05", 0.01)["warp_error"] == 0.05
    now = pd.DataFrame(
        [
            {"dataset": "s", "method": "m", "metric": "keyframe_psnr", "value": 40.0, "missing_reason": ""},
            {"dataset": "s", "method": "m", "metric": "flicker", "value": 1.5, "missing_reason": ""},
        ]
    )
    baseline = [
        {"dataset": "s", "method": "m", "metric": "keyframe_psnr", "value": 100.0},
        {"dataset": "s", "method": "m", "metric": "flicker", "value": 1.0},
    ]
    regressions = compare(baseline, now, parse_tolerance(None, 0.01)).regressions
    assert [r.split(":")[0] for r in regressions] == ["s/m/keyframe_psnr", "s/m/flicker"]


def test_too_few_compared_frames_make_the_clip_metrics_missing_with_the_reason(tmp_path):
    videomae = save_random_videomae(tmp_path / "vit_g_hybrid_pt_1200e_ssv2_ft.pth")
    data = create_dataset("synthetic", num_pairs=2, num_frames=13, height=32, width=48)
    run_benchmark(create_method("linear"), data, RunStore(tmp_path / "runs"), data.pair_ids())
    results, _ = evaluate_store(
        tmp_path / "runs", EvalConfig(metrics=("fvd_videomae",), weights={"videomae_weights": str(videomae)})
    )
    reason = row(results, "linear", "fvd_videomae")["missing_reason"]
    assert "16-frame clips" in reason and "compares 11 frames" in reason and "--include-keyframes" in reason


def test_sharded_extraction_caches_the_temporal_figures_for_the_final_evaluate(store, tmp_path):
    import shutil

    from kfbench.metrics.evaluate import extract_features

    out = shutil.copytree(store, tmp_path / "runs", ignore=shutil.ignore_patterns(".cache", "results.*", "per_frame.*"))
    config = EvalConfig(metrics=("warp_error", "flicker", "psnr"), bootstrap=0)
    assert sum(extract_features(out, config, (i, 2), methods=["linear"]) for i in range(2)) == 3
    cached = sorted((out / ".cache" / "features").rglob("*.npy"))
    assert len(cached) == 2 * 3 * 2  # 2 metrics x 3 pairs x (generated + ground truth)
    stamps = [p.stat().st_mtime_ns for p in cached]
    results, _ = evaluate_store(out, config, methods=["linear"])
    assert [p.stat().st_mtime_ns for p in cached] == stamps and np.isfinite(
        row(results, "linear", "warp_error")["value"]
    )
