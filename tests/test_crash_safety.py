"""Killed and concurrent commands: prepare, evaluate and report killed part-way resume to the uninterrupted
result; a damaged results.csv is never merged; two runs on one --out compute each pair once."""

from __future__ import annotations

import io
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from kfbench import create_dataset, create_method
from kfbench.errors import KfbenchError
from kfbench.metrics.evaluate import EvalConfig, evaluate_store
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.archives import write_zip
from tests.helpers.cli import cli_env
from tests.helpers.datatrees import frame
from tests.helpers.inprocess import check_main, run_main
from tests.helpers.metric_weights import save_random_inception


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*") if re.match(r"^\.(tmp|old|claim)-", p.name)]


def kill_when(args: list[str], ready, timeout: float = 240) -> None:
    """Start `kfbench ARGS`, SIGKILL it as soon as ``ready()`` holds; fails when it ends first."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kfbench", *map(str, args)],
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + timeout
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the command ended before it could be killed part-way"


def without_date(path: Path) -> str:
    return re.sub(r'"created": "[^"]*"', "", path.read_text())


def davis_archive(path: Path, sequences: int = 30, length: int = 25, last_length: int = 300) -> Path:
    """A test-challenge archive (no official list to check it against), split list first (the order of the official
    archives), many stored JPEGs, a long last sequence."""
    buffer = io.BytesIO()
    Image.fromarray(frame(0, 240, 320)).save(buffer, format="JPEG", quality=95)
    names = [f"seq{i:02d}" for i in range(sequences)]
    jpegs = (
        (f"DAVIS/JPEGImages/480p/{name}/{i:05d}.jpg", buffer.getvalue() + i.to_bytes(2, "big"))
        for name in names
        for i in range(last_length if name == names[-1] else length)
    )
    return write_zip(path, [("DAVIS/ImageSets/2017/test-challenge.txt", "".join(f"{n}\n" for n in names)), *jpegs])


@pytest.mark.slow
def test_a_prepare_killed_mid_extraction_is_redone(tmp_path):
    """Killed while the last sequence is extracted: every sequence folder exists, the last one is partial."""
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    for root in (clean, killed):
        root.mkdir()
        davis_archive(root / "DAVIS-2017-test-challenge-480p.zip")
    args = ["prepare", "davis", "--offline", "--resolution", "480p", "--splits", "test-challenge"]
    first = check_main(*args, "--root", clean)
    last = "DAVIS/JPEGImages/480p/seq29/00000.jpg"
    kill_when([*args, "--root", killed], lambda: (killed / last).exists() or any(killed.glob(f".tmp-*/{last}")))
    assert not (killed / ".kfbench").exists()  # nothing vouches for the half-done extraction
    again = check_main(*args, "--root", killed)
    assert "already extracted" not in again
    assert again.replace(str(killed), "") == first.replace(str(clean), "")
    assert leftovers(killed) == []
    assert tree(killed / "DAVIS") == tree(clean / "DAVIS")
    assert tree(killed / ".kfbench") == tree(clean / ".kfbench")
    assert without_date(killed / "manifests" / "davis.json") == without_date(clean / "manifests" / "davis.json")
    assert "already extracted" in check_main(*args, "--root", killed)


@pytest.fixture
def store(tmp_path):
    """linear and flow on two short synthetic pairs, and a random-weight Inception file."""
    weights = save_random_inception(tmp_path / "weights-inception-2015-12-05-6726825d.pth")
    out = tmp_path / "runs"
    data = create_dataset("synthetic", num_pairs=2, num_frames=3)
    for name in ("linear", "flow"):
        run_benchmark(create_method(name), data, RunStore(out), data.pair_ids())
    return out, weights


def test_a_damaged_results_csv_is_never_merged(store):
    out, _ = store
    config = EvalConfig(metrics=("psnr", "ssim"), bootstrap=10)
    evaluate_store(out, config, methods=["linear"])
    csv = out / "results.csv"
    whole = csv.read_bytes()
    for damaged in (whole[: len(whole) // 2], whole.replace(b"dataset,method,", b"dataset,")):
        csv.write_bytes(damaged)
        with pytest.raises(KfbenchError, match=f"{csv} is damaged: .*kfbench never merges it"):
            evaluate_store(out, config, methods=["flow"])
        assert csv.read_bytes() == damaged
        for command in (["evaluate", "--metrics", "psnr", "--methods", "flow"], ["report", "--to", out / "report"]):
            code, _, err = run_main(*command, "--out", out, "--quiet")
            assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
            assert f"{csv} is damaged" in err
        assert csv.read_bytes() == damaged


@pytest.mark.slow
def test_an_evaluate_killed_part_way_resumes_to_the_uninterrupted_result(store, tmp_path):
    out, weights = store
    args = [
        "evaluate",
        "--out",
        out,
        "--metrics",
        "fid,kid,psnr,ssim",
        "--inception-weights",
        weights,
        "--bootstrap",
        "20",
        "--quiet",
    ]
    code, _, err = run_main(*args)
    assert code == 0, err
    clean = pd.read_csv(out / "results.csv")
    cache = out / ".cache"
    shutil.rmtree(cache)
    (out / "results.csv").unlink()
    assert run_main(*args[:3], "--methods", "linear", *args[3:])[0] == 0
    before = len(list(cache.rglob("*.npy")))
    kill_when(args, lambda: len(list(cache.rglob("*.npy"))) > before)  # flow's features half cached
    code, _, err = run_main(*args)
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), clean)
    assert leftovers(out) == []


@pytest.mark.slow
def test_a_report_killed_part_way_resumes_to_the_uninterrupted_result(store, tmp_path):
    out, _ = store
    assert run_main("evaluate", "--out", out, "--metrics", "psnr,ssim", "--bootstrap", "10", "--quiet")[0] == 0
    clean, killed = tmp_path / "clean-report", tmp_path / "killed-report"
    assert run_main("report", "--out", out, "--to", clean, "--quiet")[0] == 0
    kill_when(["report", "--out", out, "--to", killed, "--quiet"], lambda: any((killed / "videos").rglob("*.mp4")))
    assert run_main("report", "--out", out, "--to", killed, "--quiet")[0] == 0
    assert leftovers(killed) == []
    assert sorted(tree(killed)) == sorted(tree(clean))
    assert (killed / "index.html").read_text().replace(str(killed), "") == (clean / "index.html").read_text().replace(
        str(clean), ""
    )
    for name in ("table1.md", "table1.csv", "table1.tex"):
        assert (killed / name).read_bytes() == (clean / name).read_bytes()


@pytest.mark.slow
def test_two_concurrent_runs_on_one_out_compute_each_pair_once(tmp_path):
    args = [
        sys.executable,
        "-m",
        "kfbench",
        "run",
        "--method",
        "flow",
        "--dataset",
        "synthetic",
        "--num-pairs",
        "12",
        "--dataset.height",
        "288",
        "--dataset.width",
        "512",
        "--out",
        str(tmp_path),
        "--quiet",
    ]
    first = subprocess.Popen(args, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = RunStore(tmp_path)
    deadline = time.time() + 120
    while not store.completed_pairs("synthetic", "flow") and time.time() < deadline:
        time.sleep(0.01)
    second = subprocess.run(args, env=cli_env(), capture_output=True, text=True, timeout=300)
    first_out, first_err = first.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, first_err + second.stderr
    written = [int(re.search(r"(\d+) pair\(s\) written", text)[1]) for text in (first_out, second.stdout)]
    assert sum(written) == 12 and written[1] >= 1, (first_out, second.stdout)
    assert "being computed by another run" in first_out + second.stdout  # they did overlap
    assert len(store.completed_pairs("synthetic", "flow")) == 12 and leftovers(tmp_path) == []
