"""A metric that lives only under tests/plugins, registered by an entry point: listed, evaluated, reported.

tests/plugins holds the metric's module and the ``.dist-info`` an installed package would have (its
entry point of group ``kfbench.metrics``); putting the folder on the path is the whole installation.
No file of kfbench names it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kfbench import create_dataset, create_method
from kfbench.metrics.registry import metric_class, metric_names, registered
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.cli import REPO, run_cli
from tests.helpers.inprocess import run_main

PLUGINS = Path(__file__).resolve().parent / "plugins"
WITH_PLUGIN = {"PYTHONPATH": os.pathsep.join([str(PLUGINS), str(REPO)])}
SCALE = 2.5


@pytest.fixture
def with_toy(monkeypatch):
    """The toy metric's package on the path of this process."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    registered.cache_clear()
    metric_class.cache_clear()
    yield
    registered.cache_clear()
    metric_class.cache_clear()


def test_the_toy_metric_is_listed_and_its_weights_option_derived():
    listed = run_cli("list", "metrics", env=WITH_PLUGIN, check=True).stdout.splitlines()
    assert listed[-1].startswith("toy_brightness ") and listed[-1].endswith("[toy_brightness.txt]")
    assert not any(
        line.startswith("toy_brightness") for line in run_cli("list", "metrics", check=True).stdout.splitlines()
    )
    help_text = run_cli("evaluate", "--help", env={**WITH_PLUGIN, "COLUMNS": "200"}, check=True).stdout
    assert "--toy-weights" in help_text and "--inception-weights" in help_text
    typo = run_cli("evaluate", "--metrics", "toy_brightnes", env=WITH_PLUGIN)
    assert typo.returncode == 2 and "Did you mean 'toy_brightness'" in typo.stderr


def test_the_toy_metric_is_evaluated_and_reported(with_toy, tmp_path, monkeypatch):
    assert metric_names()[-1] == "toy_brightness"
    data = create_dataset("synthetic", num_pairs=2, num_frames=6, height=24, width=32)
    out = tmp_path / "runs"
    run_benchmark(create_method("linear"), data, RunStore(out), data.pair_ids())
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "toy_brightness.txt").write_text(f"{SCALE}\n")
    monkeypatch.setenv(
        "TORCH_HOME", str(tmp_path / "torch")
    )  # its weights file found in the hub cache, as kfbench's own

    code, _, err = run_main("evaluate", "--out", out, "--metrics", "psnr,toy_brightness", "--bootstrap", "0", "--quiet")
    assert code == 0, err
    results = pd.read_csv(out / "results.csv")
    assert list(results["metric"]) == ["psnr", "toy_brightness"]
    row = results[results["metric"] == "toy_brightness"].iloc[0]
    expected = []
    store = RunStore(out)
    for pair_id in data.pair_ids():
        generated, truth = store.load_frames("synthetic", "linear", pair_id), data.load(pair_id).ground_truth
        gap = np.abs(generated.reshape(6, -1).mean(axis=1) - truth.reshape(6, -1).mean(axis=1))[
            1:-1
        ]  # in-between frames
        expected.extend(SCALE * gap)
    assert row["value"] == pytest.approx(np.mean(expected), rel=1e-12) and row["n"] == len(expected) == 8
    assert json.loads(row["settings"])["scale"] == SCALE and not isinstance(row["missing_reason"], str)
    per_frame = pd.read_csv(out / "per_frame.csv")
    assert per_frame["toy_brightness"].to_numpy() == pytest.approx(expected, rel=1e-12)

    code, _, err = run_main("report", "--out", out, "--to", tmp_path / "report", "--quiet")
    assert code == 0, err
    newer = (tmp_path / "report" / "table_newer.md").read_text()
    assert "toy brightness↓" in newer and f"{np.mean(expected):.3f}" in newer


@pytest.mark.slow
def test_the_toy_metric_takes_its_weights_option_on_the_command_line(tmp_path):
    data = create_dataset("synthetic", num_pairs=2, num_frames=4, height=16, width=16)
    run_benchmark(create_method("linear"), data, RunStore(tmp_path / "runs"), data.pair_ids())
    (tmp_path / "scale.txt").write_text("3\n")
    done = run_cli(
        "evaluate",
        "--out",
        tmp_path / "runs",
        "--metrics",
        "toy_brightness",
        "--toy-weights",
        tmp_path / "scale.txt",
        "--bootstrap",
        "0",
        "--quiet",
        env=WITH_PLUGIN,
        check=True,
    )
    assert "toy_brightness:" in done.stdout
    settings = json.loads(pd.read_csv(tmp_path / "runs" / "results.csv")["settings"].iloc[0])
    assert settings["scale"] == 3.0
