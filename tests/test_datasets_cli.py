"""Datasets through the command line and the runner: listing, runs on mp4 folders, --skip-bad, --manifest."""

import json
from fractions import Fraction

import numpy as np
import pytest

import kfbench
from kfbench.errors import BadSourceError
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.cli import run_cli
from tests.helpers.datatrees import davis_tree, truncate, write_video


def test_list_datasets_shows_every_dataset_with_a_description():
    lines = run_cli("list", "datasets", check=True).stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == ["davis", "folder", "pairs", "pexels", "synthetic"]
    assert all(len(line.split(None, 1)[1]) > 20 for line in lines)


def test_run_flow_on_a_folder_of_mp4s(tmp_path):
    videos = tmp_path / "videos"
    write_video(videos / "a.mp4", 52, rate=Fraction(30000, 1001))
    write_video(videos / "b.mp4", 9)
    result = run_cli(
        "run",
        "--dataset",
        "folder",
        "--root",
        videos,
        "--method",
        "flow",
        "--out",
        tmp_path / "runs",
        "--quiet",
        check=True,
    )
    assert (
        "folder: 2 pair(s) from 1 of 2 clip(s)" in result.stdout and "1 clip(s) shorter than 25 frames" in result.stdout
    )
    assert "flow on folder: 2 pair(s) written" in result.stdout
    pair_dir = tmp_path / "runs" / "folder" / "flow" / "a_00025-00049_s1"
    meta = json.loads((pair_dir / "meta.json").read_text())
    assert meta["pair"]["frame_indices"] == list(range(25, 50)) and meta["num_frames"] == 25
    assert meta["pair"]["fps"] == pytest.approx(29.97, abs=1e-3) and meta["dataset_options"]["skip_bad"] is False
    assert len(list((pair_dir / "frames").glob("*.png"))) == 25


def test_truncated_video_stops_a_run_or_is_skipped_and_reported(tmp_path):
    videos = tmp_path / "videos"
    write_video(videos / "good.mp4", 9)
    truncate(write_video(videos / "cut.mp4", 40))
    args = (
        "run",
        "--dataset",
        "folder",
        "--root",
        videos,
        "--method",
        "linear",
        "--num-frames",
        "9",
        "--out",
        tmp_path / "runs",
        "--quiet",
    )
    failed = run_cli(*args)
    assert failed.returncode == 2 and len(failed.stderr.strip().splitlines()) == 1
    assert "cut.mp4: cannot decode video (truncated or corrupt" in failed.stderr
    skipped = run_cli(*args, "--skip-bad", check=True)
    assert "1 pair(s) from 1 of 2 clip(s)" in skipped.stdout and "1 unreadable clip(s) skipped" in skipped.stdout
    report = skipped.stdout.splitlines()
    assert report[-2] == "skipped (--skip-bad), unreadable: 1" and "cut.mp4: cannot decode video" in report[-1]


def test_run_pinned_by_a_manifest(tmp_path):
    root = davis_tree(tmp_path / "davis", {"bear": 9, "cat": 9}, resolution="480p")
    data = kfbench.create_dataset("davis", root=str(root), resolution="480p", splits="all", num_frames=9)
    manifest = data.to_manifest().save(tmp_path / "davis.json")
    davis_tree(root, {"ant": 9}, resolution="480p")
    result = run_cli(
        "run",
        "--dataset",
        "davis",
        "--root",
        root,
        "--method",
        "linear",
        "--manifest",
        manifest,
        "--out",
        tmp_path / "runs",
        "--quiet",
        check=True,
    )
    assert f"davis: 2 pair(s) from 2 of 2 clip(s) (pinned by {manifest})" in result.stdout
    assert sorted(p.name for p in (tmp_path / "runs" / "davis" / "linear").iterdir() if p.is_dir()) == [
        "bear_00000-00008_s1",
        "cat_00000-00008_s1",
    ]


def test_unreadable_frames_found_during_a_run_are_skipped_with_skip_bad(tmp_path):
    root = davis_tree(tmp_path / "davis", {"bear": 9, "cat": 9}, resolution="480p")
    (root / "DAVIS" / "JPEGImages" / "480p" / "cat" / "00004.jpg").write_bytes(b"garbage")
    store = RunStore(tmp_path / "runs")
    strict = kfbench.create_dataset("davis", root=str(root), resolution="480p", splits="all", num_frames=9)
    with pytest.raises(BadSourceError, match="cat/00004.jpg: cannot decode image"):
        run_benchmark(kfbench.create_method("linear"), strict, store, strict.pair_ids())
    lenient = kfbench.create_dataset(
        "davis", root=str(root), resolution="480p", splits="all", num_frames=9, skip_bad=True
    )
    summary = run_benchmark(kfbench.create_method("linear"), lenient, store, lenient.pair_ids())
    assert summary.done == [] and summary.skipped == ["bear_00000-00008_s1"]  # bear was written by the strict run
    assert len(summary.bad) == 1 and summary.bad[0].startswith("cat_00000-00008_s1: ")
    assert np.asarray(store.load_frames("davis", "linear", "bear_00000-00008_s1")).shape == (9, 48, 64, 3)
