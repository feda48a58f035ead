"""LTX-Video (dev and distilled) through the keyframe adapter, against LTXConditionPipeline itself (tiny offline
folder)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from kfbench.registry import create_method
from tests.helpers.inprocess import error_line, run_main
from tests.helpers.keyframes import SIZE, keyframes

FRAMES = 9  # 8k + 1
UPSAMPLED = 96  # output size with the upsampler: stage 1 at 64 (2/3, a multiple of 32), stage 3 at 128, resized to 96


def ltx_pipeline(folder):
    from diffusers import LTXConditionPipeline

    pipe = LTXConditionPipeline.from_pretrained(folder, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def ltx_call(pipe, first, last, **arguments):
    """One LTXConditionPipeline call with the keyframes as conditions at frames 0 and T-1 and the documented decode
    settings."""
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    conditions = [LTXVideoCondition(image=Image.fromarray(first), frame_index=0),
                  LTXVideoCondition(image=Image.fromarray(last), frame_index=FRAMES - 1)]  # fmt: skip
    return pipe(conditions=conditions, num_frames=FRAMES, frame_rate=24, decode_timestep=0.05, decode_noise_scale=0.025,
                image_cond_noise_scale=0.0, **arguments).frames  # fmt: skip


def ltx_video(folder, first, last, **arguments) -> np.ndarray:
    """Plain diffusers, one pass: frames as PIL images stacked to uint8."""
    frames = ltx_call(ltx_pipeline(folder), first, last, height=SIZE, width=SIZE, output_type="pil", **arguments)[0]
    return np.stack([np.asarray(frame) for frame in frames])


@pytest.mark.parametrize(
    ("name", "steps", "reference"),
    [
        ("ltx-video", 3, {"num_inference_steps": 3, "guidance_scale": 5.0}),
        ("ltx-video-distilled", 8, {"timesteps": [1000, 993, 987, 981, 975, 909, 725, 0.03], "guidance_scale": 1.0,
                                    "guidance_rescale": 0.7}),
    ],
)  # fmt: skip
def test_equals_ltx_condition_pipeline(tiny_models, name, steps, reference):
    folder = tiny_models["ltx-video"]
    first, last = keyframes(2)
    method = create_method(
        name, model=str(folder), height=SIZE, width=SIZE, video_frames="match", num_inference_steps=steps
    )
    ours = method.interpolate(first, last, num_frames=FRAMES, seed=4, prompt="the camera pans right")
    theirs = ltx_video(folder, first, last, prompt="the camera pans right", negative_prompt="",
                       generator=torch.Generator("cpu").manual_seed(4), **reference)  # fmt: skip
    assert ours.shape == theirs.shape == (FRAMES, SIZE, SIZE, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    assert method.stats["transformer_calls"] == steps  # one CFG-batched call per step
    assert method.output_times(FRAMES) == [i / 8 for i in range(FRAMES)]
    other = method.interpolate(first, last, num_frames=FRAMES, seed=5, prompt="the camera pans right")
    assert np.abs(other.astype(int) - ours.astype(int)).max() > 1


def ltx_video_upsampled(folder, upsampler, first, last, *, seed, stage_1, stage_3, upsample) -> np.ndarray:
    """diffusers' documented three stages: latents at 2/3 size, LTXLatentUpsamplePipeline (2x), refinement, resize."""
    from diffusers import LTXLatentUpsamplePipeline

    pipe = ltx_pipeline(folder)
    pipe_upsample = LTXLatentUpsamplePipeline.from_pretrained(upsampler, vae=pipe.vae, use_safetensors=True)
    pipe_upsample.set_progress_bar_config(disable=True)
    height = int(UPSAMPLED * 2 / 3) // 32 * 32  # the documented rounding, to the multiple of 32 the pipeline checks
    common = {"prompt": "the camera pans right", "negative_prompt": ""}
    latents = ltx_call(
        pipe,
        first,
        last,
        **common,
        height=height,
        width=height,
        generator=torch.Generator("cpu").manual_seed(seed),
        output_type="latent",
        **stage_1,
    )
    upscaled = pipe_upsample(latents=latents, output_type="latent", **upsample).frames
    frames = ltx_call(pipe, first, last, **common, height=2 * height, width=2 * height, latents=upscaled,
                      generator=torch.Generator("cpu").manual_seed(seed), output_type="pil", **stage_3)[0]  # fmt: skip
    return np.stack([np.asarray(frame.resize((UPSAMPLED, UPSAMPLED))) for frame in frames])


@pytest.mark.parametrize(
    ("name", "steps", "stage_1", "stage_3", "upsample", "refine_calls"),
    [
        (
            "ltx-video",
            3,
            {"num_inference_steps": 3, "guidance_scale": 5.0},
            {"num_inference_steps": 10, "denoise_strength": 0.4, "guidance_scale": 5.0},
            {},
            4,
        ),
        (
            "ltx-video-distilled",
            8,
            {"timesteps": [1000, 993, 987, 981, 975, 909, 725, 0.03], "guidance_scale": 1.0, "guidance_rescale": 0.7},
            {
                "timesteps": [1000, 909, 725, 421, 0],
                "denoise_strength": 0.999,
                "guidance_scale": 1.0,
                "guidance_rescale": 0.7,
            },
            {"adain_factor": 1.0, "tone_map_compression_ratio": 0.6},
            4,
        ),
    ],
)
def test_upsampler_equals_documented_three_stages(tiny_models, name, steps, stage_1, stage_3, upsample, refine_calls):
    folder, upsampler = tiny_models["ltx-video"], tiny_models["ltx-upsampler"]
    rng = np.random.default_rng(2)
    first, last = (
        rng.integers(0, 256, (UPSAMPLED, UPSAMPLED, 3), dtype=np.uint8) for _ in range(2)
    )  # at the output size
    size = {"height": UPSAMPLED, "width": UPSAMPLED}
    method = create_method(
        name, model=str(folder), **size, video_frames="match", num_inference_steps=steps, upsampler=str(upsampler)
    )
    ours = method.interpolate(first, last, num_frames=FRAMES, seed=4, prompt="the camera pans right")
    theirs = ltx_video_upsampled(
        folder, upsampler, first, last, seed=4, stage_1=stage_1, stage_3=stage_3, upsample=upsample
    )
    assert ours.shape == theirs.shape == (FRAMES, UPSAMPLED, UPSAMPLED, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    assert method.stats["transformer_calls"] == steps + refine_calls
    one_pass = create_method(name, model=str(folder), **size, video_frames="match", num_inference_steps=steps)
    single = one_pass.interpolate(first, last, num_frames=FRAMES, seed=4, prompt="the camera pans right")
    assert np.abs(single.astype(int) - ours.astype(int)).max() > 1  # the stages change the video


def test_run_evaluate_report(tiny_models, tmp_path):
    out = tmp_path / "runs"
    for name, steps in (("ltx-video", 2), ("ltx-video-distilled", 8)):
        code, _, stderr = run_main(
            "run", "-m", name, "-d", "synthetic", "--model", tiny_models["ltx-video"], "--out", out, "--height", SIZE,
            "--width", SIZE, "--video-frames", "match", "--num-frames", FRAMES, "--num-pairs", 1,
            "--num-inference-steps", steps, "--prompt", "a cat walks", "--quiet",
        )  # fmt: skip
        assert code == 0, stderr
        meta = json.loads((out / "synthetic" / name / "synthetic-0-0000" / "meta.json").read_text())
        assert meta["prompt"] == "a cat walks" and len(meta["frame_times"]) == FRAMES
    code, stdout, stderr = run_main("evaluate", "--out", out, "--metrics", "psnr", "--bootstrap", 0, "--quiet")
    assert code == 0, stderr
    assert "synthetic ltx-video psnr" in stdout and "synthetic ltx-video-distilled psnr" in stdout
    code, _, stderr = run_main("report", "--out", out, "--to", tmp_path / "report", "--quiet")
    assert code == 0, stderr
    table = (tmp_path / "report" / "table1.md").read_text()
    assert "ltx-video" in table and "ltx-video-distilled" in table


def test_run_with_upsampler(tiny_models, tmp_path):
    out = tmp_path / "runs"
    code, _, stderr = run_main(
        "run",
        "-m",
        "ltx-video",
        "-d",
        "synthetic",
        "--model",
        tiny_models["ltx-video"],
        "--upsampler",
        tiny_models["ltx-upsampler"],
        "--out",
        out,
        "--height",
        UPSAMPLED,
        "--width",
        UPSAMPLED,
        "--video-frames",
        "match",
        "--num-frames",
        FRAMES,
        "--num-pairs",
        1,
        "--num-inference-steps",
        2,
        "--quiet",
    )
    assert code == 0, stderr
    meta = json.loads((out / "synthetic" / "ltx-video" / "synthetic-0-0000" / "meta.json").read_text())
    assert meta["stats"]["transformer_calls"] == 2 + 4  # stage 1, then 4 of the 10 refinement steps (strength 0.4)
    assert len(meta["frame_times"]) == FRAMES and meta["size"] == {"height": UPSAMPLED, "width": UPSAMPLED}
    assert meta["options"]["upsampler"] == str(tiny_models["ltx-upsampler"])


def test_bad_input_is_one_line(tiny_models, tmp_path):
    common = ("run", "-d", "synthetic", "--num-pairs", 1, "--out", tmp_path / "runs", "--quiet")
    assert "multiples of 32" in error_line(*common, "-m", "ltx-video", "--height", 500)
    assert "8k+1 frames" in error_line(*common, "-m", "ltx-video", "--video-frames", 80)
    assert "8k+1 frames" in error_line(
        *common,
        "-m",
        "ltx-video",
        "--model",
        tiny_models["ltx-video"],
        "--height",
        SIZE,
        "--width",
        SIZE,
        "--video-frames",
        "match",
        "--num-frames",
        13,
    )  # a 13-frame benchmark
    assert "num_inference_steps must be 8" in error_line(
        *common, "-m", "ltx-video-distilled", "--num-inference-steps", 4
    )
    assert "guidance_scale_2" in error_line(*common, "-m", "ltx-video", "--guidance-scale-2", 2)
    assert "first stage runs at 2/3 of 32x32, under 32 px" in error_line(
        *common, "-m", "ltx-video", "--height", SIZE, "--width", SIZE, "--upsampler", tiny_models["ltx-upsampler"]
    )
    tiny = ("--model", tiny_models["ltx-video"], "--height", UPSAMPLED, "--width", UPSAMPLED, "--video-frames", 9,
            "--num-inference-steps", 2)  # fmt: skip
    assert "not an LTXLatentUpsamplePipeline or LTXLatentUpsamplerModel" in error_line(
        *common, "-m", "ltx-video", *tiny, "--upsampler", tiny_models["ltx-video"])  # fmt: skip
    assert "without model_index.json or config.json" in error_line(
        *common, "-m", "ltx-video", *tiny, "--upsampler", tmp_path
    )
    assert "--upsampler" in error_line(*common, "-m", "ltx-video", *tiny, "--upsampler", tmp_path / "missing")
    assert "upsampler_denoise_strength must be in (0, 1]" in error_line(
        *common, "-m", "ltx-video", "--upsampler-denoise-strength", 0
    )
    assert "upsampler_steps must be 5" in error_line(*common, "-m", "ltx-video-distilled", "--upsampler-steps", 10)
    assert "not a LTXConditionPipeline" in error_line(*common, "-m", "ltx-video", "--model", tiny_models["wan-flf2v"],
                                                      "--height", SIZE, "--width", SIZE)  # fmt: skip


def test_bench_flops_only_real_config():
    from kfbench.bench.measure import run_bench

    report = run_bench(
        "ltx-video",
        {"device": "cpu", "dtype": "bfloat16", "height": 64, "width": 64, "video_frames": 9},
        num_frames=9,
        flops_only=True,
    )
    components = report["memory"]["components"]
    assert 12.5e9 < components["transformer"]["parameters"] < 13.5e9  # the "13B"
    assert 4.6e9 < components["text_encoder"]["parameters"] < 4.9e9  # T5-XXL's encoder
    assert report["flops"]["calls_per_video"] == 30
    tokens = (2 + 1) * 2 * 2  # 2 latent frames + keyframe 2's, 2x2 latents of 32 px
    assert report["flops"]["per_call"] > 2 * 2 * components["transformer"]["parameters"] * tokens  # CFG batch 2


def test_bench_refuses_the_upsampler():
    from kfbench.bench.measure import run_bench
    from kfbench.errors import KfbenchError

    options = {
        "device": "cpu",
        "dtype": "bfloat16",
        "height": 64,
        "width": 64,
        "video_frames": 9,
        "upsampler": "unused",
    }
    with pytest.raises(KfbenchError, match="does not count the upsampler's stages"):
        run_bench("ltx-video", options, num_frames=9, flops_only=True)
