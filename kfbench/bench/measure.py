"""`kfbench bench`: UNet calls, FLOPs, wall time, throughput and peak memory of one video of an SVD-family method.

FLOPs are counted with torch's FlopCounterMode on a weightless copy of the UNet (meta device),
once per CFG-batched call at the run's shape, and multiplied by the number of calls. On the meta
device scaled-dot-product attention runs as its math decomposition, so the attention matmuls
(QK^T and AV, reported separately) are counted too; the reference figure of 128.7 TFLOP per
SVD-XT call at 1024x576x25 is the count without them (see README, Performance).
"""

from __future__ import annotations

import json
import platform
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kfbench.errors import KfbenchError
from kfbench.methods.svd.model import vae_scale_factor
from kfbench.registry import coerce_option, create_dataset, create_method, option_names
from kfbench.utils.atomicio import write_text
from kfbench.utils.userfiles import read_json_object

# Dense (no sparsity) fp16/bf16 tensor-core peak TFLOP/s, from NVIDIA's product datasheets, which
# quote the figures with 2:4 sparsity (halved here): H100 SXM 1,979 / PCIe 1,513 / NVL 1,671,
# H200 1,979, A100 624, L40S 733, L4 242. Matched against torch.cuda.get_device_name in order.
PEAK_TFLOPS_16BIT = (
    ("H100 NVL", 835.5),
    ("H100 PCIe", 756.5),
    ("H100", 989.4),  # SXM5 ("NVIDIA H100 80GB HBM3")
    ("H200", 989.4),
    ("A100", 312.0),
    ("L40S", 366.5),
    ("L4", 121.0),
)
H100_SXM_TFLOPS = 989.4
SVD_XT_VAE_CONFIG = {"block_out_channels": [128, 256, 512, 512]}  # from the hub's vae/config.json (scale factor 8)
HALF_DTYPES = (torch.float16, torch.bfloat16)
ATTENTION_OPS = ("bmm", "baddbmm", "scaled_dot_product", "flash_attention", "efficient_attention")


def peak_tflops(device_name: str, dtype: torch.dtype) -> float | None:
    """Dense 16-bit peak of a known GPU for fp16/bf16 runs; None when unknown (CPU, float32, unlisted GPU)."""
    if dtype not in HALF_DTYPES:
        return None
    for key, tflops in PEAK_TFLOPS_16BIT:
        if key in device_name:
            return tflops
    return None


@dataclass(frozen=True)
class UNetFlops:
    """FLOPs of one CFG-batched UNet call."""

    total: int
    attention: int  # the attention matmuls QK^T and AV (spatial, temporal and cross)
    by_op: dict[str, int]

    @property
    def without_attention(self) -> int:
        return self.total - self.attention


def unet_config(model: str) -> tuple[dict[str, Any], str]:
    """The UNet config of ``model`` (no weights read) and where it came from.

    The default hub id uses diffusers' default UNetSpatioTemporalConditionModel config, which is
    SVD-XT's published ``unet/config.json``; other models read ``unet/config.json``.
    """
    from kfbench.methods.svd.loading import DEFAULT_MODEL
    from kfbench.utils.hub import resolve_model_dir

    if model == DEFAULT_MODEL:
        return {}, "SVD-XT (diffusers' default UNetSpatioTemporalConditionModel config)"
    path = resolve_model_dir(model, allow_patterns=["unet/config.json"]) / "unet" / "config.json"
    if not path.is_file():
        raise KfbenchError(f"no unet/config.json in '{model}'; pass a diffusers SVD folder with --model")
    return read_json_object(path, "UNet config"), str(path)


def vae_scale(model: str) -> int:
    """The VAE scale factor of ``model`` from ``vae/config.json`` (no weights read); SVD-XT's for the default hub id."""
    from kfbench.methods.svd.loading import DEFAULT_MODEL
    from kfbench.utils.hub import resolve_model_dir

    if model == DEFAULT_MODEL:
        return vae_scale_factor(SVD_XT_VAE_CONFIG)
    path = resolve_model_dir(model, allow_patterns=["vae/config.json"]) / "vae" / "config.json"
    if not path.is_file():
        raise KfbenchError(f"no vae/config.json in '{model}'; pass a diffusers SVD folder with --model")
    return vae_scale_factor(json.loads(path.read_text()))


def count_unet_flops(
    config: dict[str, Any],
    *,
    batch: int,
    num_frames: int,
    height: int,
    width: int,
    vae_scale: int = vae_scale_factor(SVD_XT_VAE_CONFIG),
) -> UNetFlops:
    """FlopCounterMode over one UNet forward on the meta device: no weights, no memory, seconds of CPU even for
    SVD-XT."""
    from diffusers import UNetSpatioTemporalConditionModel
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        unet = UNetSpatioTemporalConditionModel.from_config(config)
    unet.to("meta")  # AlphaBlender creates its mix factor with torch.Tensor([...]), which ignores the default device
    c = unet.config
    ids = c.projection_class_embeddings_input_dim // c.addition_time_embed_dim
    sample = torch.empty(batch, num_frames, c.in_channels, height // vae_scale, width // vae_scale, device="meta")
    context = torch.empty(batch, 1, c.cross_attention_dim, device="meta")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        unet(
            sample,
            torch.tensor(1.0, device="meta"),
            encoder_hidden_states=context,
            added_time_ids=torch.empty(batch, ids, device="meta"),
            return_dict=False,
        )
    by_op = {str(op).removeprefix("aten."): int(n) for op, n in counter.get_flop_counts()["Global"].items()}
    attention = sum(n for op, n in by_op.items() if any(a in op for a in ATTENTION_OPS))
    return UNetFlops(total=int(counter.get_total_flops()), attention=attention, by_op=by_op)


def method_options(method: str, flags: dict[str, str]) -> dict[str, Any]:
    """Command-line strings -> the method's typed options (as `kfbench run` takes them)."""
    names = option_names("method", method)
    unknown = sorted(set(flags) - names)
    if unknown:
        valid = ", ".join("--" + n.replace("_", "-") for n in sorted(names))
        raise KfbenchError(f"unknown option --{unknown[0].replace('_', '-')} for method '{method}'; valid: {valid}")
    return {name: coerce_option("method", method, name, text) for name, text in flags.items()}


def keyframes(num_frames: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The first synthetic pair's keyframes at the method's frame size."""
    data = create_dataset("synthetic", num_pairs=1, num_frames=num_frames, height=height, width=width)
    pair = data.load(data.pair_ids()[0])
    return pair.first, pair.last


class UNetTimer:
    """Counts UNet forwards and the time spent in them (forward hooks; CUDA synchronised)."""

    def __init__(self, unet: torch.nn.Module | tuple[torch.nn.Module, ...], device: str) -> None:
        self.cuda = device.startswith("cuda")
        self.forwards, self.seconds, self._start = 0, 0.0, 0.0
        modules = (unet,) if isinstance(unet, torch.nn.Module) else unet  # several: e.g. Wan 2.2's two experts
        self._hooks = [
            h
            for m in modules
            for h in (m.register_forward_pre_hook(self._before), m.register_forward_hook(self._after))
        ]

    def _sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def _before(self, *_: Any) -> None:
        self._sync()
        self._start = time.perf_counter()

    def _after(self, *_: Any) -> None:
        self._sync()
        self.forwards += 1
        self.seconds += time.perf_counter() - self._start

    def reset(self) -> None:
        self.forwards, self.seconds = 0, 0.0

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()


def peak_memory(device: str) -> tuple[int, str]:
    if device.startswith("cuda"):
        return int(torch.cuda.max_memory_allocated()), "cuda max allocated"
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "process max RSS (whole process so far)"


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


def run_bench(
    method_name: str,
    options: dict[str, Any],
    *,
    num_frames: int = 25,
    seed: int = 0,
    compare_sequential: bool = False,
    flops_only: bool = False,
    repeats: int = 1,
    warmup: int = 1,
) -> dict[str, Any]:
    """Benchmark one video of ``method_name``; returns the report as a JSON-able dict."""
    from kfbench.methods.keyframe import KeyframePipelineInterpolator
    from kfbench.methods.keyframe.bench import bench_keyframe
    from kfbench.methods.svd.interpolator import SVDInterpolator
    from kfbench.methods.svd.model import resolve_dtype
    from kfbench.methods.svd.vibid import ViBiDInterpolator
    from kfbench.utils.devices import resolve_device

    if num_frames < 2 or repeats < 1 or warmup < 0:
        raise KfbenchError("bench: need --num-frames >= 2, --repeats >= 1 and --warmup >= 0")
    method = create_method(method_name, **options)
    if isinstance(method, KeyframePipelineInterpolator):
        if compare_sequential:
            raise KfbenchError(
                f"'{method_name}' runs its pipeline's own loop: there is no fused call to compare; drop "
                "--compare-sequential"
            )
        return bench_keyframe(
            method, num_frames=num_frames, seed=seed, flops_only=flops_only, repeats=repeats, warmup=warmup
        )
    if not isinstance(method, (SVDInterpolator, ViBiDInterpolator)):
        raise KfbenchError(
            "kfbench bench measures the SVD family's UNet (ours, ours-wo-ft, ours-wo-ra, trf, svd, vibid) and the "
            f"keyframe pipelines' transformers (wan-flf2v, wan22-flf2v); '{method_name}' has none"
        )
    fusable = isinstance(method, SVDInterpolator) and method.bidirectional
    if compare_sequential and not fusable:
        raise KfbenchError(
            f"'{method_name}' runs one direction per step: there is no fused call to compare; drop --compare-sequential"
        )
    device = resolve_device(method.device)
    dtype = resolve_dtype(method.dtype, device)
    cfg = not isinstance(method, SVDInterpolator) or method.max_guidance_scale > 1  # vibid always batches CFG
    calls = method.unet_calls_per_video()
    report: dict[str, Any] = {
        "method": method_name,
        "options": method.options,
        "num_frames": num_frames,
        "height": method.height,
        "width": method.width,
        "device": device,
        "device_name": torch.cuda.get_device_name(device)
        if device.startswith("cuda")
        else platform.processor() or "cpu",
        "dtype": str(dtype).removeprefix("torch."),
        "torch_threads": torch.get_num_threads(),
    }
    if flops_only:
        (config, source), scale = unet_config(method.model), vae_scale(method.model)
    else:
        pipe = method.loaded().pipe
        config, source, scale = dict(pipe.unet.config), method.model, vae_scale_factor(pipe.vae.config)
    flops = count_unet_flops(
        config, batch=2 if cfg else 1, num_frames=num_frames, height=method.height, width=method.width, vae_scale=scale
    )
    report["unet_config"] = source
    report["flops"] = {
        "per_call": flops.total,
        "per_call_attention_matmuls": flops.attention,
        "per_call_without_attention_matmuls": flops.without_attention,
        "per_call_by_op": flops.by_op,
        "cfg_batch": 2 if cfg else 1,
        "calls_per_video": calls,
        "total": flops.total * calls,
        "total_without_attention_matmuls": flops.without_attention * calls,
    }
    report["floor_s_h100_sxm"] = flops.total * calls / H100_SXM_TFLOPS / 1e12
    peak = peak_tflops(report["device_name"], dtype) if device.startswith("cuda") else None
    report["peak_tflops"] = peak
    if peak is None:
        report["peak_tflops_note"] = "unknown for this device/dtype (table: dense fp16/bf16 of listed NVIDIA GPUs)"
    if flops_only:
        return report

    first, last = keyframes(num_frames, method.height, method.width)
    timer = None if getattr(method, "compile", False) else UNetTimer(method.loaded().pipe.unet, device)
    paths = [True, False] if compare_sequential else [fusable and method.fused_call]
    configured = paths[0]
    runs: dict[str, dict[str, Any]] = {}
    outputs: dict[str, tuple[np.ndarray, torch.Tensor]] = {}
    try:
        for _ in range(warmup):
            for fused in paths:  # each path warms its own kernels (and, with compile, its own graphs)
                _set_fused(method, fused)
                method.interpolate(first, last, num_frames=num_frames, seed=seed)
        for _ in range(repeats):
            for fused in paths:  # alternate the paths so that drift in machine load hits both
                name = ("fused" if fused else "sequential") if fusable else "single"
                _set_fused(method, fused)
                run, frames, latents = _timed_video(method, first, last, num_frames, seed, device, timer, flops, peak)
                best = runs.get(name)
                if best is None or run["wall_s"] < best["wall_s"]:
                    runs[name] = run
                outputs[name] = (frames, latents)
    finally:
        _set_fused(method, configured)
        if timer is not None:
            timer.remove()
    report["runs"] = runs
    report["repeats"], report["warmup"] = repeats, warmup
    if compare_sequential:
        (fa, la), (sa, ls) = outputs["fused"], outputs["sequential"]
        report["comparison"] = {
            "speedup": runs["sequential"]["wall_s"] / runs["fused"]["wall_s"],
            "cpu_time_speedup": runs["sequential"]["cpu_s"] / runs["fused"]["cpu_s"],
            "unet_speedup": runs["sequential"]["unet_s"] / runs["fused"]["unet_s"] if timer else None,
            "max_abs_diff_latents": float((la - ls).abs().max()),
            "max_abs_diff_frames": int(np.abs(fa.astype(np.int16) - sa.astype(np.int16)).max()),
        }
    return report


def _timed_video(method, first, last, num_frames, seed, device, timer, flops: UNetFlops, peak: float | None):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    if timer is not None:
        timer.reset()
    with capture_latents(method) as captured:
        start, cpu_start = time.perf_counter(), time.process_time()
        frames = method.interpolate(first, last, num_frames=num_frames, seed=seed)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    memory, memory_kind = peak_memory(device)
    calls = method.stats["unet_calls"]
    total = flops.total * calls
    run: dict[str, Any] = {
        "fused_call": bool(getattr(method, "fused_call", False)),
        "unet_calls": calls,
        "unet_forwards": timer.forwards if timer else None,
        "wall_s": wall,
        "cpu_s": cpu,  # this process's CPU time (all threads): steadier than wall time on a shared machine
        "unet_s": timer.seconds if timer else None,
        "tflops_per_s": total / wall / 1e12,
        "unet_tflops_per_s": total / timer.seconds / 1e12 if timer and timer.seconds else None,
        "peak_memory_bytes": memory,
        "peak_memory_kind": memory_kind,
    }
    if peak is not None:
        run["fraction_of_peak"] = (run["unet_tflops_per_s"] or run["tflops_per_s"]) / peak
    return run, frames, captured["latents"]


def format_report(report: dict[str, Any]) -> str:
    """Human-readable lines of a bench report."""
    if report.get("family") == "keyframe":
        from kfbench.methods.keyframe.bench import format_keyframe_report

        return format_keyframe_report(report)
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


def write_json(report: dict[str, Any], path: Path) -> None:
    """The report as JSON, replacing ``path`` atomically."""
    write_text(path, json.dumps(report, indent=2, default=str) + "\n")
