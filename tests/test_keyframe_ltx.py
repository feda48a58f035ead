"""LTX-Video (dev and distilled) through the keyframe adapter, against LTXConditionPipeline itself (tiny offline folder)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from inprocess import run_main
from PIL import Image
from test_keyframe_wan import SIZE, error_line, keyframes

from kfbench.registry import create_method

FRAMES = 9  # 8k + 1


def ltx_video(folder, first, last, **arguments) -> np.ndarray:
    """Plain diffusers: the keyframes as conditions at frames 0 and T-1, frames as PIL images stacked to uint8."""
    from diffusers import LTXConditionPipeline
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    pipe = LTXConditionPipeline.from_pretrained(folder, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    conditions = [LTXVideoCondition(image=Image.fromarray(first), frame_index=0),
                  LTXVideoCondition(image=Image.fromarray(last), frame_index=FRAMES - 1)]  # fmt: skip
    frames = pipe(conditions=conditions, height=SIZE, width=SIZE, num_frames=FRAMES, frame_rate=24, decode_timestep=0.05,
                  decode_noise_scale=0.025, image_cond_noise_scale=0.0, output_type="pil", **arguments).frames[0]  # fmt: skip
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
    method = create_method(name, model=str(folder), height=SIZE, width=SIZE, video_frames="match", num_inference_steps=steps)
    ours = method.interpolate(first, last, num_frames=FRAMES, seed=4, prompt="the camera pans right")
    theirs = ltx_video(folder, first, last, prompt="the camera pans right", negative_prompt="",
                       generator=torch.Generator("cpu").manual_seed(4), **reference)  # fmt: skip
    assert ours.shape == theirs.shape == (FRAMES, SIZE, SIZE, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    assert method.stats["transformer_calls"] == steps  # one CFG-batched call per step
    assert method.output_times(FRAMES) == [i / 8 for i in range(FRAMES)]
    other = method.interpolate(first, last, num_frames=FRAMES, seed=5, prompt="the camera pans right")
    assert np.abs(other.astype(int) - ours.astype(int)).max() > 1


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


def test_bad_input_is_one_line(tiny_models, tmp_path):
    common = ("run", "-d", "synthetic", "--num-pairs", 1, "--out", tmp_path / "runs", "--quiet")
    assert "multiples of 32" in error_line(*common, "-m", "ltx-video", "--height", 500)
    assert "8k+1 frames" in error_line(*common, "-m", "ltx-video", "--video-frames", 80)
    assert "8k+1 frames" in error_line(*common, "-m", "ltx-video", "--model", tiny_models["ltx-video"], "--height", SIZE,
                                       "--width", SIZE, "--video-frames", "match", "--num-frames", 13)  # a 13-frame benchmark  # fmt: skip
    assert "num_inference_steps must be 8" in error_line(*common, "-m", "ltx-video-distilled", "--num-inference-steps", 4)
    assert "guidance_scale_2" in error_line(*common, "-m", "ltx-video", "--guidance-scale-2", 2)
    assert "not a LTXConditionPipeline" in error_line(*common, "-m", "ltx-video", "--model", tiny_models["wan-flf2v"],
                                                      "--height", SIZE, "--width", SIZE)  # fmt: skip


def test_bench_flops_only_real_config():
    from kfbench.bench import run_bench

    report = run_bench("ltx-video", {"device": "cpu", "dtype": "bfloat16", "height": 64, "width": 64, "video_frames": 9},
                       num_frames=9, flops_only=True)  # fmt: skip
    components = report["memory"]["components"]
    assert 12.5e9 < components["transformer"]["parameters"] < 13.5e9  # the "13B"
    assert 4.6e9 < components["text_encoder"]["parameters"] < 4.9e9  # T5-XXL's encoder
    assert report["flops"]["calls_per_video"] == 30
    tokens = (2 + 1) * 2 * 2  # 2 latent frames + keyframe 2's, 2x2 latents of 32 px
    assert report["flops"]["per_call"] > 2 * 2 * components["transformer"]["parameters"] * tokens  # CFG batch 2
