"""FramePack through the keyframe adapter, against HunyuanVideoFramepackPipeline itself (tiny offline folder)."""

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


def framepack_video(folder, first, last, **arguments) -> np.ndarray:
    from diffusers import HunyuanVideoFramepackPipeline

    pipe = HunyuanVideoFramepackPipeline.from_pretrained(folder, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    frames = pipe(
        image=Image.fromarray(first),
        last_image=Image.fromarray(last),
        height=SIZE,
        width=SIZE,
        num_inference_steps=2,
        guidance_scale=9.0,
        latent_window_size=9,
        sampling_type="inverted_anti_drifting",
        output_type="pil",
        **arguments,
    ).frames[0]
    return np.stack([np.asarray(frame) for frame in frames])


def tiny_framepack(folder, **options):
    return create_method("framepack", model=str(folder), height=SIZE, width=SIZE, num_inference_steps=2, **options)


def test_equals_framepack_pipeline(tiny_models):
    folder = tiny_models["framepack"]
    first, last = keyframes(3)
    method = tiny_framepack(folder, video_frames="match")
    ours = method.interpolate(first, last, num_frames=9, seed=6, prompt="a bird flies")
    theirs = framepack_video(folder, first, last, num_frames=9, prompt="a bird flies", negative_prompt="",
                             generator=torch.Generator("cpu").manual_seed(6))  # fmt: skip
    # one section of 9 latent frames: 9 x 4 + 1 frames returned for 9 asked; keyframe 2 four frames after the last
    assert ours.shape == theirs.shape == (37, SIZE, SIZE, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    assert method.output_times(9) == [i / 40 for i in range(37)]
    assert method.stats["transformer_calls"] == 2
    other = method.interpolate(first, last, num_frames=9, seed=7, prompt="a bird flies")
    assert np.abs(other.astype(int) - ours.astype(int)).max() > 1
    with pytest.raises(KfbenchError, match="takes no initial latents"):
        method.interpolate(first, last, num_frames=9, latents=np.zeros((1, 4, 10, 4, 4), np.float32))


def test_base_folder_is_assembled_with_framepack_transformer_and_siglip(tiny_models, tmp_path):
    """The HunyuanVideo base layout plus separate transformer and image-encoder folders, as diffusers' example loads
    them."""
    folder = tiny_models["framepack"]
    base = tmp_path / "hunyuan"
    shutil.copytree(folder, base)
    index = json.loads((base / "model_index.json").read_text())
    for name in ("transformer", "image_encoder", "feature_extractor"):
        shutil.move(str(base / name), str(tmp_path / ("redux" if name != "transformer" else "fp") / name))
        index.pop(name)
    (base / "model_index.json").write_text(json.dumps({**index, "_class_name": "HunyuanVideoPipeline"}))
    method = tiny_framepack(base, video_frames=9)
    method.transformer_source, method.image_encoder_source = (
        str(tmp_path / "fp" / "transformer"),
        str(tmp_path / "redux"),
    )
    first, last = keyframes(3)
    ours = method.interpolate(first, last, num_frames=9, seed=6)
    theirs = framepack_video(folder, first, last, num_frames=9, prompt="", negative_prompt="",
                             generator=torch.Generator("cpu").manual_seed(6))  # fmt: skip
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1


def test_run_evaluate_report_and_errors(tiny_models, tmp_path):
    out = tmp_path / "runs"
    code, _, stderr = run_main(
        "run",
        "-m",
        "framepack",
        "-d",
        "synthetic",
        "--model",
        tiny_models["framepack"],
        "--out",
        out,
        "--height",
        SIZE,
        "--width",
        SIZE,
        "--video-frames",
        9,
        "--num-frames",
        9,
        "--num-pairs",
        1,
        "--num-inference-steps",
        2,
        "--quiet",
    )
    assert code == 0, stderr
    meta = json.loads((out / "synthetic" / "framepack" / "synthetic-0-0000" / "meta.json").read_text())
    assert len(meta["frame_times"]) == 37 and meta["frame_times"][-1] == 36 / 40
    code, stdout, stderr = run_main("evaluate", "--out", out, "--metrics", "psnr", "--bootstrap", 0, "--quiet")
    assert code == 0, stderr
    assert "synthetic framepack psnr" in stdout
    code, _, stderr = run_main("report", "--out", out, "--to", tmp_path / "report", "--quiet")
    assert code == 0 and "framepack" in (tmp_path / "report" / "table1.md").read_text(), stderr
    common = ("run", "-d", "synthetic", "--num-pairs", 1, "--out", out, "--quiet", "-m", "framepack")
    assert "multiples of 16" in error_line(*common, "--width", 500)
    assert "guidance_scale_2" in error_line(*common, "--guidance-scale-2", 2)


def test_bench_counts_sections_and_parameters_without_weights():
    from kfbench.bench.measure import run_bench

    report = run_bench("framepack", {"device": "cpu", "dtype": "bfloat16"}, num_frames=25, flops_only=True)
    assert report["frames_returned"] == 109  # 91 asked: 3 sections of 9 latent frames
    assert report["flops"]["calls_per_video"] == 3 * 30 and "data-dependent" in report["flops"]["missing"]
    assert 12.5e9 < report["memory"]["components"]["transformer"]["parameters"] < 13.5e9  # HunyuanVideo's 13B
