"""`kfbench bench` for the keyframe methods: denoiser calls, FLOPs at the real config, parameters, memory, wall time.

FLOPs of one transformer call are counted with FlopCounterMode on a weightless copy (meta device)
built from the real configuration (:mod:`kfbench.methods.keyframe.configs`) with the inputs the
pipeline gives it at the run's size and frame count (each model class's
``meta_transformer_inputs``); calls per video follow each pipeline's rules (``denoiser_calls``).
Memory is computed from parameter counts and dtypes.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from typing import Any

import torch

from kfbench.bench.device import H100_SXM_TFLOPS
from kfbench.bench.flops import FlopCount, count_flops, linear_in_blocks
from kfbench.bench.measure import BenchHooks, BenchRequest
from kfbench.bench.timing import keyframes, timed_video
from kfbench.errors import KfbenchError
from kfbench.methods.keyframe.configs import REAL_PIPELINES
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator
from kfbench.registry import create_method

BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


def real_pipeline(model: str) -> dict[str, Any]:
    """The embedded real configuration of a hub id the presets use."""
    if model not in REAL_PIPELINES:
        raise KfbenchError(f"no embedded configuration for '{model}'; known: {', '.join(REAL_PIPELINES)}")
    return REAL_PIPELINES[model]


def build_component(
    library: str,
    class_name: str,
    config: dict[str, Any],
    *,
    device: str | torch.device = "meta",
    dtype: torch.dtype | None = None,
) -> torch.nn.Module:
    """A network of ``config`` with random (on the meta device: no) weights on ``device``, cast to ``dtype`` if
    given."""
    cls = getattr(importlib.import_module(library), class_name)
    with torch.device(device):
        if library.split(".")[0] == "diffusers":
            module = cls.from_config(config)
        else:
            module = cls(cls.config_class(**config))
    return (module if dtype is None else module.to(dtype=dtype)).eval()


def build_real_transformer(
    model: str, *, device: str | torch.device = "meta", dtype: torch.dtype = torch.bfloat16, name: str = "transformer"
) -> torch.nn.Module:
    """The real-config transformer (or ``transformer_2``) of ``model`` on ``device``: random weights, or none on
    meta."""
    library, class_name, config, _ = real_pipeline(model)[name]
    return build_component(library, class_name, config, device=device, dtype=dtype)


def transformer_config(method: KeyframePipelineInterpolator) -> tuple[dict[str, Any], str]:
    """The transformer config of the method's model (embedded for the presets' hub ids, else its folder's) and its
    source."""
    if method.model in REAL_PIPELINES:
        return REAL_PIPELINES[method.model]["transformer"][2], f"{method.model} (embedded real config)"
    from kfbench.methods.keyframe.loading import model_folder, read_json

    path = model_folder(method.model) / "transformer" / "config.json"
    return read_json(path, method.model), str(path)


def count_transformer_flops(
    method: KeyframePipelineInterpolator, config: dict[str, Any], frames: int
) -> dict[str, Any]:
    """FLOPs of one transformer call at the method's size and ``frames`` frames, on the meta device (its identical
    blocks counted once and multiplied: ``linear_in_blocks``)."""
    cls = getattr(importlib.import_module("diffusers"), method.transformer_class)

    def count(blocks: dict[str, Any]) -> FlopCount:
        with torch.device("meta"):
            transformer = cls.from_config(blocks)
            inputs = method.meta_transformer_inputs(blocks, frames)
            return count_flops(lambda: transformer(**inputs, return_dict=False))

    flops = linear_in_blocks(count, config)
    return {"per_call": flops.total, "per_call_attention_matmuls": flops.attention, "per_call_by_op": flops.by_op}


def scheduler_from_config(config: dict[str, Any]) -> Any:
    """The scheduler a folder's (or the embedded) scheduler config names."""
    return getattr(importlib.import_module("diffusers"), config["_class_name"]).from_config(config)


@cache
def parameter_counts(library: str, class_name: str, config_json: str) -> tuple[int, int]:
    """(all parameters, the largest one module holds directly) of a network, built on the meta device."""
    module = build_component(library, class_name, json.loads(config_json))
    leaves = (sum(p.numel() for p in m.parameters(recurse=False)) for m in module.modules())
    return sum(p.numel() for p in module.parameters()), max(leaves)


def parameters_and_memory(model: str, dtype: str) -> dict[str, Any]:
    """Parameter counts of every network of ``model`` and the weight memory with and without offloading.

    Without offloading every network sits on the GPU; ``model`` offload holds one network at a
    time (the largest bounds it); ``sequential`` one module's own weights at a time.
    """
    components, weights, largest_leaf = {}, {}, 0
    for name, spec in real_pipeline(model).items():
        if not isinstance(spec, tuple):
            continue
        library, class_name, config, default_dtype = spec
        count, leaf = parameter_counts(library, class_name, json.dumps(config, sort_keys=True))
        component_dtype = dtype if default_dtype != "float32" else "float32"
        components[name] = {"parameters": count, "dtype": component_dtype}
        weights[name] = count * BYTES[component_dtype]
        largest_leaf = max(largest_leaf, leaf * BYTES[component_dtype])
    total = sum(weights.values())
    return {
        "components": components,
        "parameters_total": sum(c["parameters"] for c in components.values()),
        "weights_bytes": weights,
        "gpu_weights_bytes": {"none": total, "model": max(weights.values()), "sequential": largest_leaf},
        "cpu_ram_bytes_with_offload": total,
    }


def bench_keyframe(method: KeyframePipelineInterpolator, request: BenchRequest) -> dict[str, Any]:
    """The bench report of one keyframe method (flops_only: no weights are loaded)."""
    if request.compare_sequential:
        raise KfbenchError(
            f"'{method.name}' runs its pipeline's own loop: there is no fused call to compare; "
            "drop --compare-sequential"
        )
    num_frames = request.num_frames
    frames = method.frames_for(num_frames)
    if request.flops_only:
        config, source = transformer_config(method)
        real = REAL_PIPELINES.get(method.model)
        scheduler_config = real["scheduler"] if real else _folder_json(method, "scheduler/scheduler_config.json")
        boundary = real["boundary_ratio"] if real else _folder_json(method, "model_index.json").get("boundary_ratio")
    else:
        pipe = method.pipeline()
        config, source = dict(pipe.transformer.config), method.model
        scheduler_config = {"_class_name": type(pipe.scheduler).__name__, **pipe.scheduler.config}
        boundary = pipe.config.get("boundary_ratio")
    calls = method.denoiser_calls(scheduler_from_config(scheduler_config), boundary, frames)
    flops: dict[str, Any] = {"calls_per_video": sum(calls.values()), "calls_by_denoiser": calls}
    if method.flops_unavailable:
        flops["missing"] = method.flops_unavailable
    else:
        flops.update(count_transformer_flops(method, config, frames))
        flops["passes"] = method.flops_passes(calls)  # calls, counted at the batch the FLOPs were counted at
        flops["total"] = flops["per_call"] * flops["passes"]
    report: dict[str, Any] = {
        "family": "keyframe",
        "method": method.name,
        "options": method.options,
        "num_frames": num_frames,
        "video_frames": frames,
        "frames_returned": len(method.output_times(num_frames)),
        "height": method.height,
        "width": method.width,
        "device": method.device,
        "dtype": method.dtype,
        "transformer_config": source,
        "flops": flops,
    }
    if "total" in flops:
        report["floor_s_h100_sxm"] = flops["total"] / H100_SXM_TFLOPS / 1e12
    if method.model in REAL_PIPELINES:
        report["memory"] = parameters_and_memory(method.model, method.dtype)
    if request.flops_only:
        return report
    pair = keyframes(num_frames, method.height, method.width)
    for _ in range(request.warmup):
        method.interpolate(*pair, num_frames=num_frames, seed=request.seed)
    best: dict[str, Any] | None = None
    for _ in range(request.repeats):
        _, timed = timed_video(method, pair, num_frames, seed=request.seed, device=method.device)
        wall = timed["wall_s"]
        run = {
            "wall_s": wall,
            "transformer_calls": method.stats["transformer_calls"],
            "calls_by_denoiser": method.stats["calls_by_denoiser"],
            "peak_memory_bytes": timed["peak_memory_bytes"],
            "peak_memory_kind": timed["peak_memory_kind"],
            "tflops_per_s": flops["per_call"] * method.stats["transformer_calls"] / wall / 1e12
            if "per_call" in flops
            else None,
        }
        best = run if best is None or wall < best["wall_s"] else best
    report["run"] = best
    return report


def _folder_json(method: KeyframePipelineInterpolator, name: str) -> dict[str, Any]:
    from kfbench.methods.keyframe.loading import model_folder, read_json

    return read_json(model_folder(method.model) / name, method.model)


def format_keyframe_report(report: dict[str, Any]) -> str:
    """Human-readable lines of a keyframe bench report."""
    f = report["flops"]
    lines = [
        f"{report['method']}: {report['video_frames']} frames asked ({report['frames_returned']} returned) at "
        f"{report['width']}x{report['height']} (benchmark asks {report['num_frames']}), {report['device']}, "
        f"{report['dtype']}, transformer config {report['transformer_config']}",
        f"transformer calls per video: {f['calls_per_video']} "
        f"({', '.join(f'{k} {v}' for k, v in f['calls_by_denoiser'].items())})",
    ]
    if "missing" in f:
        lines.append(f"FLOPs: missing ({f['missing']})")
    else:
        lines.append(
            f"FLOPs per call: {f['per_call'] / 1e12:.4g} TFLOP (attention matmuls "
            f"{f['per_call_attention_matmuls'] / 1e12:.4g})"
        )
        lines.append(
            f"FLOPs per video: {f['total'] / 1e15:.4g} PFLOP; at an H100 SXM's peak: {report['floor_s_h100_sxm']:.3g} s"
        )
    if "memory" in report:
        m = report["memory"]
        gib = {k: v / 2**30 for k, v in m["gpu_weights_bytes"].items()}
        lines.append(
            f"parameters: {m['parameters_total'] / 1e9:.2f} B ("
            + ", ".join(f"{k} {c['parameters'] / 1e9:.3g} B {c['dtype']}" for k, c in m["components"].items())
            + ")"
        )
        lines.append(
            f"GPU memory for weights: {gib['none']:.1f} GiB without offloading, {gib['model']:.1f} GiB with "
            f"--cpu-offload model, {gib['sequential']:.2f} GiB with sequential (CPU RAM "
            f"{m['cpu_ram_bytes_with_offload'] / 2**30:.1f} GiB); activations come on top"
        )
    if "run" in report:
        r = report["run"]
        rate = f", {r['tflops_per_s']:.4g} TFLOP/s" if r["tflops_per_s"] is not None else ""
        lines.append(
            f"run: {r['transformer_calls']} calls, wall {r['wall_s']:.3f} s{rate}, "
            f"peak memory {r['peak_memory_bytes'] / 2**30:.2f} GiB ({r['peak_memory_kind']})"
        )
    return "\n".join(lines)


KEYFRAME_BENCH = BenchHooks(run=bench_keyframe, format=format_keyframe_report)


def flops_row(name: str, options: dict[str, Any], num_frames: int) -> dict[str, Any]:
    """Calls and FLOPs of one video of a keyframe method at its real config, on the meta device (no weights)."""
    method = create_method(name, **options)
    flops = bench_keyframe(method, BenchRequest(num_frames=num_frames, flops_only=True))["flops"]
    if "missing" in flops:
        return {
            "method": name,
            "network": "transformer",
            "calls": flops["calls_per_video"],
            "flops": None,
            "flops_missing": flops["missing"],
        }
    calls = flops["calls_per_video"]
    return {
        "method": name,
        "network": "transformer",
        "calls": calls,
        "flops_per_call": flops["per_call"],
        "flops_per_video": flops["total"],
        "flops_per_video_without_attention_matmuls": flops["total"]
        - flops["per_call_attention_matmuls"] * flops["passes"],
    }
