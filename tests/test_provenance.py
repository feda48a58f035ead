"""Provenance (issue 21): settings fingerprints and run ids, damaged pairs, one ground truth per table, moved data."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from kfbench import create_dataset
from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator
from kfbench.metrics.evaluate import EvalConfig, evaluate_store
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.inprocess import run_main

SMALL = {"num_pairs": 2, "num_frames": 5, "height": 16, "width": 24}
QUICK = ("--metrics", "psnr,keyframe_psnr,flicker", "--bootstrap", "0", "--quiet")


class Stamp(Interpolator):
    """Frames whose every pixel is a function of the options, the seed and the weights' bytes (a stand-in method)."""

    name = "stamp"

    def __init__(self, checkpoint: Path, model: Path, steps: int) -> None:
        super().__init__()
        self.options = {"checkpoint": str(checkpoint), "model": str(model), "num_inference_steps": steps}

    def _interpolate(self, first, last, *, num_frames, seed, latents, prompt=None):
        level = (
            sum(Path(self.options["checkpoint"]).read_bytes())
            + len(Path(self.options["model"]).read_bytes())
            + 7 * self.options["num_inference_steps"]
            + 31 * seed
        ) % 251
        return np.full((num_frames, *first.shape), level, np.uint8)


def _stamp_run(out, checkpoint, model, steps=2, seed=0, num_frames=5):
    data = create_dataset("synthetic", **{**SMALL, "num_frames": num_frames})
    summary = run_benchmark(Stamp(checkpoint, model, steps), data, RunStore(out), data.pair_ids(), seed=seed)
    return summary, RunStore(out).load_frames("synthetic", summary.run, data.pair_ids()[0])


@pytest.mark.slow  # seven runs and an evaluation (first torch import), or a report with its figures
def test_five_changed_settings_never_reuse_old_frames_and_an_identical_rerun_resumes(tmp_path):
    out, ckpt, model = tmp_path / "runs", tmp_path / "ckpt.bin", tmp_path / "model.bin"
    ckpt.write_bytes(b"\x01" * 64)
    model.write_bytes(b"\x02" * 10)
    first, frames = _stamp_run(out, ckpt, model)
    assert first.run == "stamp" and len(first.done) == 2
    again, _ = _stamp_run(out, ckpt, model)
    assert again.run == "stamp" and again.done == [] and len(again.skipped) == 2  # identical settings: resumed
    other_model = tmp_path / "other-model.bin"
    other_model.write_bytes(b"\x02" * 11)
    runs = {"stamp"}
    for change in ({"steps": 3}, {"num_frames": 7}, {"seed": 1}, {"model": other_model}):
        summary, changed = _stamp_run(out, ckpt, **{"model": model, **change})
        assert len(summary.done) == 2 and summary.skipped == [] and summary.run not in runs, change
        assert summary.run.startswith("stamp@") and "settings differ from run 'stamp'" in summary.notes[0]
        assert not np.array_equal(changed, frames), change
        runs.add(summary.run)
    ckpt.write_bytes(b"\x03" * 64)  # the checkpoint's content replaced in place, path and size unchanged
    summary, replaced = _stamp_run(out, ckpt, model)
    assert summary.run not in runs and len(summary.done) == 2 and "weights.checkpoint sha256:" in summary.notes[0]
    assert replaced[0, 0, 0, 0] == 3 * 64 + 10 + 14 and frames[0, 0, 0, 0] == 64 + 10 + 14  # the new content's frames
    results, _ = evaluate_store(out, EvalConfig(metrics=("psnr",), bootstrap=0))
    assert set(results["method"]) == runs | {summary.run} and results["fingerprint"].nunique() == 6


def test_a_named_run_holding_other_settings_is_refused_naming_the_difference(tmp_path):
    data, store, weights = create_dataset("synthetic", **SMALL), RunStore(tmp_path), tmp_path / "w.bin"
    weights.write_bytes(b"a")
    named = run_benchmark(Stamp(weights, weights, 2), data, store, data.pair_ids()[:1], run_name="mine")
    assert named.run == "mine" and store.completed_pairs("synthetic", "mine") == data.pair_ids()[:1]
    with pytest.raises(
        KfbenchError, match=r"run 'mine' .* holds other settings \(options.num_inference_steps 2 -> 5\)"
    ):
        run_benchmark(Stamp(weights, weights, 5), data, store, data.pair_ids()[:1], run_name="mine")


def _run_args(method: str, out: Path) -> tuple:
    """`kfbench run` of ``method`` on the small synthetic set into ``out``."""
    small = (f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items())
    return ("run", "-m", method, "-d", "synthetic", *small, "--out", out, "--quiet")


def test_cli_rerun_with_other_steps_goes_to_its_own_run_and_show_prints_its_settings(tmp_path):
    args = _run_args("flow", tmp_path)
    assert run_main(*args)[0] == 0
    code, out, err = run_main(*args, "--consistency-sigma", "2")
    assert code == 0, err
    assert "note: settings differ from run 'flow' (options.consistency_sigma 3.0 -> 2.0)" in out
    assert "2 pair(s) written, 0 already complete" in out and "-> " + str(tmp_path / "synthetic" / "flow@") in out
    run = next(p for p in (tmp_path / "synthetic").iterdir() if p.name.startswith("flow@"))
    code, shown, _ = run_main("show", run)
    assert code == 0 and "options.consistency_sigma: 2.0" in shown and "versions.diffusers:" in shown
    assert "pairs: 2 complete, 0 damaged" in shown


def test_damaged_pairs_are_named_by_evaluate_and_verify_and_recomputed_by_run(tmp_path):
    args = _run_args("linear", tmp_path)
    assert run_main(*args)[0] == 0
    store = RunStore(tmp_path)
    first, second = store.completed_pairs("synthetic", "linear")
    meta = store.pair_dir("synthetic", "linear", first) / "meta.json"
    meta.write_text(meta.read_text()[:120])  # truncated
    (store.pair_dir("synthetic", "linear", second) / "frames" / "002.png").unlink()
    assert store.completed_pairs("synthetic", "linear") == []
    code, out, err = run_main("evaluate", "--out", tmp_path, *QUICK)
    assert code == 1 and "Traceback" not in err
    damaged = [line for line in err.splitlines() if line.startswith("damaged:")]
    assert len(damaged) == 1 and f"{first} (meta.json does not parse" in damaged[0]
    assert f"{second} (frame(s) 002.png missing of 5)" in damaged[0]
    code, out, _ = run_main("verify", tmp_path)
    assert code == 1 and "2 damaged" in out
    code, out, err = run_main(*args)
    assert code == 0 and "2 pair(s) written, 0 already complete" in out
    assert "recomputed 2 damaged or outdated pair(s)" in out and first in out and second in out
    assert run_main("verify", tmp_path / "synthetic" / "linear")[0] == 0
    frame = store.pair_dir("synthetic", "linear", second) / "frames" / "001.png"
    pixels = np.asarray(Image.open(frame)).copy()
    pixels[0, 0] ^= 255
    Image.fromarray(pixels).save(frame, compress_level=1)  # same count, possibly same size: only the hash tells
    code, out, _ = run_main("verify", tmp_path)
    assert (
        code == 1
        and f"synthetic/linear/{second}:" in out
        and ("differs from the recorded hash" in out or "size" in out)
    )


@pytest.mark.slow  # seven runs and an evaluation (first torch import), or a report with its figures
def test_runs_against_different_real_sets_get_separate_tables_naming_their_real_set(tmp_path):
    for method, frames in (("linear", 5), ("flow", 7)):
        code, _, err = run_main(
            "run",
            "-m",
            method,
            "-d",
            "synthetic",
            "--num-pairs",
            "2",
            "--num-frames",
            frames,
            "--height",
            "16",
            "--width",
            "24",
            "--out",
            tmp_path / "runs",
            "--quiet",
        )
        assert code == 0, err
    assert run_main("evaluate", "--out", tmp_path / "runs", *QUICK)[0] == 0
    results = pd.read_csv(tmp_path / "runs" / "results.csv")
    real_sets = {json.loads(s)["real_set"] for s in results["settings"]}
    assert len(real_sets) == 2 and results["fingerprint"].str.len().eq(64).all()
    assert run_main("report", "--out", tmp_path / "runs", "--to", tmp_path / "report", "--quiet")[0] == 0
    tables = sorted(p.name for p in (tmp_path / "report").glob("table1*.md"))
    assert tables == sorted(f"table1-synthetic-{r[:8]}.md" for r in real_sets)
    for name in tables:
        text = (tmp_path / "report" / name).read_text()
        caption = text.splitlines()[0]
        shared = [r for r in real_sets if f"Real set {r} (every row of this table is scored against it)" in caption]
        assert len(shared) == 1 and text.count("| linear |") + text.count("| flow |") == 1
        assert "Shared by every row: " in text and "versions.torch" in text


def _clips(root: Path, seed: int) -> Path:
    """Two 6-frame image-folder clips of random pixels."""
    rng = np.random.default_rng(seed)
    for clip in ("a", "b"):
        (root / clip).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)).save(root / clip / f"{i:05d}.png")
    return root


def test_moved_data_evaluates_with_root_or_kfbench_data_and_other_data_is_refused(tmp_path, monkeypatch):
    data, out = _clips(tmp_path / "data" / "folder", 0), tmp_path / "runs"
    assert (
        run_main("run", "-m", "linear", "-d", "folder", "--root", data, "--num-frames", "6", "--out", out, "--quiet")[0]
        == 0
    )
    assert run_main("evaluate", "--out", out, *QUICK)[0] == 0
    before = pd.read_csv(out / "results.csv")
    moved = tmp_path / "moved" / "folder"
    moved.parent.mkdir()
    shutil.move(data, moved)
    code, _, err = run_main("evaluate", "--out", out, *QUICK)
    assert code == 2 and err.count("\n") == 1 and "pass --root DIR or set KFBENCH_DATA" in err
    assert run_main("evaluate", "--out", out, "--root", moved, *QUICK)[0] == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), before)
    monkeypatch.setenv("KFBENCH_DATA", str(moved.parent))
    assert run_main("evaluate", "--out", out, *QUICK)[0] == 0
    assert run_main("report", "--out", out, "--to", tmp_path / "report", "--root", moved, "--quiet")[0] == 0
    other = _clips(tmp_path / "other", 1)
    code, _, err = run_main("evaluate", "--out", out, "--root", other, *QUICK)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "the keyframes and ground truth found under" in err and "differ from those the run was made from" in err


def test_pairs_without_ground_truth_get_the_metrics_that_need_none(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    for name, seed in (("a", 0), ("b", 1)):
        Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 24, 3), dtype=np.uint8)).save(
            folder / f"{name}.png"
        )
    (folder / "pairs.csv").write_text("id,first,last,num_frames\np1,a.png,b.png,5\np2,b.png,a.png,5\n")
    assert (
        run_main(
            "run", "-m", "flow", "-d", "pairs", "--root", folder / "pairs.csv", "--out", tmp_path / "o", "--quiet"
        )[0]
        == 0
    )
    results, _ = evaluate_store(
        tmp_path / "o", EvalConfig(metrics=("psnr", "keyframe_psnr", "warp_error", "flicker"), bootstrap=0)
    )
    rows = results.set_index("metric")
    assert rows.loc["keyframe_psnr", "value"] == 100.0 and rows.loc["keyframe_psnr", "n"] == 2
    assert "psnr needs ground truth; pair(s) p1, p2 have keyframes only" in rows.loc["psnr", "missing_reason"]
    for metric in ("warp_error", "flicker"):
        settings = json.loads(rows.loc[metric, "settings"])
        assert rows.loc[metric, "missing_reason"] == "" and rows.loc[metric, "value"] >= 0
        assert settings["quantity"].startswith("the generated clips' raw") and set(settings["figures"]) == {
            metric,
            f"{metric}_generated",
        }
