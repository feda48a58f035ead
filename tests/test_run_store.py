"""`kfbench run`: the run store layout, selection, resume after SIGKILL, overwrite."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from kfbench.run.runner import select_pairs
from kfbench.store.runstore import RunStore
from tests.helpers.cli import cli_env, free_port
from tests.helpers.inprocess import check_main, run_main


def test_flow_run_writes_three_complete_pairs(tmp_path):
    check_main("run", "--method", "flow", "--dataset", "synthetic", "--limit", "3", "--out", tmp_path, "--quiet")
    store = RunStore(tmp_path)
    assert store.completed_pairs("synthetic", "flow") == ["synthetic-0-0000", "synthetic-0-0001", "synthetic-0-0002"]
    for pair_id in store.completed_pairs("synthetic", "flow"):
        folder = store.pair_dir("synthetic", "flow", pair_id)
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["method"] == "flow" and meta["options"] == {"algorithm": "dis", "consistency_sigma": 3.0}
        assert meta["seed"] == 0 and meta["num_frames"] == 25 and len(meta["frame_times"]) == 25
        assert meta["environment"]["packages"]["numpy"] and meta["wall_time_s"] >= 0
        assert meta["peak_memory"]["process_max_rss_bytes"] > 0
        assert len(list((folder / "frames").glob("*.png"))) == 25
        assert (folder / "preview.mp4").stat().st_size > 0
        assert store.load_frames("synthetic", "flow", pair_id).shape == (25, 64, 96, 3)


def test_selection_by_ids_limit_and_shard():
    ids = [f"p{i}" for i in range(10)]
    assert select_pairs(ids, limit=3) == ["p0", "p1", "p2"]
    assert select_pairs(ids, pairs=["p7", "p2"]) == ["p2", "p7"]
    shards = [select_pairs(ids, shard=(i, 3)) for i in range(3)]
    assert sorted(sum(shards, [])) == sorted(ids) and len(set(sum(shards, []))) == 10


def test_shard_and_pairs_flags(tmp_path):
    check_main("run", "-m", "linear", "-d", "synthetic", "--shard", "1/2", "--out", tmp_path, "--quiet")
    assert RunStore(tmp_path).completed_pairs("synthetic", "linear") == ["synthetic-0-0001", "synthetic-0-0003"]
    code, _, stderr = run_main("run", "-m", "linear", "-d", "synthetic", "--pairs", "nope", "--out", tmp_path)
    assert code != 0 and "unknown pair id(s) nope" in stderr


def _run_args(out):
    # Large frames make each pair slow enough (~0.5 s) to be killed in the middle of the run.
    return [
        "run",
        "--method",
        "flow",
        "--dataset",
        "synthetic",
        "--num-pairs",
        "10",
        "--dataset.height",
        "288",
        "--dataset.width",
        "512",
        "--out",
        str(out),
        "--quiet",
    ]


def hidden(out):
    return sorted(p.name for p in (out / "synthetic" / "flow").iterdir() if p.name.startswith("."))


@pytest.mark.slow
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    """The killed run is a process of its own; the resumed and the uninterrupted one run in-process."""
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kfbench", *_run_args(killed)],
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = RunStore(killed)
    deadline = time.time() + 120
    while len(store.completed_pairs("synthetic", "flow")) < 2 and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = store.completed_pairs("synthetic", "flow")
    assert 2 <= len(done_before) < 10, "the run must be killed part-way for this test to mean anything"
    stamps = {p: (store.pair_dir("synthetic", "flow", p) / "meta.json").stat().st_mtime_ns for p in done_before}

    left = hidden(killed)  # the claim (and, killed while saving, the temporary folder) of the pair it was in
    resumed = check_main(*_run_args(killed))
    assert f"{10 - len(done_before)} pair(s) written, {len(done_before)} already complete" in resumed
    assert hidden(killed) == [], left  # the dead run's temporary folder and claim are gone
    for pair_id, stamp in stamps.items():  # completed pairs are not recomputed
        assert (store.pair_dir("synthetic", "flow", pair_id) / "meta.json").stat().st_mtime_ns == stamp

    check_main(*_run_args(clean))
    reference = RunStore(clean)
    assert store.completed_pairs("synthetic", "flow") == reference.completed_pairs("synthetic", "flow")
    for pair_id in reference.completed_pairs("synthetic", "flow"):
        assert np.array_equal(
            store.load_frames("synthetic", "flow", pair_id), reference.load_frames("synthetic", "flow", pair_id)
        )


def test_partial_pair_folder_is_never_taken_as_complete_nor_deleted(tmp_path):
    store = RunStore(tmp_path)
    partial = store.pair_dir("synthetic", "linear", "synthetic-0-0000")
    (partial / "frames").mkdir(parents=True)  # not written by kfbench (its pair folders appear whole, with meta.json)
    (partial / "frames" / "mine.txt").write_text("someone's file")
    assert not store.is_complete("synthetic", "linear", "synthetic-0-0000")
    code, _, stderr = run_main("run", "-m", "linear", "-d", "synthetic", "--limit", "1", "--out", tmp_path, "--quiet")
    assert code == 2 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"error: {partial} exists but is not a kfbench pair folder (no meta.json); move it away, kfbench will not "
        "delete it"
    )
    assert (partial / "frames" / "mine.txt").read_text() == "someone's file"
    assert not store.is_complete("synthetic", "linear", "synthetic-0-0000")


def test_overwrite_recomputes(tmp_path):
    args = ("run", "-m", "linear", "-d", "synthetic", "--limit", "1", "--out", tmp_path, "--quiet")
    check_main(*args)
    assert "1 pair(s) written, 0 already complete" in check_main(*args, "--overwrite")


@pytest.mark.slow
def test_two_process_torchrun_covers_every_pair_exactly_once(tmp_path):
    """torchrun (gloo on CPU) splits the pairs across ranks: disjoint, complete, deterministic."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--master-port",
            str(free_port()),
            "-m",
            "kfbench",
            "run",
            "-m",
            "linear",
            "-d",
            "synthetic",
            "--num-pairs",
            "5",
            "--out",
            str(tmp_path),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "5 pair(s) written, 0 already complete over 2 ranks" in result.stdout
    store = RunStore(tmp_path)
    assert store.completed_pairs("synthetic", "linear") == [f"synthetic-0-{i:04d}" for i in range(5)]
