"""The wheel carries everything the CLI needs and installs no top-level `methods`/`datasets`."""

import os
import subprocess
import sys
import zipfile

import pytest

from tests.helpers.cli import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{result.stderr}")
    (path,) = out.glob("kfbench-*.whl")
    return path


def test_wheel_holds_code_and_presets_and_no_stray_top_level_packages(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top_level == {"kfbench"}
    assert "kfbench/cli/__init__.py" in names
    assert "kfbench/presets/methods/flow.toml" in names
    assert "kfbench/presets/datasets/synthetic.toml" in names
    assert "kfbench/presets/datasets/davis2017_sequences.csv" in names  # the official DAVIS list the davis checks use
    assert "kfbench/presets/reports/paper_table1.csv" in names


def test_installed_wheel_runs_the_cli_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    result = subprocess.run(
        [sys.executable, "-m", "kfbench", "list", "methods"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "flow" in result.stdout
    pairs = subprocess.run(
        [sys.executable, "-m", "kfbench", "list", "pairs", "davis"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert pairs.returncode == 0 and len(pairs.stdout.split()) == 117, (
        pairs.stderr
    )  # the official list ships in the wheel
    where = subprocess.run(
        [sys.executable, "-c", "import kfbench; print(kfbench.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout
    assert str(target) in where
