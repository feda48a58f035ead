"""A method family that lives only under tests/ (tests/plugins/toyfamily: its folder and preset), found
through KFBENCH_PLUGINS: kfbench lists it, runs, evaluates and reports it, writes its tiny model, converts its
checkpoint and counts its FLOPs without a line of kfbench naming it (docs/adding-a-method.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.helpers.cli import REPO, run_cli
from tests.helpers.inprocess import run_main

TOY = REPO / "tests" / "plugins" / "toyfamily"


@pytest.fixture
def toy(monkeypatch) -> Path:
    monkeypatch.setenv("KFBENCH_PLUGINS", str(TOY))
    return TOY


@pytest.fixture
def toy_checkpoint(toy, tmp_path) -> Path:
    from kfbench_toy.method import make_tiny_toy  # importable once the plugin folder is read

    run_main("list", "methods")
    return make_tiny_toy(tmp_path / "models")["toy"]


def test_listed_with_its_description(toy):
    code, stdout, _ = run_main("list", "methods")
    assert code == 0 and "toy-blend" in stdout and "Toy family (tests only)" in stdout


def test_run_evaluate_report(toy_checkpoint, tmp_path):
    out = tmp_path / "runs"
    code, stdout, err = run_main(
        "run",
        "--method",
        "toy-blend",
        "--dataset",
        "synthetic",
        "--limit",
        "2",
        "--num-frames",
        "5",
        "--checkpoint",
        toy_checkpoint,
        "--strength",
        "0.25",
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    meta = json.loads(next((out / "synthetic" / "toy-blend").rglob("meta.json")).read_text())
    assert meta["method"] == "toy-blend" and meta["options"]["strength"] == 0.25 and meta["stats"] == {"toy_calls": 1}
    code, _, err = run_main("evaluate", "--out", out, "--metrics", "psnr", "--quiet")
    assert code == 0, err
    results = pd.read_csv(out / "results.csv")
    assert set(results["method"]) == {"toy-blend"} and (results["metric"] == "psnr").any()
    code, stdout, err = run_main("report", "--out", out, "--to", tmp_path / "report", "--quiet")
    assert code == 0, err
    assert any(
        "toy-blend" in p.read_text(errors="ignore")
        for p in (tmp_path / "report").rglob("*")
        if p.suffix in (".md", ".csv", ".html")
    )


@pytest.mark.slow
def test_flops_only(toy):
    """Every family's random models are counted on the meta device for the table (a minute on 2 cores)."""
    code, stdout, err = run_main("bench", "--random-weights", "--flops-only", "-m", "toy-blend", "--num-frames", "5")
    assert code == 0, err
    assert "toy-conv: 84 / 84 (equal" in stdout  # its random model, counted on the meta device
    assert "toy-blend: 1 conv calls" in stdout  # 5 frames x 64 x 64 x 3 x 3 x 27 x 2 FLOPs = 3.318e-09 PFLOP
    assert "3.318e-09 PFLOP" in stdout


def test_convert(toy, tmp_path):
    released = tmp_path / "released.pt"
    torch.save({k: v.clone() for k, v in torch.nn.Conv2d(3, 3, 3, padding=1).state_dict().items()}, released)
    code, stdout, err = run_main("convert-checkpoint", "--method", "toy-blend", released, tmp_path / "toy.safetensors")
    assert code == 0 and (tmp_path / "toy.safetensors").is_file(), err


def test_a_close_name_is_suggested_and_a_duplicate_refused(toy, tmp_path, monkeypatch):
    code, _, err = run_main("run", "--method", "toy-blnd", "--dataset", "synthetic", "--out", tmp_path)
    assert code == 2 and "unknown method 'toy-blnd'" in err and "Did you mean 'toy-blend'?" in err
    clash = tmp_path / "clash"
    (clash / "presets" / "methods").mkdir(parents=True)
    (clash / "presets" / "methods" / "linear.toml").write_text(
        'name = "linear"\nfactory = "kfbench.methods.classical:LinearInterpolator"\ndescription = "again"\n'
    )
    monkeypatch.setenv("KFBENCH_PLUGINS", str(clash))
    code, _, err = run_main("list", "methods")
    assert code == 2 and "method 'linear' is registered twice" in err and "Traceback" not in err


def test_make_tiny_models_writes_the_plugin_family_too(tmp_path):
    """The command itself, on the plugin's family and a built-in one (every family's are built by the session's
    ``tiny_models`` fixture, through the same ``make_tiny_models``)."""
    result = run_cli("make-tiny-models", tmp_path, "--methods", "toy-blend,film", env={"KFBENCH_PLUGINS": str(TOY)})
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [
        f"film: {tmp_path / 'film' / 'film_net_random.safetensors'}",
        f"toy: {tmp_path / 'toy' / 'toy.safetensors'}",
    ]
    assert (tmp_path / "toy" / "toy.safetensors").is_file() and not (tmp_path / "svd").exists()
