"""Files built to run code when loaded, and malformed files, fed to every loader: nothing runs, one clear line.

The hostile files are real (tests/helpers/hostile.py): the unsafe way of loading each (``torch.load`` with
``weights_only=False``, ``torch.jit.load``, running the shipped module) does create the marker file.
"""

from __future__ import annotations

import json
import pickle
import runpy
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from kfbench.errors import KfbenchError
from kfbench.methods.film.weights import load_film
from kfbench.utils.safeload import read_torchscript
from tests.helpers.archives import write_zip
from tests.helpers.cli import run_cli
from tests.helpers.hostile import RunsCommand, hostile_pickle, hostile_torchscript
from tests.helpers.inprocess import run_main
from tests.helpers.metric_weights import save_random_alexnet, save_random_i3d, save_random_inception

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")


HOSTILE = {"pickle": hostile_pickle, "torchscript": hostile_torchscript}


def assert_one_line_error(code: int, out: str, err: str, *, only: bool = False) -> str:
    """Exit 2, no traceback, one error line last on stderr (``only``: nothing else there, not even progress bars)."""
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and (len(lines) == 1 or not only), err
    return errors[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A run store with completed linear runs on 13-frame synthetic pairs (enough for FVD's 9 frames)."""
    out = tmp_path_factory.mktemp("store")
    code, _, err = run_main(
        "run",
        "-m",
        "linear",
        "-d",
        "synthetic",
        "--num-pairs",
        "1",
        "--num-frames",
        "13",
        "--height",
        "32",
        "--width",
        "32",
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    return out


SMALL_RUN = (
    "--dataset",
    "synthetic",
    "--num-pairs",
    "1",
    "--num-frames",
    "3",
    "--height",
    "64",
    "--width",
    "64",
    "--quiet",
)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("method", ["film", "dynamicrafter", "ours", "rife", "amt"])
def test_hostile_method_checkpoints_never_run(kind, method, tiny_models, tmp_path):
    marker = tmp_path / "marker"
    weights = HOSTILE[kind](tmp_path, marker)
    extra = ("--model", tiny_models["svd"], "--checkpoint-base", tiny_models["svd-img2vid"]) if method == "ours" else ()
    result = run_main("run", "-m", method, "--checkpoint", weights, *extra, *SMALL_RUN, "--out", tmp_path / "runs")
    line = assert_one_line_error(*result)
    assert str(weights) in line
    assert not marker.exists()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize(
    "flag, metric", [("--inception-weights", "fid"), ("--i3d-weights", "fvd"), ("--lpips-weights", "lpips")]
)
def test_hostile_metric_weights_never_run(kind, flag, metric, store, tmp_path):
    marker = tmp_path / "marker"
    weights = HOSTILE[kind](tmp_path, marker)
    line = assert_one_line_error(*run_main("evaluate", "--out", store, "--metrics", metric, flag, weights, "--quiet"))
    assert str(weights) in line
    assert not marker.exists()


def test_hostile_inception_in_the_torch_hub_cache_never_runs(store, tmp_path, monkeypatch):
    """With no --inception-weights the cached file is used, and it is loaded weights-only like any other."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    marker = tmp_path / "marker"
    weights = hostile_pickle(cache, marker, "weights-inception-2015-12-05-6726825d.pth")
    line = assert_one_line_error(*run_main("evaluate", "--out", store, "--metrics", "fid", "--quiet"))
    assert "its pickle would import" in line and str(weights) in line
    assert not marker.exists()


def test_the_command_line_prints_one_line_for_a_hostile_torchscript(tmp_path):
    """The same through a real `kfbench` process: stderr is exactly the error line (no warnings, no traceback)."""
    marker = tmp_path / "marker"
    weights = hostile_torchscript(tmp_path, marker, "film_net_fp32.pt")
    result = run_cli("run", "-m", "film", "--checkpoint", weights, *SMALL_RUN, "--out", tmp_path / "runs")
    line = assert_one_line_error(result.returncode, result.stdout, result.stderr, only=True)
    assert "cannot be read as data" in line and "--allow-torchscript-code" in line
    assert not marker.exists()


def test_the_opt_in_flag_does_run_the_archive(tmp_path):
    """--allow-torchscript-code means what it says: the archive's code runs (here it creates the marker)."""
    marker = tmp_path / "marker"
    weights = hostile_torchscript(tmp_path, marker)
    with pytest.raises(KfbenchError, match="is not a FILM"):  # it ran, then its one tensor is not FILM's
        load_film(weights, allow_torchscript_code=True)
    assert marker.exists()


def svd_folder(tiny_models, tmp_path: Path) -> Path:
    folder = tmp_path / "svd"
    shutil.copytree(tiny_models["svd"], folder)
    return folder


def custom_pipeline(folder: Path, marker: Path) -> None:
    code = folder / "pipeline.py"
    code.write_text(f"open({str(marker)!r}, 'w').close()\n")
    runpy.run_path(str(code))  # the shipped module does create the marker when run
    assert marker.exists()
    marker.unlink()
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = ["pipeline", "StableVideoDiffusionPipeline"]
    (folder / "model_index.json").write_text(json.dumps(index))


def custom_unet_module(folder: Path, marker: Path) -> None:
    (folder / "unet" / "unet_code.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    index = json.loads((folder / "model_index.json").read_text())
    index["unet"] = ["unet_code", "UNetSpatioTemporalConditionModel"]
    (folder / "model_index.json").write_text(json.dumps(index))


def auto_map(folder: Path, marker: Path) -> None:
    config = json.loads((folder / "image_encoder" / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / "image_encoder" / "config.json").write_text(json.dumps(config))


def other_library(folder: Path, marker: Path) -> None:
    index = json.loads((folder / "model_index.json").read_text())
    index["scheduler"] = ["os", "system"]
    (folder / "model_index.json").write_text(json.dumps(index))


def pickle_weights_only(folder: Path, marker: Path) -> None:
    (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    hostile_pickle(folder / "unet", marker, "diffusion_pytorch_model.bin")


@pytest.mark.parametrize(
    "make, message",
    [
        (custom_pipeline, "custom pipeline class"),
        (custom_unet_module, "ships code (unet/unet_code.py)"),
        (auto_map, "custom code in image_encoder/config.json (auto_map)"),
        (other_library, "takes component 'scheduler' from ['os', 'system']"),
        (pickle_weights_only, "only pickle weights in unet/"),
    ],
)
def test_diffusers_folders_with_code_or_pickles_are_refused(make, message, tiny_models, tmp_path):
    marker = tmp_path / "marker"
    folder = svd_folder(tiny_models, tmp_path)
    make(folder, marker)
    line = assert_one_line_error(
        *run_main("run", "-m", "svd", "--model", folder, *SMALL_RUN, "--out", tmp_path / "runs")
    )
    assert message in line and str(folder) in line
    assert not marker.exists()


def test_a_plain_diffusers_folder_still_loads(tiny_models):
    from kfbench.methods.svd.loading import load_pipeline

    pipe = load_pipeline(str(tiny_models["svd"]), dtype=torch.float32)
    assert type(pipe).__name__ == "StableVideoDiffusionPipeline"


# Malformed (not hostile) files: truncated, random bytes, wrong keys, a zip that is not TorchScript.


def truncated(valid: Path, folder: Path) -> Path:
    path = folder / ("truncated" + valid.suffix)
    path.write_bytes(valid.read_bytes()[: valid.stat().st_size // 2])
    return path


def random_bytes(valid: Path, folder: Path) -> Path:
    path = folder / ("random" + valid.suffix)
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def wrong_keys(valid: Path, folder: Path) -> Path:
    path = folder / ("wrong" + valid.suffix)
    torch.save({"conv.weight": torch.zeros(3, 3), "step": torch.tensor(5)}, path)
    return path


def plain_zip(valid: Path, folder: Path) -> Path:
    path = folder / ("zip" + valid.suffix)
    return write_zip(path, [("archive/data.pkl", b"not a pickle"), ("archive/code/__torch__.py", b"")])


MALFORMED = [truncated, random_bytes, wrong_keys, plain_zip]


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory, tiny_models) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("valid")
    _, i3d_script, _ = save_random_i3d(folder)
    return {
        "inception": save_random_inception(folder / "weights-inception-2015-12-05-6726825d.pth"),
        "lpips": save_random_alexnet(folder / "alexnet-owt-7be5be79.pth"),
        "i3d": i3d_script,
        "film": tiny_models["film"],
        "dynamicrafter": tiny_models["dynamicrafter"] / "model.ckpt",
        "ours": tiny_models["ours-delta"],
    }


def load_with(kind: str, path: Path, tiny_models) -> None:
    if kind == "inception":
        from kfbench.metrics.inception import load_inception

        load_inception(path)
    elif kind == "lpips":
        from kfbench.metrics.lpips import load_lpips

        load_lpips(path)
    elif kind == "i3d":
        from kfbench.metrics.i3d import ClipFeatures

        ClipFeatures(path)
    elif kind == "film":
        load_film(path)
    elif kind == "dynamicrafter":
        from kfbench.methods.dynamicrafter.checkpoint import CONFIG_NAME, load_model

        shutil.copy(tiny_models["dynamicrafter"] / CONFIG_NAME, path.parent)  # the tiny model, not the 2.6 B release
        load_model(str(path))
    else:
        from kfbench.methods.svd.loading import load_deltas

        load_deltas(str(path), str(tiny_models["svd-img2vid"]), "vo")


@pytest.mark.parametrize("make", MALFORMED, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", ["inception", "lpips", "i3d", "film", "dynamicrafter", "ours"])
def test_malformed_weights_are_one_clear_line(kind, make, valid_files, tiny_models, tmp_path):
    bad = make(valid_files[kind], tmp_path)
    with pytest.raises(KfbenchError) as error:
        load_with(kind, bad, tiny_models)
    message = str(error.value)
    assert "\n" not in message and str(bad) in message, message


def test_the_restricted_unpickler_refuses_anything_but_tensors(tmp_path):
    """A TorchScript-shaped archive whose data.pkl asks for a function is refused before anything is called."""
    path = tmp_path / "crafted.pt"
    payload = pickle.dumps(RunsCommand(tmp_path / "marker"), protocol=2)
    write_zip(path, [("crafted/data.pkl", payload), ("crafted/code/__torch__.py", b"")])
    with pytest.raises(KfbenchError, match=r"asks for (posix|os)\.system.*--allow-torchscript-code"):
        read_torchscript(path, "FILM checkpoint")
    assert not (tmp_path / "marker").exists()


def test_compressed_archive_entries_are_refused(tmp_path):
    """torch stores its archive entries uncompressed; a compressed one (e.g. a zip bomb) is not inflated."""
    path = tmp_path / "bomb.pt"
    write_zip(path, [("bomb/data.pkl", b"\0" * 1_000_000), ("bomb/code/__torch__.py", b"")], zipfile.ZIP_DEFLATED)
    with pytest.raises(KfbenchError, match="bomb/data.pkl is compressed"):
        read_torchscript(path, "FILM checkpoint")
