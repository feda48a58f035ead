"""Wan FLF2V and Wan 2.2 through the keyframe adapter, against WanImageToVideoPipeline itself (tiny offline folders)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.registry import create_method
from tests.helpers.inprocess import error_line, run_main
from tests.helpers.keyframes import SIZE, keyframes

FRAMES, STEPS = 9, 2


@pytest.fixture(scope="module")
def wan_models(tiny_models):
    return {name: tiny_models[name] for name in ("wan-flf2v", "wan22-flf2v")}


def tiny_method(name: str, folder, **options):
    defaults = {"height": SIZE, "width": SIZE, "video_frames": "match", "num_inference_steps": STEPS}
    return create_method(name, model=str(folder), **{**defaults, **options})


def diffusers_video(folder, first, last, **arguments) -> np.ndarray:
    """The user's plain-diffusers call: frames as PIL images, stacked to uint8."""
    from diffusers import WanImageToVideoPipeline

    pipe = WanImageToVideoPipeline.from_pretrained(folder, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    frames = pipe(image=Image.fromarray(first), last_image=Image.fromarray(last), height=SIZE, width=SIZE,
                  num_frames=FRAMES, num_inference_steps=STEPS, output_type="pil", **arguments).frames[0]  # fmt: skip
    return np.stack([np.asarray(frame) for frame in frames])


@pytest.mark.parametrize("name", ["wan-flf2v", "wan22-flf2v"])
def test_equals_wan_image_to_video_pipeline(wan_models, name):
    first, last = keyframes()
    method = tiny_method(name, wan_models[name], negative_prompt="static")
    ours = method.interpolate(first, last, num_frames=FRAMES, seed=7, prompt="a bird flies over the sea")
    reference = diffusers_video(
        wan_models[name], first, last, prompt="a bird flies over the sea", negative_prompt="static",
        guidance_scale=method.guidance_scale, guidance_scale_2=method.guidance_scale_2,
        generator=torch.Generator("cpu").manual_seed(7),
    )  # fmt: skip
    assert ours.shape == reference.shape == (FRAMES, SIZE, SIZE, 3)
    assert np.abs(ours.astype(int) - reference.astype(int)).max() <= 1
    assert method.stats["transformer_calls"] == 2 * STEPS  # CFG: conditional and unconditional pass per step
    if name == "wan22-flf2v":  # both experts ran (timesteps 999 >= 900 > 750)
        assert method.stats["calls_by_denoiser"] == {"transformer": 2, "transformer_2": 2}
    other = method.interpolate(first, last, num_frames=FRAMES, seed=8, prompt="a bird flies over the sea")
    assert (
        np.abs(other.astype(int) - ours.astype(int)).max() > 1
    )  # the seed matters, so the equality above is not vacuous


def test_latents_are_passed_through(wan_models):
    folder = wan_models["wan-flf2v"]
    first, last = keyframes(1)
    latents = torch.randn(
        1, 16, (FRAMES - 1) // 4 + 1, SIZE // 8, SIZE // 8, generator=torch.Generator().manual_seed(3)
    )
    method = tiny_method("wan-flf2v", folder)
    ours = method.interpolate(first, last, num_frames=FRAMES, seed=0, latents=latents.numpy())
    reference = diffusers_video(folder, first, last, prompt="", guidance_scale=5.5, latents=latents.clone(),
                                generator=torch.Generator("cpu").manual_seed(0))  # fmt: skip
    assert np.abs(ours.astype(int) - reference.astype(int)).max() <= 1
    assert np.abs(ours.astype(int) - method.interpolate(first, last, num_frames=FRAMES, seed=0).astype(int)).max() > 1


def test_output_times_and_frame_rule(wan_models):
    method = tiny_method("wan-flf2v", wan_models["wan-flf2v"])
    assert method.output_times(9) == [i / 8 for i in range(9)]
    with pytest.raises(KfbenchError, match=r"4k\+1 frames; the benchmark \(--video-frames match\) gives 24"):
        method.output_times(24)
    fixed = create_method("wan-flf2v", model=str(wan_models["wan-flf2v"]), device="cpu")
    assert len(fixed.output_times(25)) == 81 and fixed.frame_size == (720, 1280)


def test_run_evaluate_report_with_prompt_file(wan_models, tmp_path):
    out, prompts = tmp_path / "runs", tmp_path / "prompts.csv"
    prompts.write_text('id,prompt\nsynthetic-0-0001,"a cat walks, slowly"\n')
    code, stdout, stderr = run_main(
        "run",
        "-m",
        "wan-flf2v",
        "-d",
        "synthetic",
        "--model",
        wan_models["wan-flf2v"],
        "--out",
        out,
        "--height",
        SIZE,
        "--width",
        SIZE,
        "--video-frames",
        "match",
        "--num-frames",
        FRAMES,
        "--num-pairs",
        2,
        "--num-inference-steps",
        STEPS,
        "--prompt",
        "the camera pans left",
        "--prompts",
        prompts,
        "--seed",
        5,
        "--quiet",
    )
    assert code == 0, stderr
    pair_dir = out / "synthetic" / "wan-flf2v"
    metas = {p.name: json.loads((p / "meta.json").read_text()) for p in sorted(pair_dir.iterdir()) if p.is_dir()}
    assert metas["synthetic-0-0001"]["prompt"] == "a cat walks, slowly"
    assert metas["synthetic-0-0001"]["prompt_source"] == "prompts file"
    assert metas["synthetic-0-0000"]["prompt"] == "the camera pans left"
    assert metas["synthetic-0-0000"]["frame_times"] == [i / 8 for i in range(9)]
    assert len(list((pair_dir / "synthetic-0-0001" / "frames").glob("*.png"))) == FRAMES

    # the file's prompt reached the pipeline: the saved frames are the pipeline's for that prompt
    from kfbench.registry import create_dataset
    from kfbench.run.runner import prepare_pair

    method = tiny_method("wan-flf2v", wan_models["wan-flf2v"])
    pair = prepare_pair(create_dataset("synthetic", num_frames=FRAMES, num_pairs=2).load("synthetic-0-0001"), method)
    saved = np.stack(
        [np.asarray(Image.open(p)) for p in sorted((pair_dir / "synthetic-0-0001" / "frames").glob("*.png"))]
    )
    reference = diffusers_video(wan_models["wan-flf2v"], pair.first, pair.last, prompt="a cat walks, slowly",
                                guidance_scale=5.5, generator=torch.Generator("cpu").manual_seed(5))  # fmt: skip
    assert np.abs(saved.astype(int) - reference.astype(int)).max() <= 1

    code, stdout, stderr = run_main("evaluate", "--out", out, "--metrics", "psnr,ssim", "--bootstrap", 0, "--quiet")
    assert code == 0, stderr
    assert "synthetic wan-flf2v psnr" in stdout
    code, stdout, stderr = run_main("report", "--out", out, "--to", tmp_path / "report", "--quiet")
    assert code == 0, stderr
    assert "wan-flf2v" in (tmp_path / "report" / "table1.md").read_text()


def test_pairs_csv_prompt_column(tmp_path):
    from kfbench.registry import create_dataset

    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / name)
    (tmp_path / "pairs.csv").write_text("id,first,last,prompt\np1,a.png,b.png,a bird flies\n")
    pair = create_dataset("pairs", root=str(tmp_path)).load("p1")
    from kfbench.run.prompts import pair_prompt

    assert pair_prompt(pair, None) == ("a bird flies", "pairs csv")
    assert pair_prompt(pair, {"p1": "the sea"}) == ("the sea", "prompts file")


def test_bad_input_is_one_line(wan_models, tmp_path):
    common = ("run", "-d", "synthetic", "--num-pairs", 1, "--out", tmp_path / "runs", "--quiet")
    assert "does not exist" in error_line(*common, "-m", "wan-flf2v", "--model", tmp_path / "missing")
    assert "not in the Hugging Face cache" in error_line(*common, "-m", "wan-flf2v", "--model", "nobody/no-such-wan")
    assert "multiples of 16" in error_line(
        *common, "-m", "wan-flf2v", "--model", wan_models["wan-flf2v"], "--height", 40
    )
    assert "4k+1 frames" in error_line(
        *common, "-m", "wan-flf2v", "--model", wan_models["wan-flf2v"], "--video-frames", 24
    )
    ti2v = tmp_path / "ti2v"
    shutil.copytree(wan_models["wan22-flf2v"], ti2v)
    index = json.loads((ti2v / "model_index.json").read_text())
    (ti2v / "model_index.json").write_text(
        json.dumps({**index, "transformer_2": [None, None], "expand_timesteps": True})
    )
    assert "TI2V-5B" in error_line(*common, "-m", "wan22-flf2v", "--model", ti2v, "--height", 32, "--width", 32)
    assert "use wan22-flf2v" in error_line(
        *common, "-m", "wan-flf2v", "--model", wan_models["wan22-flf2v"], "--height", 32, "--width", 32
    )
    assert "takes no text prompt" in error_line(*common, "-m", "linear", "--prompts", tmp_path / "p.csv")
    assert "guidance_scale_2" in error_line(*common, "-m", "wan-flf2v", "--guidance-scale-2", 2)
    assert "needs --device cuda" in error_line(*common, "-m", "wan-flf2v", "--device", "cpu", "--cpu-offload", "model")
    (tmp_path / "p.csv").write_text("nope,a bird\n")
    assert "lacks: nope" in error_line(
        *common, "-m", "wan-flf2v", "--model", wan_models["wan-flf2v"], "--prompts", tmp_path / "p.csv"
    )
    evil = tmp_path / "evil"
    shutil.copytree(wan_models["wan-flf2v"], evil)
    index = json.loads((evil / "model_index.json").read_text())
    (evil / "model_index.json").write_text(json.dumps({**index, "vae": ["os", "system"]}))
    assert "not from diffusers or transformers" in error_line(
        *common, "-m", "wan-flf2v", "--model", evil, "--height", 32, "--width", 32
    )


def test_make_tiny_models_writes_wan_folders(tiny_models):
    for name in ("wan-flf2v", "wan22-flf2v"):
        index = json.loads((tiny_models[name] / "model_index.json").read_text())
        assert index["_class_name"] == "WanImageToVideoPipeline"
        assert not list(tiny_models[name].rglob("*.bin")) and list(tiny_models[name].rglob("*.safetensors"))
    assert json.loads((tiny_models["wan22-flf2v"] / "model_index.json").read_text())["boundary_ratio"] == 0.9


def test_bench_flops_only_needs_no_weights():
    """Real configs on the meta device: Wan 2.2 A14B's 2 x 14B experts, 80 calls at the preset's 40 steps with CFG."""
    from kfbench.bench.measure import run_bench

    report = run_bench(
        "wan22-flf2v",
        {"device": "cpu", "dtype": "bfloat16", "height": 64, "width": 64, "video_frames": 9},
        num_frames=9,
        flops_only=True,
    )
    flops, memory = report["flops"], report["memory"]
    assert flops["calls_per_video"] == 80 and set(flops["calls_by_denoiser"]) == {"transformer", "transformer_2"}
    experts = [memory["components"][n]["parameters"] for n in ("transformer", "transformer_2")]
    assert experts[0] == experts[1] and 14.0e9 < experts[0] < 14.6e9  # the "A14B": 14 B per expert
    assert 5.5e9 < memory["components"]["text_encoder"]["parameters"] < 5.8e9  # UMT5-XXL's encoder
    tokens = 3 * 4 * 4  # (9 - 1) / 4 + 1 latent frames of 8x8 latents in 2x2 patches
    assert flops["per_call"] > 2 * experts[0] * tokens  # every weight multiplies every token at least once
    weights = memory["weights_bytes"]
    assert memory["gpu_weights_bytes"]["none"] == sum(weights.values())
    assert memory["gpu_weights_bytes"]["model"] == max(weights.values()) == 2 * experts[0]


def test_bench_tiny_run_counts_the_calls_it_predicts(wan_models):
    from kfbench.bench.measure import run_bench

    options = {"model": str(wan_models["wan22-flf2v"]), "height": SIZE, "width": SIZE, "video_frames": "match",
               "num_inference_steps": 3, "device": "cpu", "guidance_scale_2": 1.0}  # fmt: skip
    report = run_bench("wan22-flf2v", options, num_frames=FRAMES, warmup=0)
    assert report["run"]["calls_by_denoiser"] == report["flops"]["calls_by_denoiser"]
    # the pipeline runs the unconditional pass whenever guidance_scale > 1, for expert 2 too (guidance_scale_2=1 or not)
    assert sum(report["run"]["calls_by_denoiser"].values()) == 2 * 3
    assert report["run"]["wall_s"] > 0 and report["run"]["peak_memory_bytes"] > 0
