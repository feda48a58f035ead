"""kfbench evaluate and report on the synthetic set with the classical baselines.

Numbers, frames compared, feature cache, errors; report files; the HTML page in headless Chromium.
"""

import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from kfbench import create_dataset, create_method
from kfbench.errors import KfbenchError
from kfbench.metrics.evaluate import (
    COLUMNS,
    EvalConfig,
    evaluate_store,
    extract_features,
)
from kfbench.metrics.registry import metric_names
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.inprocess import run_main
from tests.helpers.metric_weights import save_random_inception
from tests.helpers.standins import PooledColours


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """linear and flow on the default synthetic set, evaluated with no weights anywhere."""
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(out / "no-torch-home"))
        data = create_dataset("synthetic")
        for name in ("linear", "flow"):
            run_benchmark(create_method(name), data, RunStore(out), data.pair_ids())
        results, per_frame = evaluate_store(out, EvalConfig())
    return out, results, per_frame


def value(results, method, metric):
    row = results[(results["method"] == method) & (results["metric"] == metric)].iloc[0]
    return row


def test_flow_beats_linear_and_intervals_contain_the_estimates(evaluated):
    _, results, _ = evaluated
    for metric in ("psnr", "ssim"):
        flow, linear = value(results, "flow", metric), value(results, "linear", metric)
        assert flow["value"] > linear["value"]
        for row in (flow, linear):
            assert row["ci_low"] < row["value"] < row["ci_high"]
            assert row["n"] == 4 * 23
    assert value(results, "flow", "psnr")["value"] > value(results, "linear", "psnr")["value"] + 1.0


def test_metrics_without_weights_are_missing_with_the_reason(evaluated):
    _, results, _ = evaluated
    for metric, flag in (
        ("fid", "--inception-weights"),
        ("kid", "--inception-weights"),
        ("fvd", "--i3d-weights"),
        ("lpips", "--lpips-weights"),
    ):
        row = value(results, "flow", metric)
        assert np.isnan(row["value"]) and flag in row["missing_reason"] and "torch hub cache" in row["missing_reason"]


def test_results_are_a_tidy_csv_and_parquet_stating_frames_and_window(evaluated):
    out, results, per_frame = evaluated
    for saved in (pd.read_csv(out / "results.csv"), pd.read_parquet(out / "results.parquet")):
        every = len(metric_names())  # every registered metric, by default
        assert list(saved.columns) == COLUMNS and len(saved) == 2 * every
    settings = json.loads(value(results, "flow", "psnr")["settings"])
    assert settings["frames"].startswith("in-between") and settings["ground_truth_indices"] == list(range(1, 24))
    assert (
        settings["frame_matching"] == "the method's frame times are the grid times" and not settings["mapped_to_grid"]
    )
    assert settings["bootstrap"]["unit"] == "pair" and settings["protocol"] == "kfbench"
    assert settings["interval"].startswith("percentile") and settings["cap_db"] == 100
    assert all(json.loads(s)["protocol"] == "kfbench" for s in results["settings"])  # recorded in every row
    fvd = json.loads(value(results, "flow", "fvd")["settings"])
    assert (
        fvd["window"].startswith("grid frames 1-23 of 25 (23-frame clips, centre window") and fvd["covariance"] == "n"
    )
    assert fvd["clip_frames"] == 23
    assert sorted(per_frame["frame"].unique()) == list(range(1, 24)) and len(per_frame) == 2 * 4 * 23


def test_a_16_frame_and_a_25_frame_method_share_one_real_set(evaluated, tmp_path, monkeypatch):
    """FID of both rows against the same ground-truth frames; the 16 frames are mapped onto the 25-frame grid by
    time."""
    import kfbench.metrics.inception
    from kfbench.report.tables import paper_table, table1

    monkeypatch.setattr(kfbench.metrics.inception, "load_inception", lambda path, antialias: PooledColours())

    out = shutil.copytree(evaluated[0], tmp_path / "runs")
    store = RunStore(out)
    times = list(np.linspace(0, 1, 16))
    for pair_id in store.completed_pairs("synthetic", "flow"):
        meta = store.load_meta("synthetic", "flow", pair_id)
        frames = store.load_frames("synthetic", "flow", pair_id)[np.round(np.linspace(0, 24, 16)).astype(int)]
        store.save("synthetic", "sixteen", pair_id, frames, {**meta, "method": "sixteen", "frame_times": times}, fps=7)
    (tmp_path / "weights.pth").write_bytes(b"stand-in")
    config = EvalConfig(
        metrics=("fid", "psnr"), weights={"inception_weights": str(tmp_path / "weights.pth")}, bootstrap=0
    )
    results, per_frame = evaluate_store(out, config, methods=["flow", "sixteen"])
    real = sorted(
        p.name for p in (out / ".cache" / "features").rglob("*.npy") if "--" not in p.name and "inception" in str(p)
    )
    assert len(real) == 4  # one real set: 4 pairs' ground-truth features, shared by both methods
    flow, sixteen = (json.loads(value(results, m, "fid")["settings"]) for m in ("flow", "sixteen"))
    assert flow["real_set"] == sixteen["real_set"] and flow["ground_truth_indices"] == sixteen["ground_truth_indices"]
    assert sixteen["ground_truth_indices"] == list(range(1, 24)) and value(results, "sixteen", "fid")["n"] == 4 * 23
    assert (
        sixteen["mapped_to_grid"] and not flow["mapped_to_grid"] and "nearest it in time" in sixteen["frame_matching"]
    )
    rows = per_frame[(per_frame["method"] == "sixteen") & (per_frame["pair"] == per_frame["pair"].iloc[0])]
    assert list(rows["generated_frame"]) == [
        int(np.argmin(np.round(np.abs(np.array(times) - j / 24), 9))) for j in range(1, 24)
    ]
    table = table1(results, paper_table())
    labels = [row[0] for row in table.rows]
    assert "sixteen †" in labels and "flow" in labels
    assert any(note.startswith("† sixteen") and "16 frames" in note and "25-frame grid" in note for note in table.notes)
    assert "FID covariance n-1" in table.caption
    evaluate_store(out, EvalConfig(metrics=("psnr",)), methods=["sixteen"])  # re-evaluated rows replace the old ones
    saved = pd.read_csv(out / "per_frame.csv")
    assert (saved["method"] == "sixteen").sum() == 4 * 23 and {"linear", "flow", "sixteen"} <= set(saved["method"])


def test_psnr_with_the_keyframes_is_finite_and_capped(evaluated, tmp_path):
    out = shutil.copytree(evaluated[0], tmp_path / "runs")
    results, per_frame = evaluate_store(
        out, EvalConfig(metrics=("psnr",), include_keyframes=True, bootstrap=20), methods=["linear"]
    )
    row = value(results, "linear", "psnr")
    assert np.isfinite([row["value"], row["ci_low"], row["ci_high"]]).all() and row["n"] == 4 * 25
    keyframes = per_frame[(per_frame["method"] == "linear") & per_frame["frame"].isin([0, 24])]
    assert (keyframes["psnr"] == 100.0).all() and json.loads(row["settings"])["cap_db"] == 100.0


def test_fid_and_kid_from_local_inception_weights_cache_real_features(tmp_path):
    weights = save_random_inception(tmp_path / "weights-inception-2015-12-05-6726825d.pth")
    out = tmp_path / "runs"
    data = create_dataset("synthetic", num_pairs=2, num_frames=3)
    run_benchmark(create_method("linear"), data, RunStore(out), data.pair_ids())
    config = EvalConfig(metrics=("fid", "kid", "fvd"), weights={"inception_weights": str(weights)}, bootstrap=20)
    with pytest.warns(UserWarning, match="FID: 2 samples < 2048 feature dimensions: the value is biased"):
        first, _ = evaluate_store(out, config)
    cached = sorted((out / ".cache" / "features").rglob("*.npy"))
    assert len(cached) == 4 and all("inception" in str(p) for p in cached)  # 2 ground-truth + 2 generated
    stamps = [p.stat().st_mtime_ns for p in cached]
    second, _ = evaluate_store(out, config)
    assert [p.stat().st_mtime_ns for p in cached] == stamps
    for metric in ("fid", "kid"):
        row = value(first, "linear", metric)
        assert np.isfinite(row["value"]) and row["n"] == 2 and "inception-v3" in row["extractor"]
        assert row["value"] == pytest.approx(value(second, "linear", metric)["value"])
    assert value(first, "linear", "fid")["value"] > 0
    assert "at least 9 frames" in value(first, "linear", "fvd")["missing_reason"]


def test_same_size_weights_rewrite_recomputes_the_cached_features(tmp_path):
    """The cache follows the weights' content: other weights of the same size at the same path are extracted afresh."""
    weights = save_random_inception(tmp_path / "weights-inception-2015-12-05-6726825d.pth")
    data = create_dataset("synthetic", num_pairs=2, num_frames=3)
    run_benchmark(create_method("linear"), data, RunStore(tmp_path / "runs"), data.pair_ids())
    config = EvalConfig(metrics=("fid",), weights={"inception_weights": str(weights)}, bootstrap=0)
    with pytest.warns(UserWarning, match="biased"):
        before, _ = evaluate_store(tmp_path / "runs", config)
    state = torch.load(weights, weights_only=True)
    state["Mixed_7c.branch_pool.conv.weight"] = torch.randn_like(state["Mixed_7c.branch_pool.conv.weight"])
    size = weights.stat().st_size
    torch.save(state, weights)
    assert weights.stat().st_size == size
    with pytest.warns(UserWarning, match="biased"):
        after, _ = evaluate_store(tmp_path / "runs", config)
    shutil.copytree(tmp_path / "runs", tmp_path / "fresh", ignore=shutil.ignore_patterns(".cache"))
    with pytest.warns(UserWarning, match="biased"):
        fresh, _ = evaluate_store(tmp_path / "fresh", config)  # no cache: computed from the new weights
    assert value(after, "linear", "fid")["value"] != pytest.approx(value(before, "linear", "fid")["value"])
    assert value(after, "linear", "fid")["value"] == pytest.approx(value(fresh, "linear", "fid")["value"], rel=1e-9)


def test_sharded_feature_extraction_then_merge_equals_one_evaluation(tmp_path):
    """Shards cache their pairs' features in the run store; an unsharded evaluate then only scores."""
    weights = save_random_inception(tmp_path / "weights-inception-2015-12-05-6726825d.pth")
    data = create_dataset("synthetic", num_pairs=3, num_frames=3)
    whole_out, sharded_out = tmp_path / "whole", tmp_path / "sharded"
    for out in (whole_out, sharded_out):
        run_benchmark(create_method("linear"), data, RunStore(out), data.pair_ids())
    config = EvalConfig(metrics=("fid", "kid"), weights={"inception_weights": str(weights)}, bootstrap=10)
    with pytest.warns(UserWarning, match="biased"):
        whole, _ = evaluate_store(whole_out, config)
    assert [extract_features(sharded_out, config, (i, 2)) for i in range(2)] == [2, 1]
    cached = sorted((sharded_out / ".cache" / "features").rglob("*.npy"))
    assert len(cached) == 6  # 3 pairs x (generated + ground truth)
    stamps = [p.stat().st_mtime_ns for p in cached]
    with pytest.warns(UserWarning, match="biased"):
        merged, _ = evaluate_store(sharded_out, config)
    assert [p.stat().st_mtime_ns for p in cached] == stamps  # nothing extracted again
    for metric in ("fid", "kid"):
        assert value(merged, "linear", metric)["value"] == pytest.approx(value(whole, "linear", metric)["value"])
        assert value(merged, "linear", metric)["n"] == 3
    code, out, _ = run_main(
        "evaluate",
        "--out",
        sharded_out,
        "--metrics",
        "fid",
        "--inception-weights",
        weights,
        "--shard",
        "1/2",
        "--quiet",
    )
    assert code == 0 and "cached FID/KID/FVD features of 1 pair(s)" in out


def test_a_given_weights_file_that_does_not_exist_is_an_error_naming_it(evaluated):
    out, _, _ = evaluated
    with pytest.raises(
        KfbenchError,
        match=r"InceptionV3 FID weights file '/no/inception.pth' given with --inception-weights does not exist",
    ):
        evaluate_store(out, EvalConfig(weights={"inception_weights": "/no/inception.pth"}))
    code, _, err = run_main("evaluate", "--out", out, "--metrics", "fid", "--inception-weights", "/no/inception.pth")
    assert code == 2 and "weights-inception-2015-12-05-6726825d.pth" in err
    assert len(err.strip().splitlines()) == 1


def test_evaluate_without_runs_says_what_to_do(tmp_path):
    code, _, err = run_main("evaluate", "--out", tmp_path)
    assert code == 2 and "no completed runs to evaluate" in err and "kfbench run" in err


@pytest.fixture(scope="module")
def report(evaluated, tmp_path_factory):
    out = evaluated[0]
    folder = tmp_path_factory.mktemp("report")
    code, stdout, err = run_main("report", "--out", out, "--to", folder, "--quiet")
    assert code == 0, err
    assert f"report: {folder / 'index.html'}" in stdout
    return folder


def test_report_writes_table1_plots_and_the_published_numbers(report):
    for name in ("table1", "paper_table1"):
        for ext in ("md", "csv", "tex"):
            assert (report / f"{name}.{ext}").stat().st_size > 100
    table = (report / "table1.md").read_text()
    assert "| flow | — (missing) |" in table and "n=92" in table and "synthetic PSNR↑" in table
    assert "--inception-weights" in table  # the reason a cell is missing
    paper = (report / "paper_table1.md").read_text()
    assert "not computed by kfbench" in paper and "| ours | 34.58 | 366.53 | 32.68 | 424.69 |" in paper
    assert r"\begin{tabular}" in (report / "table1.tex").read_text()
    for stem in ("synthetic-metrics", "synthetic-per-frame", "synthetic-synthetic-0-0000-strip"):
        for ext in ("png", "svg"):
            assert (report / "figures" / f"{stem}.{ext}").stat().st_size > 1000


def test_paper_columns_sit_beside_ours_only_on_a_paper_dataset_under_the_paper_protocol():
    from kfbench.report.tables import paper_table, table1

    def results(protocol):
        row = {
            "dataset": "davis",
            "method": "ours",
            "metric": "fid",
            "value": 40.0,
            "ci_low": 35.0,
            "ci_high": 45.0,
            "n": 2691,
            "extractor": "",
            "settings": json.dumps({"protocol": protocol}),
            "missing_reason": "",
        }
        return pd.DataFrame([row])

    table = table1(results("paper"), paper_table())
    assert table.header == ["method", "davis FID↓", "davis FID↓ (paper)", "davis FVD↓ (paper)"]
    assert table.rows[0] == ["ours", "40.00 [35.00, 45.00] n=2691", "32.68", "424.69"]
    assert ["film", "", "41.85", "1048.65"] in table.rows
    other = table1(results("kfbench"), paper_table())  # measured otherwise: the published numbers are not beside it
    assert other.header == ["method", "davis FID↓"] and [r[0] for r in other.rows] == ["ours"]


def chromium_dom(page, tmp_path):
    """The page's DOM after load in headless Chromium, and a screenshot of it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    flags = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--mute-audio",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=15000",
    ]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    shot = tmp_path / "screenshot.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1400,2400", page.as_uri()], capture_output=True, timeout=120
    )
    return dom, shot


@pytest.mark.skipif(
    not (shutil.which("chromium") or shutil.which("chromium-browser")),
    reason="chromium is not installed (apt-get install -y chromium; .ci/run installs it)",
)
@pytest.mark.parametrize("videos", ["embed", "link"])
def test_html_report_plays_every_video_in_headless_chromium(evaluated, tmp_path, videos):
    from kfbench.report import write_report

    folder = write_report(evaluated[0], tmp_path / "report", videos=videos).folder
    dom, shot = chromium_dom(folder / "index.html", tmp_path)
    videos_found = re.findall(r"<video[^>]*>", dom)
    assert len(videos_found) == 4 * 3  # 4 pairs x (ground truth, linear, flow)
    assert all('data-state="loaded"' in v for v in videos_found), videos_found
    assert '<div class="error">' not in dom and dom.count("<img") >= 3 and "Table 1 layout" in dom
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if videos == "link":
        assert (folder / "videos" / "synthetic" / "synthetic-0-0000" / "ground_truth.mp4").is_file()
        assert 'src="videos/synthetic/synthetic-0-0000/flow.mp4"' in dom


@pytest.mark.parametrize(
    "protocol, grid, size, window, fid_cov",
    [
        ("stylegan-v", 25, "96x64", "grid frames 0-15 of 25 (16-frame clips, first window", "n"),
        ("paper", 25, "1024x576", "grid frames 0-24 of 25 (25-frame clips, centre window", "n-1"),
    ],
)
def test_protocols_bundle_frames_window_and_conventions(evaluated, tmp_path, protocol, grid, size, window, fid_cov):
    out = shutil.copytree(evaluated[0], tmp_path / "runs")
    results, _ = evaluate_store(
        out, EvalConfig(protocol=protocol, metrics=("psnr", "fvd"), bootstrap=0), methods=["linear"]
    )
    psnr, fvd = (json.loads(value(results, "linear", m)["settings"]) for m in ("psnr", "fvd"))
    assert psnr["protocol"] == protocol and psnr["grid_frames"] == grid and psnr["compared_at"].startswith(size)
    assert (
        fvd["window"].startswith(window)
        and fvd["covariance"] == "n"
        and psnr["conventions"]["fid_covariance"] == fid_cov
    )
    assert value(results, "linear", "psnr")["n"] == 4 * 25  # keyframes included in both


def test_an_unknown_protocol_or_convention_is_one_line_and_exit_2(evaluated):
    code, _, err = run_main("evaluate", "--out", evaluated[0], "--protocol", "tf", "--quiet")
    assert code == 2 and "unknown protocol 'tf'; valid: kfbench, paper, stylegan-v" in err and "Traceback" not in err
    code, _, err = run_main("evaluate", "--out", evaluated[0], "--fvd-covariance", "biased", "--quiet")
    assert code == 2 and "--fvd-covariance takes n-1 or n" in err
