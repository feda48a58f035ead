"""Paired comparisons, pair difficulty and gap-length sweeps (issue 29)."""

import numpy as np
import pandas as pd
import pytest

from kfbench import create_dataset, create_method
from kfbench.compare.comparison import Request, compare_methods
from kfbench.compare.paired import fewest_pairs_for_test, pairs_needed, per_pair_difference
from kfbench.compare.strata import breakdown, pair_bins, parse_bins
from kfbench.datasets.pairrule import PairRule
from kfbench.errors import KfbenchError
from kfbench.metrics.difficulty import FACTORS, pair_difficulty
from kfbench.metrics.evaluate import EvalConfig, evaluate_store
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.inprocess import run_main
from tests.helpers.standins import PooledColours

BOOT = {"resamples": 400, "confidence": 0.95, "seed": 0}


def better_by_construction(n, seed=0):
    """Per-pair values: pairs differ a lot (sd 1.5), A beats B on every pair by 0.6 +- 0.3."""
    rng = np.random.default_rng(seed)
    base = rng.normal(28, 1.5, n)
    return base + rng.normal(0.6, 0.3, n), base


def test_the_paired_test_resolves_a_better_method_with_fewer_pairs_than_unpaired_intervals():
    """From how many pairs on each stays resolved (n = 4 .. 60; a 4-pair bootstrap can exclude 0 by chance)."""
    sizes = range(4, 61)
    found = [per_pair_difference(*better_by_construction(n), **BOOT) for n in sizes]

    def stays_resolved_from(flags):
        return next(n for n, k in zip(sizes, range(len(flags))) if all(flags[k:]))

    n_paired = stays_resolved_from([f.resolved for f in found])
    n_unpaired = stays_resolved_from([f.unpaired_ci_low > 0 or f.unpaired_ci_high < 0 for f in found])
    assert n_paired == fewest_pairs_for_test(0.95) == 6  # the signed-rank test's own floor, not the spread
    assert n_unpaired > 3 * n_paired, (n_paired, n_unpaired)
    assert found[-1].p_value < 1e-6 and 0.4 < found[-1].difference < 0.8


def test_identical_methods_give_an_interval_covering_zero():
    a, _ = better_by_construction(50)
    same = per_pair_difference(a, a.copy(), **BOOT)
    assert same.difference == 0 and same.ci_low <= 0 <= same.ci_high and same.p_value == 1 and not same.resolved
    rng = np.random.default_rng(3)
    base = rng.normal(28, 1.5, 50)  # exchangeable: the same method, independent noise per pair
    twin = per_pair_difference(base + rng.normal(0, 0.5, 50), base + rng.normal(0, 0.5, 50), **BOOT)
    assert twin.ci_low < 0 < twin.ci_high and not twin.resolved and twin.pairs_needed > 50


def test_pairs_needed_follows_the_stated_rule():
    assert pairs_needed(10, 1.0, -1.0, 3.0) == 40  # 10 x (2 / 1)^2
    assert pairs_needed(10, 1.0, 0.5, 1.5, minimum=6) == 11  # never fewer than n + 1 when unresolved
    assert np.isnan(pairs_needed(10, 0.0, -1.0, 1.0))


def test_difficulty_terciles_order_synthetic_pairs_of_known_motion():
    """Translation scenes at several gaps: the known displacement grows with the gap; measured terciles agree."""
    data = create_dataset("synthetic", num_pairs=2, motion="translation", gaps="3,7,11,15,19,23")
    rows = []
    for pair_id in data.pair_ids():
        pair = data.load(pair_id)
        figures = pair_difficulty(
            pair.first, pair.last, pair.ground_truth, fps=pair.meta["fps"], frame_indices=pair.meta["frame_indices"]
        )
        speed = np.hypot(*pair.meta["background_velocity"])
        known = speed * (len(pair.ground_truth) - 1) / (data.num_frames - 1)
        rows.append({"pair": pair_id, "known": known, **figures})
    table = pd.DataFrame(rows)
    assert set(FACTORS) <= set(table.columns) and (table["gap_frames"] == [3, 7, 11, 15, 19, 23] * 2).all()
    measured, _ = pair_bins(table, "motion", None)
    known, _ = pair_bins(table.assign(motion=table["known"]), "motion", None)
    assert list(measured[table["pair"]]) == list(known[table["pair"]])
    assert sorted(measured.value_counts()) == [4, 4, 4]
    assert table.groupby("gap_frames")["crossfade_psnr"].mean().is_monotonic_decreasing
    assert np.allclose(table["gap_seconds"], (table["gap_frames"] - 1) / 7.0)


def test_user_bins_and_breakdown():
    per_pair = pd.DataFrame(
        {
            "dataset": "d",
            "method": ["a"] * 6,
            "pair": list("uvwxyz"),
            "metric": "psnr",
            "value": [1.0, 2, 3, 4, 5, 6],
            "motion": [0.5, 0.7, 1.5, 2.5, 3.5, 9.0],
            **{f: 1.0 for f in FACTORS if f != "motion"},
        }
    )
    table = breakdown(per_pair, parse_bins("motion=1,3"), resamples=50)
    assert list(table["label"]) == ["<= 1", "1 - 3", "> 3"] and list(table["value"]) == [1.5, 3.5, 5.5]
    assert set(table["factor"]) == {"motion"}  # one-bin factors are left out
    for bad in ("speed=1", "motion=3,1", "motion=x"):
        with pytest.raises(KfbenchError, match="--difficulty-bins"):
            parse_bins(bad)


def test_gap_sweep_cuts_nested_pairs_from_the_same_clips():
    rule = PairRule(25, 1, num_pairs=2)
    assert rule.sweep({"a": 30, "b": 12, "c": 50}, (9, 17, 25, 49)) == [("a", 9), ("a", 17), ("a", 25), ("b", 9)]
    assert PairRule(25, 2).sweep({"a": 40}, (9, 17, 25)) == [("a", 9), ("a", 17)]  # spans 17 and 33 fit, 49 does not
    data = create_dataset("synthetic", num_pairs=1, gaps="5,9")
    assert data.pair_ids() == ["synthetic-0-0000-g5", "synthetic-0-0000-g9"]
    short, long = (data.load(p).ground_truth for p in data.pair_ids())
    assert np.array_equal(short, long[:5])  # the same clip, keyframes further apart


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """linear, an exact twin of it, and a noisier copy (worse by construction) on 6 tiny synthetic pairs."""
    import kfbench.metrics.inception

    out = tmp_path_factory.mktemp("runs")
    weights = out / "stand-in.pth"
    weights.write_bytes(b"stand-in")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kfbench.metrics.inception, "load_inception", lambda path, antialias: PooledColours())
        data = create_dataset("synthetic", num_pairs=6, num_frames=5, height=32, width=48)
        runs = RunStore(out)
        run_benchmark(create_method("linear"), data, runs, data.pair_ids())
        rng = np.random.default_rng(0)
        for pair_id in runs.completed_pairs("synthetic", "linear"):
            meta, frames = (
                runs.load_meta("synthetic", "linear", pair_id),
                runs.load_frames("synthetic", "linear", pair_id),
            )
            noisy = frames.astype(np.int16)
            noisy[1:-1] += rng.integers(-25, 26, noisy[1:-1].shape, dtype=np.int16)
            for name, clip in (("twin", frames), ("noisy", np.clip(noisy, 0, 255).astype(np.uint8))):
                runs.save("synthetic", name, pair_id, clip, {**meta, "method": name}, fps=7)
        config = EvalConfig(metrics=("fid", "psnr", "ssim"), weights={"inception_weights": str(weights)}, bootstrap=50)
        with pytest.warns(UserWarning):
            evaluate_store(out, config)
        yield out, patch


def row(table, metric):
    return table[table["metric"] == metric].iloc[0]


def test_compare_resolves_the_worse_method_and_not_an_identical_one(store):
    out, _ = store
    twin, notes = compare_methods(out, Request("twin", "linear", resamples=200))
    assert notes == [] and set(twin["metric"]) == {"fid", "psnr", "ssim"}
    for metric in ("fid", "psnr", "ssim"):
        r = row(twin, metric)
        assert r["difference"] == pytest.approx(0, abs=1e-9) and r["ci_low"] <= 1e-9 and r["ci_high"] >= -1e-9
        assert not r["resolved"] and r["missing_reason"] == ""
    noisy, _ = compare_methods(out, Request("noisy", "linear", resamples=200))
    psnr, fid = row(noisy, "psnr"), row(noisy, "fid")
    assert psnr["resolved"] and psnr["better"] == "linear" and psnr["difference"] < 0 and psnr["p_value"] < 0.05
    assert psnr["kind"] == "per-pair" and fid["kind"] == "set" and fid["difference"] > 0 and fid["n"] == 6
    assert fid["value_b"] == pytest.approx(
        pd.read_csv(out / "results.csv").query("method == 'linear' and metric == 'fid'")["value"].iloc[0]
    )
    saved = pd.read_csv(out / "comparisons.csv")
    assert {("twin", "linear"), ("noisy", "linear")} == set(zip(saved["method_a"], saved["method_b"]))


def test_pairs_of_only_one_method_are_left_out_in_one_line_or_refused(store, tmp_path):
    import shutil

    out = shutil.copytree(store[0], tmp_path / "runs")
    shutil.rmtree(out / "synthetic" / "noisy" / "synthetic-0-0005")
    code, stdout, _ = run_main("compare", "noisy", "linear", "--out", out, "--metrics", "psnr", "--bootstrap", "50")
    assert (
        code == 0
        and "synthetic: 0 pair(s) only in noisy, 1 only in linear; comparing the 5 pair(s) both have" in stdout
    )
    code, _, stderr = run_main("compare", "noisy", "linear", "--out", out, "--same-pairs")
    assert code == 2 and stderr.count("\n") == 1 and "not comparing" in stderr
    code, _, stderr = run_main("compare", "noisy", "ghost", "--out", out)
    assert code == 2 and "not both evaluated" in stderr and stderr.count("\n") == 1


def test_report_sections_show_comparisons_difficulty_and_the_tidy_tables(store, tmp_path):
    from kfbench.report.compare import comparison_sections
    from kfbench.report.html import table_html

    out, _ = store
    compare_methods(out, Request("noisy", "linear", resamples=50))
    for name in ("per_pair", "by_difficulty"):
        assert not pd.read_parquet(out / f"{name}.parquet").empty
    per_pair = pd.read_csv(out / "per_pair.csv")
    assert set(per_pair["metric"]) == {"psnr", "ssim"} and len(per_pair) == 3 * 6 * 2
    (tmp_path / "figures").mkdir()
    sections = comparison_sections(out, tmp_path, ["synthetic"], parse_bins("occlusion=0.2"), None)
    captions = [t.caption.split(".")[0] for t in sections.tables]
    assert captions == [
        "Paired comparisons",
        "Per-pair metrics by pair difficulty (bins: given cut points; terciles of the dataset's pairs; n = pairs)",
    ]
    html = table_html(sections.tables[0])
    assert "noisy - linear" in html and "resolved: linear better" in html
    assert [c for c, _ in sections.figures] == [
        "synthetic: paired differences with intervals",
        "synthetic: per-pair metrics by pair difficulty",
    ]
    assert (tmp_path / "comparisons.md").is_file() and (tmp_path / "by_difficulty.csv").is_file()


def test_by_gap_and_its_figure(tmp_path):
    from kfbench.compare.sweep import by_gap
    from kfbench.report.compare import gap_figure

    rows = [
        {
            "dataset": "d",
            "method": m,
            "pair": f"c{c}-g{g}",
            "metric": "psnr",
            "value": 40.0 - g - (m == "a"),
            **{f: 1.0 for f in FACTORS},
            "gap_frames": g,
        }
        for m in "ab"
        for c in range(3)
        for g in (5, 9, 17)
    ]
    one_gap = [{**r, "dataset": "e", "gap_frames": 25} for r in rows]
    table = by_gap(pd.DataFrame(rows + one_gap), resamples=20)
    assert set(table["dataset"]) == {"d"} and list(table["gap_frames"].unique()) == [5, 9, 17]
    assert list(table.query("method == 'b'")["value"]) == [35.0, 31.0, 23.0] and (table["n"] == 3).all()
    paths = gap_figure(table, "d", tmp_path / "d-gap-sweep")
    assert paths and all(p.stat().st_size > 1000 for p in paths)
