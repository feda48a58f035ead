"""`kfbench evaluate --reference-run DATASET/RUN` (issue 21): another run's frames as the real set of the
distribution metrics, for datasets without ground truth.

The feature networks are cheap stand-ins (tests.helpers.standins): what is tested is which frames form the two
sets and that the numbers are kfbench's tested FID, KID and FVD of exactly those sets.
"""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from kfbench import create_dataset
from kfbench.interfaces import Interpolator
from kfbench.metrics.frechet import frechet_distance_features
from kfbench.metrics.inception import ImageFeatures
from kfbench.metrics.kid import kernel_distance
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.inprocess import error_line, run_main
from tests.helpers.standins import PooledClip, PooledColours

FRAMES = 11  # 9 in-between frames: one FVD clip per pair (I3D needs 9)


class Noise(Interpolator):
    """Frames of random pixels drawn from the options, the seed and the keyframes (runs that differ by ``level``)."""

    name = "noise"

    def __init__(self, level: int, width: int | None = None) -> None:
        super().__init__()
        self.options = {"level": level, "width": width}

    def _interpolate(self, first, last, *, num_frames, seed, latents, prompt=None):
        rng = np.random.default_rng([self.options["level"], seed, int(first.sum())])
        height, width = first.shape[:2]
        low = 40 * self.options["level"]  # each level a brighter distribution
        return rng.integers(low, low + 100, (num_frames, height, self.options["width"] or width, 3), dtype=np.uint8)


@pytest.fixture
def standins(monkeypatch, tmp_path):
    """Stand-in InceptionV3 and I3D; the weights options they need (the files exist, their content is unused)."""
    import kfbench.metrics.i3d
    import kfbench.metrics.inception

    monkeypatch.setattr(kfbench.metrics.inception, "load_inception", lambda path, antialias: PooledColours())
    monkeypatch.setattr(kfbench.metrics.i3d, "ClipFeatures", PooledClip)
    weights = tmp_path / "stand-in.pth"
    weights.write_bytes(b"stand-in")
    return ("--inception-weights", weights, "--i3d-weights", weights, "--bootstrap", "0", "--quiet")


def _pairs_store(tmp_path, *runs: tuple[str, Noise]):
    """A keyframes-only dataset (a pairs CSV) of 3 pairs at 16x24 and the given runs of it."""
    folder = tmp_path / "pairs"
    folder.mkdir()
    for name, seed in (("a", 0), ("b", 1), ("c", 2)):
        pixels = np.random.default_rng(seed).integers(0, 256, (16, 24, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}.png")
    (folder / "pairs.csv").write_text(
        f"id,first,last,num_frames\np1,a.png,b.png,{FRAMES}\np2,b.png,c.png,{FRAMES}\np3,c.png,a.png,{FRAMES}\n"
    )
    data, out = create_dataset("pairs", root=str(folder / "pairs.csv")), tmp_path / "runs"
    for run, method in runs:
        run_benchmark(method, data, RunStore(out), data.pair_ids(), run_name=run)
    return out


def _rows(out):
    results = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    return {(r.method, r.metric): r for r in results.itertuples()}


def test_fid_kid_and_fvd_against_a_reference_run_equal_the_metrics_of_the_two_frame_sets(tmp_path, standins):
    out = _pairs_store(tmp_path, ("ref", Noise(1)), ("gen", Noise(2)))
    code, stdout, stderr = run_main(
        "evaluate", "--out", out, "--metrics", "fid,kid,fvd,psnr", "--reference-run", "pairs/ref", *standins
    )
    assert code == 0, stderr
    rows, store = _rows(out), RunStore(out)
    pairs = ["p1", "p2", "p3"]
    # the compared frames: the 9 in-between frames of both runs (same count and size: nothing mapped or resized)
    generated = [store.load_frames("pairs", "gen", p)[1:-1] for p in pairs]
    reference = [store.load_frames("pairs", "ref", p)[1:-1] for p in pairs]
    images = ImageFeatures(PooledColours(), "stand-in", 48)
    x, y = images(np.concatenate(generated)), images(np.concatenate(reference))
    clips = PooledClip(tmp_path)
    cx, cy = (np.concatenate([clips(c) for c in frames]) for frames in (generated, reference))
    expected = {
        "fid": frechet_distance_features(x, y, "n-1"),
        "kid": kernel_distance(x, y),
        "fvd": frechet_distance_features(cx, cy, "n"),
    }
    fingerprint = json.loads((out / "pairs" / "ref" / "run.json").read_text())["fingerprint"]
    for metric, value in expected.items():
        row = rows[("gen", metric)]
        assert value > 0 and row.value == pytest.approx(value, rel=1e-9, abs=1e-12), metric
        assert row.n == (27 if metric != "fvd" else 3) and pd.isna(row.missing_reason)
        settings = json.loads(row.settings)
        assert (
            settings["reference_run"]["run"] == "pairs/ref" and settings["reference_run"]["fingerprint"] == fingerprint
        )
        assert settings["ground_truth"] == "none used: the frames of run pairs/ref are the reference set"
        assert settings["real_set"] and settings["pair_ids"] == pairs and row.fingerprint != fingerprint
    assert "reference-run frames 1-9 of 11" in json.loads(rows[("gen", "fvd")].settings)["window"]
    assert "psnr needs ground truth; pair(s) p1, p2, p3 have keyframes only" in rows[("gen", "psnr")].missing_reason
    assert ("ref", "psnr") in rows and ("ref", "fid") not in rows  # the reference is not scored against itself
    assert "pairs gen fid:" in stdout and "pairs ref fid" not in stdout


def test_a_ground_truth_row_and_a_reference_run_row_never_share_a_table(tmp_path, standins):
    data = create_dataset("synthetic", num_pairs=2, num_frames=5, height=16, width=24)
    out = tmp_path / "runs"
    for run, level in (("a", 1), ("b", 2)):
        run_benchmark(Noise(level), data, RunStore(out), data.pair_ids(), run_name=run)
    assert run_main("evaluate", "--out", out, "--metrics", "fid", *standins)[0] == 0
    truth_real_set = json.loads(_rows(out)[("a", "fid")].settings)["real_set"]
    code, _, err = run_main("evaluate", "--out", out, "--metrics", "fid", "--reference-run", "synthetic/a", *standins)
    assert code == 0, err
    rows = _rows(out)
    kept, against = (json.loads(rows[(run, "fid")].settings) for run in ("a", "b"))
    assert kept["real_set"] == truth_real_set and "reference_run" not in kept  # a's own row: against ground truth
    assert against["reference_run"]["run"] == "synthetic/a" and against["real_set"] != truth_real_set
    assert run_main("report", "--out", out, "--to", tmp_path / "report", "--quiet")[0] == 0
    tables = {p.name: p.read_text() for p in (tmp_path / "report").glob("table1*.md")}
    assert sorted(tables) == sorted(
        [f"table1-synthetic-{truth_real_set[:8]}.md", f"table1-synthetic-ref-{against['real_set'][:8]}.md"]
    )
    truth = tables[f"table1-synthetic-{truth_real_set[:8]}.md"]
    reference = tables[f"table1-synthetic-ref-{against['real_set'][:8]}.md"]
    assert "| a |" in truth and "| b |" not in truth and f"Real set {truth_real_set}" in truth.splitlines()[0]
    caption = reference.splitlines()[0]
    assert "| b |" in reference and "| a |" not in reference
    assert f"Reference set {against['real_set']} (not ground truth" in caption and "run synthetic/a" in caption


@pytest.fixture
def refusals(tmp_path):
    """A pairs store with runs gen and ref, ref's copy with every pair damaged, a run of another aspect ratio and a
    run folder symlinked out of the store."""
    out = _pairs_store(tmp_path, ("ref", Noise(1)), ("gen", Noise(2)), ("narrow", Noise(3, width=12)))
    shutil.copytree(out / "pairs" / "ref", out / "pairs" / "broken")
    for frame in (out / "pairs" / "broken").glob("*/frames/000.png"):
        frame.unlink()
    shutil.copytree(out / "pairs" / "ref", tmp_path / "outside" / "ref")
    (out / "pairs" / "escape").symlink_to(tmp_path / "outside" / "ref")
    return out


@pytest.mark.parametrize(
    "reference, more, message",
    [
        ("pairs/nope", (), "--reference-run pairs/nope: no run folder .* \\(runs of pairs: broken, escape, gen, "),
        ("nowhere/ref", (), "no run folder .* \\(the store has no runs of 'nowhere'\\)"),
        ("ref", (), "--reference-run takes DATASET/RUN, a run folder of the store"),
        ("../pairs", (), "bad dataset name '..' .* it names a folder itself"),
        ("pairs/../../x", (), "bad method name '../../x' .* it contains a path separator"),
        ("pairs/escape", (), "method folder .*escape leads outside .* \\(to .*outside/ref, a symlink or '..'\\)"),
        (
            "pairs/broken",
            (),
            "--reference-run pairs/broken has no complete pair \\(damaged: p1 \\(frame\\(s\\) 000.png",
        ),
        (
            "pairs/narrow",
            ("--methods", "gen"),
            "pairs/gen/p1: frames of 24x16 cannot be compared with the reference "
            "run pairs/narrow's 12x16 \\(another aspect ratio",
        ),
        (
            "pairs/ref",
            ("--metrics", "psnr"),
            "--reference-run pairs/ref is used by fid, kid, fvd, fvd_videomae, jedi only",
        ),
        ("pairs/ref", ("--dataset", "synthetic"), "is a run of pairs; it cannot be the reference set of --dataset"),
        ("pairs/ref", ("--methods", "ref"), "no other run of pairs is selected to score against it"),
    ],
)
def test_bad_reference_runs_are_refused_in_one_line(refusals, standins, reference, more, message):
    metrics = () if "--metrics" in more else ("--metrics", "fid")
    line = error_line("evaluate", "--out", refusals, "--reference-run", reference, *metrics, *more, *standins)
    assert re.search(message, line), line


def test_sharded_extraction_caches_the_reference_runs_features_for_the_final_evaluate(tmp_path, standins):
    from kfbench.metrics.evaluate import EvalConfig, evaluate_store, extract_features

    out = _pairs_store(tmp_path, ("ref", Noise(1)), ("gen", Noise(2)), ("other", Noise(3)))
    config = EvalConfig(metrics=("fid",), weights={"inception_weights": str(standins[1])}, bootstrap=0)
    assert [extract_features(out, config, (i, 2), reference="pairs/ref") for i in range(2)] == [4, 2]
    cached = sorted((out / ".cache" / "features").rglob("*.npy"))
    assert len(cached) == 3 * 3  # gen's, other's and (once, shared by both) ref's features of 3 pairs
    assert sum(p.name.startswith("ref--") for p in cached) == 3
    stamps = [p.stat().st_mtime_ns for p in cached]
    with pytest.warns(UserWarning, match="biased"):
        results, _ = evaluate_store(out, config, reference="pairs/ref")
    assert sorted((out / ".cache" / "features").rglob("*.npy")) == cached
    assert [p.stat().st_mtime_ns for p in cached] == stamps  # nothing extracted again
    assert sorted(results["method"]) == ["gen", "other"] and results["value"].gt(0).all()
