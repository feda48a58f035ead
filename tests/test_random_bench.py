"""Random full-size models (parameter counts), the GPU levers against the float32 reference, the tiny suite end to end
(CPU)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from kfbench.bench import randomweights
from kfbench.bench.timing import keyframes
from kfbench.methods.svd.bench import capture_latents
from kfbench.methods.svd.levers import Levers, apply
from kfbench.registry import create_method
from tests.helpers.cli import REPO, cli_env
from tests.helpers.inprocess import run_main


@pytest.mark.parametrize("name", randomweights.random_models().names())
def test_random_model_has_the_real_parameter_count(name):
    """Built on the meta device from the embedded config: exactly the released model's parameters."""
    assert randomweights.meta_count(name) == randomweights.random_models().get(name).parameters


def test_published_rounded_counts():
    """The exact counts against the figures published elsewhere (rounded there)."""
    counts = {n: s.parameters for n, s in randomweights.random_models().items()}
    assert counts["svd-xt-unet"] == 1_524_623_082
    assert round(counts["svd-xt-image-encoder"] / 1e6, 2) == 632.08  # open_clip model_profile.csv, ViT-H-14 image
    assert counts["film"] == 34_436_667
    dynamicrafter = randomweights.empty(randomweights.random_models().get("dynamicrafter").build)
    assert round(randomweights.count_parameters(dynamicrafter.model) / 1e9, 1) == 1.4  # the 512 UNet
    assert round(randomweights.count_parameters(dynamicrafter.cond_stage_model) / 1e6, 2) == 354.03  # ViT-H-14 text


def test_materialize_gives_real_tensors_on_the_device_in_the_dtype():
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=56,
        patch_size=14,
        projection_dim=16,
    )
    model = randomweights.materialize(
        randomweights.empty(lambda: CLIPVisionModelWithProjection(config)), "cpu", torch.bfloat16
    )
    params = list(model.parameters())
    assert all(p.device.type == "cpu" and p.dtype == torch.bfloat16 and torch.isfinite(p).all() for p in params)
    assert any(p.std() > 0 for p in params if p.dim() >= 2)
    ids = model.vision_model.embeddings.position_ids  # a buffer made at construction stays real
    assert torch.equal(ids.flatten(), torch.arange(ids.numel()))
    out = model(pixel_values=torch.randn(1, 3, 56, 56, dtype=torch.bfloat16)).image_embeds
    assert out.shape == (1, 16) and torch.isfinite(out).all()


# --- levers against the float32 reference (tiny models, CPU) --------------------------------------------


def ours_video(tiny_models, levers: Levers, **extra):
    options = {
        "model": str(tiny_models["svd"]),
        "checkpoint": str(tiny_models["ours-delta"]),
        "checkpoint_base": str(tiny_models["svd-img2vid"]),
        "height": 64,
        "width": 96,
        "recurrence": 1,
        **extra,
    }
    method = create_method("ours", **options, **levers.method_options({"dtype", "decode_chunk_size"}))
    apply(method.loaded(), levers)
    with capture_latents(method) as captured:
        frames = method.interpolate(*keyframes(8, 64, 96), num_frames=8, seed=3)
    assert not method.loaded().control.maps  # nothing recorded is left behind
    return frames, captured["latents"]


def test_sdpa_rotation_and_channels_last_equal_the_reference(tiny_models):
    """One SDPA kernel for the forward and the rotated backward half: the map path's output within float32 rounding."""
    reference = ours_video(tiny_models, Levers(dtype="float32"), num_inference_steps=2)
    levers = Levers(dtype="float32", sdpa_rotation=True, fp32_softmax=False, channels_last=True)
    frames, latents = ours_video(tiny_models, levers, num_inference_steps=2)
    # the tolerances of the fused-vs-sequential reformulation (test_perf)
    torch.testing.assert_close(latents, reference[1], rtol=1e-3, atol=1e-3)
    assert np.abs(frames.astype(np.int16) - reference[0]).max() <= 1
    assert reference[0].std() > 5


def test_rotated_pair_kernel_equals_recorded_maps():
    """softmax(flip(Q) flip(K)^T) V is the rotated recorded map times V, layer by layer."""
    from kfbench.methods.svd.attention import rotate_map

    q, k, v = torch.randn(3, 6, 2, 25, 16).unbind()
    probs = torch.softmax(q @ k.transpose(-1, -2) * 0.25, dim=-1)
    flipped = torch.nn.functional.scaled_dot_product_attention(torch.flip(q, (2,)), torch.flip(k, (2,)), v, scale=0.25)
    torch.testing.assert_close(flipped, rotate_map(probs) @ v, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_fast_levers_in_float16_stay_close_to_float32(tiny_models):
    """The suite's levers in fp16: mean frame difference under 1 uint8 level, FILM's fp16-vs-fp32 tolerance
    (test_film)."""
    reference, _ = ours_video(tiny_models, Levers(dtype="float32"), num_inference_steps=1, recurrence=0)
    frames, _ = ours_video(
        tiny_models,
        Levers(dtype="float16", sdpa_rotation=True, fp32_softmax=False, channels_last=True),
        num_inference_steps=1,
        recurrence=0,
    )
    assert np.abs(frames.astype(np.int16) - reference).mean() < 1.0


# --- the suite, the flops-only count and the script --------------------------------------------------------


def test_flops_only_on_random_weights(tmp_path):
    out = tmp_path / "flops.json"
    code, stdout, stderr = run_main(
        "bench", "--random-weights", "--flops-only", "--methods", "ours,film", "--json", out
    )
    assert code == 0, stderr
    report = json.loads(out.read_text())
    assert all(m["equal"] for m in report["models"].values()) and "1,524,623,082 / 1,524,623,082" in stdout
    ours, film = report["rows"]
    assert ours["calls"] == 350
    assert (
        round(ours["flops_per_video"] / 1e15) == 56
        and round(ours["flops_per_video_without_attention_matmuls"] / 1e15) == 45
    )
    assert (
        film["calls"] == 31
        and film["schedule"] == "recursive"
        and film["flops_per_video"] == 31 * film["flops_per_call"]
    )


SUITE_METHODS = ("ours", "vibid", "dynamicrafter", "film", "wan-flf2v", "wan22-flf2v", "framepack")


@pytest.mark.slow
def test_gpu_script_runs_the_tiny_suite_on_every_family(tmp_path):
    """scripts/gpu_bench.sh end to end on CPU (install step skipped: this checkout is on the path), on the tiny suite:
    the SVD family with the lever sweep, DynamiCrafter, FILM, and the keyframe pipelines (Wan 2.1 FLF2V and Wan 2.2
    measured from a 1- and a 2-step video and extrapolated; FramePack whole). One run of the suite serves the
    script's and the suite's checks."""
    out = tmp_path / "out"
    env = {
        **cli_env(),
        "PYTHON": sys.executable,
        "KFBENCH_SUITE": "tiny",
        "KFBENCH_METHODS": ",".join(SUITE_METHODS),
        "KFBENCH_NO_INSTALL": "1",
        "KFBENCH_LEVERS": "1",
        "KFBENCH_BUDGET_S": "3000",  # a loaded test machine must not skip a method
        "KFBENCH_TIMEOUT_S": "3000",
    }
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_bench.sh"), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "bench.json").read_text())
    rows = {r["method"]: r for r in report["rows"]}
    assert list(rows) == list(SUITE_METHODS)  # the suite's order
    assert [rows[m]["calls"] for m in SUITE_METHODS] == [6, 4, 4, 1, 4, 4, 2]
    for name in ("ours", "vibid", "dynamicrafter", "film"):
        row = rows[name]
        assert 0 < row["network_s"] < row["wall_s"] and row["flops_per_call"] > 0 and row["peak_memory_bytes"] > 0
        assert row["tflops_per_s"] == pytest.approx(row["flops_per_call"] * row["calls"] / row["network_s"] / 1e12)
        assert row["fraction_of_peak"] is None  # no peak figure for a CPU
    for name in ("wan-flf2v", "wan22-flf2v"):
        measured = rows[name]["extrapolated_from"]
        assert measured["calls"] == [2, 4]  # 1 and 2 steps, cond + uncond (Wan 2.2: both experts timed)
        assert rows[name]["wall_s"] == pytest.approx(measured["s_outside_calls"] + 4 * measured["s_per_call"])
    assert "extrapolated_from" not in rows["framepack"] and rows["framepack"]["flops_per_call"] > 0
    assert all(rows[m]["network_s"] > 0 and rows[m]["dtype"] == "float32" for m in SUITE_METHODS[4:])
    assert [s["lever"] for s in report["sweep"]] == [
        "release",
        "+sdpa rotation",
        "+no fp32 softmax",
        "+channels-last",
        "decode chunk 8",
    ]
    assert all(s["s_per_call"] > 0 for s in report["sweep"])
    table = (out / "bench.md").read_text()
    assert (
        "| method | model calls | s/video | UNet/transformer s | TFLOP/s | fraction of peak | peak memory (GiB) | "
        "dtype | compile |" in table
    )
    assert "| ours | 6 |" in table and "| film | 1 |" in table and "| wan-flf2v (extrapolated) | 4 |" in table
    assert "195 s per video on an RTX 3090" in table and "## Levers on `ours`" in table
    assert table in result.stdout  # the script prints the table
    # the script's environment record beside the suite's files, and no temporary file left behind
    assert sorted(p.name for p in out.iterdir()) == ["bench.json", "bench.log", "bench.md", "environment.txt"]


def test_suite_rejects_bad_input(tmp_path):
    code, _, stderr = run_main("bench", "--suite", "tiny", "--methods", "nope", "--out", tmp_path)
    assert code == 2 and "suite 'tiny' has no method 'nope'" in stderr and "Traceback" not in stderr
    code, _, stderr = run_main("bench", "--suite", "tiny", "--num-inference-steps", "3", "--out", tmp_path)
    assert code == 2 and "takes --device and --dtype" in stderr


# --- the keyframe methods (Wan, LTX-Video, FramePack) on random weights ---------------------------------


def test_keyframe_counts_against_published_figures():
    """Exact counts are the embedded configs'; these check them against what is published (rounded names, larger
    models)."""
    counts = {n: s.parameters for n, s in randomweights.random_models().items()}
    assert round(counts["wan22-a14b-expert"] / 1e9) == 14  # Wan 2.2 "A14B": 14 B per expert
    assert round(counts["ltx-13b-transformer"] / 1e9) == 13  # ltxv-13b
    assert round(counts["framepack-transformer"] / 1e9) == 13  # HunyuanVideo 13 B backbone
    assert round(counts["wan-umt5-xxl-encoder"] / 1e8) == 57  # UMT5-XXL encoder, 5.7 B
    assert (
        counts["wan-clip-vit-h-image-encoder"] == counts["svd-xt-image-encoder"]
    )  # the same ViT-H/14 tower, two embedded configs
    assert (
        counts["framepack-llama3-8b-encoder"] == 8_030_261_248 - 128_256 * 4096 + 64 * 4096
    )  # Meta-Llama-3-8B less lm_head
    assert (
        round((counts["framepack-clip-l-text-encoder"] + 768 * 768) / 1e4) == 12365
    )  # open_clip ViT-L-14 text 123.65 M
    # FLF2V adds the image branch to the 14 B backbone: the same 40 blocks,
    # so the difference is image cross-attention + embedder
    assert 2.0e9 < counts["wan21-flf2v-transformer"] - counts["wan22-a14b-expert"] < 2.2e9


def test_tied_embeddings_stay_tied_on_the_meta_device():
    """T5's shared input embedding is one tensor (init_empty_weights alone would untie it and count it twice)."""
    encoder = randomweights.empty(randomweights.random_models().get("wan-umt5-xxl-encoder").build)
    assert encoder.shared.weight is encoder.encoder.embed_tokens.weight


def test_full_size_wan22_pipeline_builds_on_the_meta_device():
    """The whole random pipeline at real size (shapes and dtypes only): both experts, the float32 VAE, the real calls
    per video."""
    from kfbench.methods.keyframe.randombuild import random_keyframe_method

    subject = random_keyframe_method("wan22-flf2v", {"device": "meta", "dtype": "bfloat16"}, "full", 0)
    pipe = subject.method.pipeline()
    experts = subject.network
    assert experts == (pipe.transformer, pipe.transformer_2) and pipe.transformer is not pipe.transformer_2
    assert all(randomweights.count_parameters(e) == 14_288_901_184 and e.dtype == torch.bfloat16 for e in experts)
    assert pipe.vae.dtype == torch.float32 and pipe.text_encoder.dtype == torch.bfloat16 and pipe.image_encoder is None
    assert pipe.config.boundary_ratio == 0.9 and subject.calls_per_video(81) == 80  # 40 steps x cond/uncond


def test_flops_only_for_a_keyframe_method(tmp_path):
    out = tmp_path / "flops.json"
    code, stdout, stderr = run_main("bench", "--random-weights", "--flops-only", "-m", "wan-flf2v", "--json", out)
    assert code == 0, stderr
    report = json.loads(out.read_text())
    assert report["models"]["wan21-flf2v-transformer"]["equal"] and "16,395,536,704 / 16,395,536,704" in stdout
    (row,) = report["rows"]
    assert row["method"] == "wan-flf2v" and row["calls"] == 100  # 50 steps, separate cond and uncond calls
    # the weight matmuls: 2 FLOPs x the per-token weights
    # (self-attention 4 d^2, cross-attention q/o 2 d^2, FFN 2 d f) x tokens
    d, f, tokens = 5120, 13824, 21 * (720 // 16) * (1280 // 16)
    linear = 2 * 40 * (6 * d * d + 2 * d * f) * tokens
    assert row["flops_per_video_without_attention_matmuls"] / 100 == pytest.approx(linear, rel=0.01)
    assert (
        row["flops_per_video"] > 3 * row["flops_per_video_without_attention_matmuls"]
    )  # 75,600-token self-attention dominates


def test_one_method_on_random_weights_takes_its_options(tmp_path):
    """`bench --random-weights -m NAME` takes the method's options and --num-frames as `run` does (issue 23)."""
    from kfbench.methods.svd.flops import count_unet_flops

    out = tmp_path / "flops.json"
    options = ["--height", "320", "--width", "576", "--num-inference-steps", "10", "--num-frames", "14"]
    code, stdout, stderr = run_main("bench", "--random-weights", "--flops-only", "-m", "ours", *options, "--json", out)
    assert code == 0, stderr
    (row,) = json.loads(out.read_text())["rows"]
    ours = create_method("ours", checkpoint="unused", height=320, width=576, num_inference_steps=10)
    flops = count_unet_flops({}, batch=2, num_frames=14, height=320, width=576)  # SVD-XT's UNet, CFG-batched
    assert row["calls"] == ours.unet_calls_per_video() == 70  # 10 steps, recurrence 5 over the first half, 2 directions
    assert row["flops_per_call"] == flops.total and row["flops_per_video"] == 70 * flops.total
    code, _, stderr = run_main("bench", "--random-weights", "--flops-only", "-m", "ours", "--colour", "red")
    assert code == 2 and "unknown option --colour for method 'ours'" in stderr
    code, _, stderr = run_main("bench", "--random-weights", "--flops-only", "-m", "ourz")
    assert code == 2 and "Did you mean 'ours'" in stderr


def test_one_method_of_the_tiny_suite_at_fewer_steps(tmp_path):
    options = ["--num-inference-steps", "1", "--num-frames", "4"]
    code, _, stderr = run_main("bench", "--suite", "tiny", "-m", "vibid", *options, "--out", tmp_path, "--quiet")
    assert code == 0, stderr
    (row,) = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert row["method"] == "vibid" and row["num_frames"] == 4 and row["calls"] == 2  # 1 step, two directions
