"""The command line: listings, demo, tiny models and one-line errors for bad input (in-process; the demo runs as
`python -m kfbench`, a separate process, as users run it)."""

import json

import pytest

from kfbench.errors import KfbenchError
from kfbench.utils.hub import resolve_model_dir
from tests.helpers.cli import run_cli
from tests.helpers.inprocess import check_main, run_main


def test_list_methods_and_datasets_with_descriptions():
    code, methods, stderr = run_main("list", "methods")
    assert code == 0, stderr
    assert "flow" in methods and "Cross-fade" in methods
    code, datasets, stderr = run_main("list", "datasets")
    assert code == 0 and "synthetic" in datasets, stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--method", "nope", "--dataset", "synthetic"], "unknown method 'nope'; valid: "),
        (["run", "--method", "flow", "--dataset", "nope"], "unknown dataset 'nope'; valid:"),
        (["run", "--method", "flow", "--dataset", "synthetic", "--colour", "red"], "unknown option --colour"),
        (["run", "--method", "flow", "--dataset", "synthetic", "--num-pairs", "x"], "is not an integer"),
        (["run", "--method", "flow", "--dataset", "synthetic", "--shard", "3/2"], "need 0 <= I < N"),
        (["list", "things"], "takes 'methods', 'datasets', 'metrics' or 'pairs davis'"),
    ],
)
def test_bad_input_is_one_clear_line_and_nonzero_exit(args, message, tmp_path):
    code, _, stderr = run_main(*args, "--out", tmp_path) if args[0] == "run" else run_main(*args)
    assert code != 0
    assert message in stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_missing_model_path_is_a_clear_error():
    with pytest.raises(KfbenchError, match="model path '/no/such/model' does not exist"):
        resolve_model_dir("/no/such/model")


def test_hub_id_missing_from_the_offline_cache_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(KfbenchError, match="not in the Hugging Face cache"):
        resolve_model_dir("someone/not-cached-model")


def test_demo_runs_evaluates_and_reports_without_any_weights(tmp_path):
    env_home = tmp_path / "torch-home"  # no weights anywhere: FID/KID/FVD/LPIPS are missing, with the reason
    result = run_cli("demo", "--out", tmp_path / "demo", "--quiet", check=True, env={"TORCH_HOME": str(env_home)})
    assert "demo runs are in" in result.stdout
    assert (
        "synthetic flow psnr:" in result.stdout
        and "synthetic flow fid: missing (no InceptionV3 FID weights" in result.stdout
    )
    assert "synthetic linear lpips: missing" in result.stdout
    report = tmp_path / "demo-report" / "index.html"
    assert f"report: {report}" in result.stdout and report.is_file()
    assert "synthetic psnr: flow - linear = +" in result.stdout and "paired; unpaired [" in result.stdout
    page = report.read_text()
    assert "Paired comparisons" in page and "Per-pair metrics by pair difficulty" in page
    for method in ("linear", "flow"):
        pairs = sorted(p for p in (tmp_path / "demo" / "synthetic" / method).iterdir() if p.is_dir())
        assert len(pairs) == 4
        for pair in pairs:
            assert json.loads((pair / "meta.json").read_text())["method"] == method
            assert len(list((pair / "frames").glob("*.png"))) == 25


def test_tiny_svd_loads_with_the_real_pipeline_class(tiny_models):
    import numpy as np
    import torch
    from diffusers import StableVideoDiffusionPipeline
    from PIL import Image

    pipe = StableVideoDiffusionPipeline.from_pretrained(tiny_models["svd"])
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert pipe.scheduler.config.use_karras_sigmas and pipe.scheduler.config.timestep_type == "continuous"
    image = Image.fromarray(np.full((64, 96, 3), 128, np.uint8))
    frames = pipe(
        image,
        height=64,
        width=96,
        num_frames=8,
        num_inference_steps=2,
        output_type="np",
        generator=torch.Generator().manual_seed(0),
    ).frames
    assert frames.shape == (1, 8, 64, 96, 3)


def test_run_help_lists_the_methods_and_datasets_options_with_defaults():
    text = check_main("run", "-m", "svd", "-d", "synthetic", "--help")
    assert "Options of method 'svd'" in text and "Options of dataset 'synthetic'" in text
    line = next(ln for ln in text.splitlines() if "--num-inference-steps" in ln and "default" in ln)
    assert "int, default 50." in line and "sampler steps" in line
    assert "--backward" in text and "default 'none' (preset)" in text  # the preset's value, not the signature's
    verbose = check_main("list", "methods", "-v")
    assert "Options of method 'svd'" in verbose and "--num-inference-steps" in verbose


def test_help_at_80_columns_shows_every_option_name_whole(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, text, _ = run_main("evaluate", "--help")
    assert code == 0 and "…" not in text
    assert "--include-keyframes / --exclude-keyframes" in text and "--allow-torchscript-code" in text
    code, text, _ = run_main("run", "-m", "svd", "--help")
    assert code == 0 and max(map(len, text.splitlines())) <= 80, text


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--outt", "x"], "this command's options: --dataset"),
        (["--num-frames"], "option --num-frames of dataset 'synthetic' needs a value (int)"),
    ],
)
def test_option_errors_name_the_commands_own_options_and_missing_values(flags, message, tmp_path):
    result = run_cli("run", "-m", "linear", "-d", "synthetic", *flags)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    if flags[0] == "--outt":
        assert "--out," in result.stderr and "Did you mean '--out'" in result.stderr


def test_version():
    from kfbench import __version__

    assert run_cli("--version", check=True).stdout.strip() == f"kfbench {__version__}"


def test_ctrl_c_ends_with_one_line_saying_what_was_kept_and_exit_130(tmp_path, monkeypatch):

    import kfbench.cli.run as run_command

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_command, "run_benchmark", interrupted)
    code, _, err = run_main("run", "-m", "linear", "-d", "synthetic", "--out", tmp_path, "--limit", "1")
    assert code == 130, (code, err)
    last = err.strip().splitlines()[-1]
    assert code == 130 and "what was completed is kept" in last and "run the same command again to resume" in last


@pytest.mark.parametrize("verbose", [False, True])
def test_third_party_warnings_are_hidden_unless_verbose(verbose, monkeypatch):
    import warnings

    from kfbench.utils import quiet

    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(quiet, "verbose", verbose)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet.hide_third_party()
        warnings.warn("`torch_dtype` is deprecated! Use `dtype` instead!", FutureWarning, stacklevel=1)
        warnings.warn("a kfbench notice", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == (
        ["`torch_dtype` is deprecated! Use `dtype` instead!"] if verbose else []
    ) + ["a kfbench notice"]
    import os

    assert (os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") == "1") is not verbose
