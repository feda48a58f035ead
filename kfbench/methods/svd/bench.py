"""`kfbench bench` for the SVD family: UNet calls, FLOPs, wall time, throughput and peak memory of one video.

FLOPs are counted with FlopCounterMode on a weightless copy of the UNet (meta device), once per
CFG-batched call at the run's shape, and multiplied by the number of calls. The attention matmuls
(QK^T and AV) are reported separately; the reference figure of 128.7 TFLOP per SVD-XT call at
1024x576x25 is the count without them (see README, Performance).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from kfbench.bench.device import H100_SXM_TFLOPS, device_name, peak_tflops
from kfbench.bench.flops import FlopCount
from kfbench.bench.measure import BenchHooks, BenchRequest
from kfbench.bench.randommethods import RANDOM_CHECKPOINT
from kfbench.bench.timing import NetworkTimer, keyframes, timed_video
from kfbench.errors import KfbenchError
from kfbench.methods.svd.flops import SVD_XT_VAE_SCALE, cfg_batch, count_unet_flops
from kfbench.methods.svd.interpolator import SVDInterpolator
from kfbench.methods.svd.loading import DEFAULT_MODEL
from kfbench.methods.svd.model import resolve_dtype, vae_scale_factor
from kfbench.registry import create_method, lookup, method_presets
from kfbench.utils.devices import resolve_device
from kfbench.utils.userfiles import read_json_object


def unet_config(model: str) -> tuple[dict[str, Any], str]:
    """The UNet config of ``model`` (no weights read) and where it came from.

    The default hub id uses diffusers' default UNetSpatioTemporalConditionModel config, which is
    SVD-XT's published ``unet/config.json``; other models read ``unet/config.json``.
    """
    from kfbench.utils.hub import resolve_model_dir

    if model == DEFAULT_MODEL:
        return {}, "SVD-XT (diffusers' default UNetSpatioTemporalConditionModel config)"
    path = resolve_model_dir(model, allow_patterns=["unet/config.json"]) / "unet" / "config.json"
    if not path.is_file():
        raise KfbenchError(f"no unet/config.json in '{model}'; pass a diffusers SVD folder with --model")
    return read_json_object(path, "UNet config"), str(path)


def vae_scale(model: str) -> int:
    """The VAE scale factor of ``model`` from ``vae/config.json`` (no weights read); SVD-XT's for the default hub id."""
    from kfbench.utils.hub import resolve_model_dir

    if model == DEFAULT_MODEL:
        return SVD_XT_VAE_SCALE
    path = resolve_model_dir(model, allow_patterns=["vae/config.json"]) / "vae" / "config.json"
    if not path.is_file():
        raise KfbenchError(f"no vae/config.json in '{model}'; pass a diffusers SVD folder with --model")
    return vae_scale_factor(json.loads(path.read_text()))


@contextmanager
def capture_latents(method) -> Iterator[dict[str, torch.Tensor]]:
    """Keep the sampled latents the method hands to its VAE decoder."""
    captured: dict[str, torch.Tensor] = {}
    model = method.loaded()
    decode = model.decode

    def keep(z: torch.Tensor, num_frames: int, chunk: int | None) -> np.ndarray:
        captured["latents"] = z.detach().float().cpu()
        return decode(z, num_frames, chunk)

    model.decode = keep
    try:
        yield captured
    finally:
        del model.decode  # back to the class's method


def _set_fused(method, fused: bool) -> None:
    """Switch an SVD-family method between its fused and sequential paths (vibid has only one)."""
    if hasattr(method, "fused_call"):
        method.fused_call = fused


def bench_svd(method: Any, request: BenchRequest) -> dict[str, Any]:
    """The bench report of one SVD-family method (flops_only: no weights are loaded)."""
    fusable = isinstance(method, SVDInterpolator) and method.bidirectional
    if request.compare_sequential and not fusable:
        raise KfbenchError(
            f"'{method.name}' runs one direction per step: there is no fused call to compare; drop --compare-sequential"
        )
    device = resolve_device(method.device)
    dtype = resolve_dtype(method.dtype, device)
    cfg = cfg_batch(method)
    calls = method.unet_calls_per_video()
    num_frames = request.num_frames
    report: dict[str, Any] = {
        "method": method.name,
        "options": method.options,
        "num_frames": num_frames,
        "height": method.height,
        "width": method.width,
        "device": device,
        "device_name": device_name(device),
        "dtype": str(dtype).removeprefix("torch."),
        "torch_threads": torch.get_num_threads(),
    }
    if request.flops_only:
        (config, source), scale = unet_config(method.model), vae_scale(method.model)
    else:
        pipe = method.loaded().pipe
        config, source, scale = dict(pipe.unet.config), method.model, vae_scale_factor(pipe.vae.config)
    flops = count_unet_flops(
        config, batch=cfg, num_frames=num_frames, height=method.height, width=method.width, vae_scale=scale
    )
    report["unet_config"] = source
    report["flops"] = {
        "per_call": flops.total,
        "per_call_attention_matmuls": flops.attention,
        "per_call_without_attention_matmuls": flops.without_attention,
        "per_call_by_op": flops.by_op,
        "cfg_batch": cfg,
        "calls_per_video": calls,
        "total": flops.total * calls,
        "total_without_attention_matmuls": flops.without_attention * calls,
    }
    report["floor_s_h100_sxm"] = flops.total * calls / H100_SXM_TFLOPS / 1e12
    peak = peak_tflops(report["device_name"], dtype) if device.startswith("cuda") else None
    report["peak_tflops"] = peak
    if peak is None:
        report["peak_tflops_note"] = "unknown for this device/dtype (table: dense fp16/bf16 of listed NVIDIA GPUs)"
    if request.flops_only:
        return report

    frames = keyframes(num_frames, method.height, method.width)
    timer = None if getattr(method, "compile", False) else NetworkTimer(method.loaded().pipe.unet, device)
    paths = [True, False] if request.compare_sequential else [fusable and method.fused_call]
    configured = paths[0]
    runs: dict[str, dict[str, Any]] = {}
    outputs: dict[str, tuple[np.ndarray, torch.Tensor]] = {}
    try:
        for _ in range(request.warmup):
            for fused in paths:  # each path warms its own kernels (and, with compile, its own graphs)
                _set_fused(method, fused)
                method.interpolate(*frames, num_frames=num_frames, seed=request.seed)
        for _ in range(request.repeats):
            for fused in paths:  # alternate the paths so that drift in machine load hits both
                name = ("fused" if fused else "sequential") if fusable else "single"
                _set_fused(method, fused)
                run, video, latents = _timed_run(method, frames, num_frames, request.seed, device, timer, flops, peak)
                best = runs.get(name)
                if best is None or run["wall_s"] < best["wall_s"]:
                    runs[name] = run
                outputs[name] = (video, latents)
    finally:
        _set_fused(method, configured)
        if timer is not None:
            timer.remove()
    report["runs"] = runs
    report["repeats"], report["warmup"] = request.repeats, request.warmup
    if request.compare_sequential:
        (fa, la), (sa, ls) = outputs["fused"], outputs["sequential"]
        report["comparison"] = {
            "speedup": runs["sequential"]["wall_s"] / runs["fused"]["wall_s"],
            "cpu_time_speedup": runs["sequential"]["cpu_s"] / runs["fused"]["cpu_s"],
            "unet_speedup": runs["sequential"]["unet_s"] / runs["fused"]["unet_s"] if timer else None,
            "max_abs_diff_latents": float((la - ls).abs().max()),
            "max_abs_diff_frames": int(np.abs(fa.astype(np.int16) - sa.astype(np.int16)).max()),
        }
    return report


def _timed_run(method, frames, num_frames, seed, device, timer, flops: FlopCount, peak: float | None):
    with capture_latents(method) as captured:
        video, timed = timed_video(method, frames, num_frames, seed=seed, device=device, timer=timer)
    calls = method.stats["unet_calls"]
    total = flops.total * calls
    wall = timed["wall_s"]
    run: dict[str, Any] = {
        "fused_call": bool(getattr(method, "fused_call", False)),
        "unet_calls": calls,
        "unet_forwards": timed["network_forwards"],
        "wall_s": wall,
        "cpu_s": timed["cpu_s"],
        "unet_s": timed["network_s"],
        "tflops_per_s": total / wall / 1e12,
        "unet_tflops_per_s": total / timer.seconds / 1e12 if timer and timer.seconds else None,
        "peak_memory_bytes": timed["peak_memory_bytes"],
        "peak_memory_kind": timed["peak_memory_kind"],
    }
    if peak is not None:
        run["fraction_of_peak"] = (run["unet_tflops_per_s"] or run["tflops_per_s"]) / peak
    return run, video, captured["latents"]


def format_svd_report(report: dict[str, Any]) -> str:
    """Human-readable lines of an SVD-family bench report."""
    f = report["flops"]
    lines = [
        f"{report['method']}: {report['num_frames']} frames at {report['width']}x{report['height']}, "
        f"{report['device']} ({report['device_name']}), {report['dtype']}, UNet config {report['unet_config']}",
        f"UNet calls per video (CFG-batched): {f['calls_per_video']}",
        f"FLOPs per call: {f['per_call'] / 1e12:.4g} TFLOP (attention matmuls "
        f"{f['per_call_attention_matmuls'] / 1e12:.4g}, "
        f"without them {f['per_call_without_attention_matmuls'] / 1e12:.4g})",
        f"FLOPs per video: {f['total'] / 1e15:.4g} PFLOP (without attention matmuls "
        f"{f['total_without_attention_matmuls'] / 1e15:.4g})",
    ]
    peak = report.get("peak_tflops")
    lines.append(
        f"device peak (dense 16-bit): {peak} TFLOP/s" if peak else f"device peak: {report.get('peak_tflops_note')}"
    )
    if peak:
        lines.append(f"time at peak: {f['total'] / peak / 1e12:.1f} s per video")
    lines.append(
        f"time at an H100 SXM's peak ({H100_SXM_TFLOPS} TFLOP/s): {report['floor_s_h100_sxm']:.3g} s per video"
    )
    for name, run in report.get("runs", {}).items():
        unet = f", UNet {run['unet_s']:.3f} s in {run['unet_forwards']} forwards" if run["unet_s"] is not None else ""
        rate = run["unet_tflops_per_s"] or run["tflops_per_s"]
        frac = f" ({run['fraction_of_peak']:.1%} of peak)" if "fraction_of_peak" in run else ""
        lines.append(
            f"{name}: {run['unet_calls']} calls, wall {run['wall_s']:.3f} s (CPU {run['cpu_s']:.3f} s){unet}, "
            f"{rate:.4g} TFLOP/s{frac}, "
            f"peak memory {run['peak_memory_bytes'] / 2**30:.2f} GiB ({run['peak_memory_kind']})"
        )
    if "comparison" in report:
        c = report["comparison"]
        unet = f" (UNet time {c['unet_speedup']:.2f}x)" if c["unet_speedup"] else ""
        lines.append(
            f"fused vs sequential: {c['speedup']:.2f}x faster{unet}, CPU time {c['cpu_time_speedup']:.2f}x; max abs "
            "difference: latents "
            f"{c['max_abs_diff_latents']:.3g}, frames {c['max_abs_diff_frames']} (uint8 levels)"
        )
    return "\n".join(lines)


SVD_BENCH = BenchHooks(run=bench_svd, format=format_svd_report)


def flops_row(name: str, options: dict[str, Any], num_frames: int) -> dict[str, Any]:
    """Calls and FLOPs of one video of an SVD-family method at SVD-XT's config, on the meta device (no weights)."""
    if lookup(method_presets(), name, "method").options.get("backward") == "finetuned":
        options = {"checkpoint": RANDOM_CHECKPOINT, **options}  # no weights are read
    method = create_method(name, **options)
    calls = method.unet_calls_per_video()
    config, _ = unet_config(DEFAULT_MODEL)
    flops = count_unet_flops(
        config, batch=cfg_batch(method), num_frames=num_frames, height=method.height, width=method.width
    )
    return {
        "method": name,
        "calls": calls,
        "flops_per_call": flops.total,
        "flops_per_video": flops.total * calls,
        "flops_per_video_without_attention_matmuls": flops.without_attention * calls,
    }
