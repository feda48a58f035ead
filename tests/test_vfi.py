"""Two-frame interpolators together: the schedules' frame-time maps, and RIFE and AMT through run, evaluate, report."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import torch

from kfbench.methods.amt.network import AMT
from kfbench.methods.amt.weights import save_release_format as save_amt
from kfbench.methods.rife.network import IFNet
from kfbench.methods.rife.weights import save_release_format as save_rife
from kfbench.methods.vfi.schedules import plan
from tests.helpers.inprocess import run_main


@pytest.mark.parametrize("num_frames", [2, 3, 4, 6, 9, 13, 16, 25, 33, 49])
def test_recursive_bisection_keeps_the_frame_nearest_each_grid_time(num_frames):
    schedule = plan("recursive", num_frames)
    span = schedule.positions - 1
    assert span & (span - 1) == 0 and span >= num_frames - 1 and (span == 1 or span // 2 < num_frames - 1)
    made = {0, span}
    for steps in schedule.rounds:  # every call at t = 0.5 between two frames already made
        assert all(
            s.time == 0.5 and s.left in made and s.right in made and s.target * 2 == s.left + s.right for s in steps
        )
        made |= {s.target for s in steps}
    assert set(schedule.kept) <= made and schedule.kept == sorted(set(schedule.kept))
    for i, j in enumerate(schedule.kept):  # nearest in exact arithmetic, the earlier on a tie
        distances = [abs(Fraction(k, span) - Fraction(i, num_frames - 1)) for k in range(span + 1)]
        assert j == distances.index(min(distances))
    assert schedule.times == [j / span for j in schedule.kept]
    assert len(made) - 2 == schedule.calls  # only frames some output needs are made


def test_uniform_and_greedy_return_every_grid_frame():
    for name in ("uniform", "greedy"):
        assert plan(name, 25).times == [i / 24 for i in range(25)]
    assert plan("recursive", 25).calls == 31 and plan("recursive", 26).calls == 27


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vfi-weights")
    torch.manual_seed(3)
    return {
        "rife": save_rife(IFNet(), folder / "train_log" / "flownet.pkl"),
        "amt": save_amt(AMT(), folder / "amt-s.pth"),
    }


def test_rife_and_amt_run_evaluate_and_report(weights, tmp_path):
    out = tmp_path / "runs"
    small = (
        "-d",
        "synthetic",
        "--num-pairs",
        "1",
        "--num-frames",
        "4",
        "--height",
        "128",
        "--width",
        "128",
        "--quiet",
        "--out",
        out,
    )
    for method, extra in (("rife", ("--schedule", "recursive")), ("amt", ())):
        code, _, err = run_main("run", "-m", method, "--checkpoint", weights[method], *extra, *small)
        assert code == 0, err
    rife, amt = (
        json.loads((out / "synthetic" / m / "synthetic-0-0000" / "meta.json").read_text()) for m in ("rife", "amt")
    )
    assert rife["options"]["schedule"] == "recursive" and amt["options"]["schedule"] == "uniform"
    assert rife["stats"] == {"rife_calls": 3, "rife_forward_passes": 2}  # 1/2, then 1/4 and 3/4
    assert rife["frame_times"] == [0, 0.25, 0.75, 1]  # the frames nearest 1/3 and 2/3, at the times they show
    assert amt["stats"] == {"amt_calls": 2, "amt_forward_passes": 1}
    assert amt["frame_times"] == [0, 1 / 3, 2 / 3, 1]
    code, _, err = run_main("evaluate", "--out", out, "--metrics", "psnr", "--quiet")
    assert code == 0, err
    code, _, err = run_main("report", "--out", out, "--to", tmp_path / "report", "--quiet")
    assert code == 0, err
    table = (tmp_path / "report" / "table1.md").read_text()
    assert "| amt |" in table and "| rife † |" in table  # rife's bisection frames are marked as mapped by their times
    assert "rife on synthetic: native 4 frames per pair, mapped onto the 4-frame grid" in table


def test_meta_device_flops_equal_those_counted_in_a_run(tmp_path):
    """bench --flops-only counts one call on the meta device at the padded shape; a real run counts the same."""
    from kfbench.methods.vfi.bench import flops_row

    code, _, err = run_main("bench", "--suite", "tiny", "--methods", "rife", "--out", tmp_path, "--quiet")
    assert code == 0, err
    (row,) = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert row["calls"] == 1 and (row["height"], row["width"]) == (64, 96)  # padded to 128 x 128 inside
    counted = flops_row("rife", {}, 3, frame_size=(64, 96))
    assert counted["flops_per_call"] == row["flops_per_call"] > 0 and counted["calls"] == 1
    assert flops_row("rife", {}, 25, frame_size=(256, 448))["calls"] == 23
    assert flops_row("film", {}, 25, frame_size=(256, 448))["calls"] == 31
