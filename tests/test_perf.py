"""Fused dual pass == sequential reference, `kfbench bench`, FLOP counting, GPU fast-path options (CPU, tiny models)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kfbench.bench import measure as bench
from kfbench.bench.device import peak_tflops
from kfbench.bench.timing import NetworkTimer
from kfbench.bench.timing import keyframes as bench_keyframes
from kfbench.errors import KfbenchError
from kfbench.methods.svd.bench import capture_latents, unet_config, vae_scale
from kfbench.methods.svd.flops import count_unet_flops
from kfbench.registry import create_method
from tests.helpers.inprocess import run_main

FAST = {"height": 64, "width": 96, "num_inference_steps": 2}


@pytest.fixture(scope="module")
def keyframes():
    return bench_keyframes(8, 64, 96)


def method_options(tiny_models, name: str, **extra):
    kw = {"model": str(tiny_models["svd"]), **FAST, **extra}
    if name in ("ours", "ours-wo-ra"):
        kw.update(checkpoint=str(tiny_models[f"{name}-delta"]), checkpoint_base=str(tiny_models["svd-img2vid"]))
    if name.startswith("ours"):
        kw.setdefault("recurrence", 1)  # 2 steps, one re-injection: 3 denoise moves
    return kw


def video(method, keyframes, *, fused: bool, timer: NetworkTimer):
    method.fused_call = fused
    timer.reset()
    with capture_latents(method) as captured:
        frames = method.interpolate(*keyframes, num_frames=8, seed=3)
    return frames, captured["latents"], dict(method.stats), timer.forwards


@pytest.mark.parametrize(
    "name, extra",
    [("ours", {}), ("ours-wo-ft", {}), ("ours-wo-ra", {}), ("trf", {}), ("ours", {"release_compat": True})],
    ids=["ours", "ours-wo-ft", "ours-wo-ra", "trf", "ours-release-compat"],
)
def test_fused_call_matches_the_sequential_reference(tiny_models, keyframes, name, extra):
    method = create_method(name, **method_options(tiny_models, name, **extra))
    assert method.fused_call  # the default
    timer = NetworkTimer(method.loaded().pipe.unet, "cpu")
    fused_frames, fused_latents, fused_stats, fused_forwards = video(method, keyframes, fused=True, timer=timer)
    seq_frames, seq_latents, seq_stats, seq_forwards = video(method, keyframes, fused=False, timer=timer)
    torch.testing.assert_close(fused_latents, seq_latents, rtol=1e-3, atol=1e-3)  # batch-size-dependent float32 kernels
    assert np.abs(fused_frames.astype(np.int16) - seq_frames.astype(np.int16)).max() <= 1
    assert fused_latents.abs().max() > 0.1 and seq_frames.std() > 5  # real outputs, not blanks
    # the same CFG-batched calls, in half as many UNet forwards
    assert fused_stats == seq_stats
    assert seq_forwards == fused_stats["unet_calls"] == 2 * fused_forwards
    assert not method.loaded().control.maps  # every recorded map was used in its call


def test_bidirectional_presets_fuse_by_default():
    for name in ("ours", "ours-wo-ra"):
        assert create_method(name, checkpoint="unused.safetensors").fused_call
    for name in ("ours-wo-ft", "trf"):
        assert create_method(name).fused_call


def test_spatial_attention_uses_sdpa(tiny_models):
    """Spatial self/cross-attention and temporal cross-attention keep diffusers' SDPA processor."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    from kfbench.methods.svd.attention import TemporalSelfAttentionProcessor

    model = create_method("ours-wo-ft", **method_options(tiny_models, "ours-wo-ft")).loaded()
    processors = model.pipe.unet.attn_processors
    temporal = {name for name in processors if ".temporal_transformer_blocks.0.attn1." in name}
    assert len(temporal) == len(model.layers) == 6
    for name, processor in processors.items():
        expected = TemporalSelfAttentionProcessor if name in temporal else AttnProcessor2_0
        assert type(processor) is expected, name
    assert (
        sum("transformer_blocks.0.attn1" in n and "temporal" not in n for n in processors) == 6
    )  # spatial self-attention


@pytest.mark.slow
def test_compile_option_traces_the_unet(tiny_models, keyframes, monkeypatch):
    """compile=True runs the UNet (kfbench's processors included) through torch.compile; eager backend on CPU."""
    compile_module = torch.nn.Module.compile
    calls = []

    def eager_compile(self, *args, **kwargs):
        calls.append(type(self).__name__)
        compile_module(self, backend="eager")

    monkeypatch.setattr(torch.nn.Module, "compile", eager_compile)
    outputs = {}
    for compiled in (False, True):
        method = create_method(
            "ours", **method_options(tiny_models, "ours", num_inference_steps=1, recurrence=0, compile=compiled)
        )
        with capture_latents(method) as captured:
            method.interpolate(*keyframes, num_frames=8, seed=0)
        outputs[compiled] = captured["latents"]
    assert calls == ["UNetSpatioTemporalConditionModel"]
    torch.testing.assert_close(outputs[True], outputs[False])


# --- FLOPs -----------------------------------------------------------------------------------------


def attention_matmul_flops(batch: int, frames: int, height: int, width: int) -> int:
    """QK^T and AV of SVD-XT's attention layers by hand: 4 N M C per query set (N queries, M keys, C channels)."""
    levels = [
        (1, 320, 5),
        (2, 640, 5),
        (4, 1280, 5),
        (8, 1280, 1),
    ]  # (downsampling, channels, transformers): down + up, mid
    total, vae = 0, vae_scale("stabilityai/stable-video-diffusion-img2vid-xt")  # SVD-XT's VAE: 4 blocks, factor 2**3
    for down, channels, count in levels:
        tokens = (height // vae // down) * (width // vae // down)
        spatial = batch * frames * 4 * (tokens * tokens + tokens) * channels  # self + cross (one context token)
        temporal = batch * tokens * 4 * (frames * frames + frames) * channels
        total += count * (spatial + temporal)
    return total


def test_svd_xt_flops_per_call_match_the_reference():
    """One CFG-batched SVD-XT call at 1024x576x25, counted without weights: 128.7 TFLOP outside attention matmuls."""
    config, source = unet_config("stabilityai/stable-video-diffusion-img2vid-xt")
    assert "SVD-XT" in source
    flops = count_unet_flops(config, batch=2, num_frames=25, height=576, width=1024)
    assert abs(flops.without_attention / 1e12 - 128.7) < 0.05
    assert flops.attention == attention_matmul_flops(2, 25, 576, 1024)
    assert abs(flops.total / 1e12 - 159.9) < 0.05


def test_meta_count_matches_a_real_forward(tiny_models):
    """The weightless count equals a real CPU forward's, where torch counts no FLOPs for CPU SDPA kernels."""
    from diffusers import UNetSpatioTemporalConditionModel
    from torch.utils.flop_counter import FlopCounterMode

    config = json.loads((tiny_models["svd"] / "unet" / "config.json").read_text())
    one = count_unet_flops(config, batch=1, num_frames=8, height=64, width=96)
    two = count_unet_flops(config, batch=2, num_frames=8, height=64, width=96)
    assert one.total > one.attention > 0
    assert two.total == 2 * one.total and two.by_op == {op: 2 * n for op, n in one.by_op.items()}
    unet = UNetSpatioTemporalConditionModel.from_config(config).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        unet(
            torch.randn(2, 8, 8, 8, 12),
            torch.tensor(1.0),
            encoder_hidden_states=torch.randn(2, 1, 32),
            added_time_ids=torch.randn(2, 3),
            return_dict=False,
        )
    assert counter.get_total_flops() == two.without_attention


def test_peak_table():
    assert peak_tflops("NVIDIA H100 80GB HBM3", torch.bfloat16) == 989.4
    assert peak_tflops("NVIDIA H100 PCIe", torch.float16) == 756.5
    assert peak_tflops("NVIDIA A100-SXM4-40GB", torch.bfloat16) == 312.0
    assert peak_tflops("NVIDIA H100 80GB HBM3", torch.float32) is None
    assert peak_tflops("Some Future GPU", torch.bfloat16) is None


# --- the command -----------------------------------------------------------------------------------


def test_bench_cli_compares_fused_and_sequential(tiny_models, tmp_path):
    """`kfbench bench --compare-sequential` in-process: the report's figures and the comparison's fields."""
    out = tmp_path / "bench.json"
    code, stdout, stderr = run_main(
        "bench",
        "--method",
        "ours",
        "--model",
        tiny_models["svd"],
        "--checkpoint",
        tiny_models["ours-delta"],
        "--height",
        "64",
        "--width",
        "96",
        "--num-inference-steps",
        "2",
        "--recurrence",
        "1",
        "--num-frames",
        "8",
        "--compare-sequential",
        "--warmup",
        "0",
        "--json",
        out,
        "--quiet",
    )
    assert code == 0, stderr
    assert "fused vs sequential" in stdout and "FLOPs per call" in stdout
    report = json.loads(out.read_text())
    fused, sequential = report["runs"]["fused"], report["runs"]["sequential"]
    assert fused["unet_calls"] == sequential["unet_calls"] == 6 == report["flops"]["calls_per_video"]
    assert (fused["unet_forwards"], sequential["unet_forwards"]) == (3, 6)
    assert report["flops"]["total"] == 6 * report["flops"]["per_call"] > 0
    assert report["flops"]["cfg_batch"] == 2 and report["peak_tflops"] is None  # CPU: no peak figure
    for run in (fused, sequential):
        assert 0 < run["unet_s"] < run["wall_s"] and run["peak_memory_bytes"] > 0
        assert run["tflops_per_s"] == pytest.approx(report["flops"]["total"] / run["wall_s"] / 1e12)
    comparison = report["comparison"]
    assert comparison["max_abs_diff_latents"] < 1e-3 and comparison["max_abs_diff_frames"] <= 1
    assert comparison["speedup"] == pytest.approx(sequential["wall_s"] / fused["wall_s"])


def test_bench_rejects_what_it_cannot_measure(tiny_models):
    with pytest.raises(KfbenchError, match="no fused call"):
        bench.run_bench("svd", {"model": str(tiny_models["svd"])}, compare_sequential=True)
    with pytest.raises(KfbenchError, match="has none"):
        bench.run_bench("linear", {})
    with pytest.raises(KfbenchError, match="unknown option --num-steps"):
        bench.method_options("ours", {"num_steps": "3"})


def test_bench_measures_vibid_sequential_directions(tiny_models):
    report = bench.run_bench("vibid", {"model": str(tiny_models["svd"]), **FAST}, num_frames=8, warmup=0)
    run = report["runs"]["single"]
    assert run["unet_calls"] == report["flops"]["calls_per_video"] == 2 * FAST["num_inference_steps"]
    assert run["unet_forwards"] == run["unet_calls"] and report["flops"]["cfg_batch"] == 2
    with pytest.raises(KfbenchError, match="no fused call"):
        bench.run_bench("vibid", {"model": str(tiny_models["svd"]), **FAST}, compare_sequential=True)
