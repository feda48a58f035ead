"""`kfbench bench --suite paper|tiny`: every method at its paper settings on random full-size weights, one video each.

Writes ``bench.json`` and ``bench.md`` (a table beside the published anchors) into the output
folder, atomically, after every entry, so a run cut short still leaves what it measured. The
``tiny`` suite runs the same path on tiny models (CPU, seconds; the tests use it). ``--levers``
adds a cumulative sweep of the SVD family's GPU levers on ``ours``: per-call time from the
difference of a 1-step and a 3-step video at the paper shape, extrapolated to the paper's 350 calls.
Entries too long to run whole within the budget (Wan's 14 B transformers at 81 x 720 x 1280) are
measured the same way: a 1-step and a 2-step video, extrapolated to the preset's calls per video.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from kfbench.bench.measure import UNetTimer, count_unet_flops, keyframes, peak_memory, peak_tflops
from kfbench.bench.randommethods import Size, Subject, random_method
from kfbench.errors import KfbenchError
from kfbench.methods.svd.levers import Levers, apply, fast, sweep
from kfbench.registry import option_names
from kfbench.utils.atomicio import write_text
from kfbench.utils.dtypes import DTYPES


@dataclass(frozen=True)
class Entry:
    """One method at its settings: preset options overridden by ``options``, ``num_frames`` frames."""

    method: str
    options: dict[str, Any] = field(default_factory=dict)
    num_frames: int = 25
    extrapolate: bool = False  # time a 1-step and a 2-step video; extrapolate the per-call time to the whole video


PAPER = {"height": 576, "width": 1024}
TINY = {"height": 64, "width": 96, "num_inference_steps": 2}
TINY_VIDEO = {
    "height": 32,
    "width": 32,
    "num_inference_steps": 2,
}  # the tiny keyframe pipelines (kfbench.methods.keyframe.tiny)
SVD_FAMILY = ("ours", "ours-wo-ft", "ours-wo-ra", "trf", "svd", "vibid")
SUITES: dict[str, tuple[Size, tuple[Entry, ...]]] = {
    # paper settings: 1024x576, 25 frames, 50 steps, recurrence 5 over the first half (ours: 350 CFG-batched calls);
    # ViBiDSampler 25 steps; FILM 25 frames by its greedy schedule; DynamiCrafter 512: 16 frames at 512x320, DDIM 50.
    "paper": ("full", (
        *(Entry(name, PAPER) for name in ("ours", "vibid")),
        Entry("dynamicrafter", {}, 16),
        Entry("film", {}, 25),
        *(Entry(name, PAPER) for name in ("svd", "trf", "ours-wo-ft", "ours-wo-ra")),
        # keyframe methods at their presets' documented settings (random full-size weights, bfloat16 on a GPU):
        # LTX-Video 161 frames at 768x512 (30 CFG-batched steps; distilled: 8 timesteps), FramePack 91 frames asked at
        # 512x512 (3 sections x 30 steps); Wan 2.1 FLF2V (50 steps) and Wan 2.2 A14B (40 steps), 81 frames at 1280x720
        # with separate cond/uncond calls: 100 and 80 calls of a 14 B transformer, measured from a 1- and a 2-step
        # video.
        Entry("ltx-video-distilled", {}, 161),
        Entry("ltx-video", {}, 161),
        Entry("framepack", {}, 91),
        Entry("wan-flf2v", {}, 81, extrapolate=True),
        Entry("wan22-flf2v", {}, 81, extrapolate=True),
        # LTX-2 121 frames at 768x512 (30 steps x 3 calls: CFG-batched, STG, modality), SkyReels-V2 FLF2V 1.3B 97
        # frames at 960x544 (100 calls), DF 14B 97 frames at 1280x720 (100 calls, extrapolated), Wan VACE 81 frames
        # (60 calls)
        Entry("ltx2", {}, 121),
        Entry("skyreels-v2", {}, 97),
        Entry("skyreels-v2-df", {}, 97, extrapolate=True),
        Entry("wan-vace", {}, 81, extrapolate=True),
        Entry("wan-vace-1.3b", {}, 81),
    )),
    "tiny": ("tiny", (
        *(Entry(name, {**TINY, "recurrence": 1} if name.startswith("ours") else TINY, 8) for name in SVD_FAMILY),
        Entry("dynamicrafter", {"height": 64, "width": 64, "num_inference_steps": 2}, 16),
        Entry("film", {}, 3),
        *(Entry(name, {**TINY_VIDEO, "video_frames": 5}, 5, extrapolate=True) for name in ("wan-flf2v", "wan22-flf2v")),
        *(Entry(name, {**TINY_VIDEO, "video_frames": 9}, 9) for name in ("ltx-video", "framepack")),
        Entry("ltx-video-distilled", {"height": 32, "width": 32, "video_frames": 9}, 9),  # its 8 documented timesteps
        *(
            Entry(name, {**TINY_VIDEO, "video_frames": 9}, 9)
            for name in ("ltx2", "skyreels-v2", "skyreels-v2-df", "wan-vace")
        ),
    )),
}  # fmt: skip
FILM_FRAME = {"paper": (576, 1024), "tiny": (64, 96)}  # FILM has no frame size of its own: keyframes at the suite's
PAPER_OURS_CALLS = 350

ANCHORS = (
    "Paper release (`ours`, diffusers fp16): about 10 min per video on an A100 80GB, its users report; out of memory "
    "on 40 GB cards.",
    "ViBiDSampler: 195 s per video on an RTX 3090 (its paper).",
    "FLOP floor of `ours` at paper settings (1024x576, 25 frames, 350 CFG-batched SVD-XT calls): 45 PFLOP without the "
    "attention matmuls, 56 PFLOP with them: 57-71 s on an H100 at 790 TFLOP/s.",
)


@dataclass
class Settings:
    """What the whole run uses: device, 16-bit dtype, compile, levers for the SVD family."""

    device: str
    dtype: str
    compile: bool = False
    levers: Levers = field(default_factory=Levers)


def entry_options(entry: Entry, settings: Settings, levers: Levers | None = None) -> dict[str, Any]:
    """Options of one run: the suite's, the device, and for the SVD family the levers and the run's dtype.

    Other families keep their documented dtype ("auto": float16 on CUDA).
    """
    names = option_names("method", entry.method)
    options = {**entry.options, **({"device": settings.device} if "device" in names else {})}
    if entry.method in SVD_FAMILY:
        options.update((levers or settings.levers).method_options(names))
        options["dtype"] = levers.dtype if levers else settings.dtype
        if "compile" in names:
            options["compile"] = False  # levers.apply compiles, with its mode
    return options


class CallFlops:
    """FLOPs of a network's forwards, counted with FlopCounterMode around each forward (hooks)."""

    def __init__(self, network: torch.nn.Module | tuple[torch.nn.Module, ...]) -> None:
        self.total, self.calls, self._mode = 0, 0, None
        modules = (network,) if isinstance(network, torch.nn.Module) else network
        self._hooks = [
            h
            for m in modules
            for h in (m.register_forward_pre_hook(self._before), m.register_forward_hook(self._after))
        ]

    def _before(self, *_: Any) -> None:
        self._mode = FlopCounterMode(display=False)
        self._mode.__enter__()

    def _after(self, *_: Any) -> None:
        self._mode.__exit__(None, None, None)
        self.total += int(self._mode.get_total_flops())
        self.calls += 1

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()


@contextlib.contextmanager
def fewer_steps(method: Any, steps: int) -> Iterator[None]:
    """Temporarily run ``steps`` sampling steps (the warm-up and the sweep's short videos)."""
    if not hasattr(method, "num_inference_steps"):
        yield
        return
    saved = method.num_inference_steps
    method.num_inference_steps = steps
    try:
        yield
    finally:
        method.num_inference_steps = saved


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed_video(
    subject: Subject, frames: tuple, num_frames: int, device: str, timer: UNetTimer | None
) -> dict[str, Any]:
    """One video: wall time, network time and calls, peak memory."""
    sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    if timer is not None:
        timer.reset()
    start = time.perf_counter()
    subject.method.interpolate(*frames, num_frames=num_frames, seed=0)
    sync(device)
    wall = time.perf_counter() - start
    memory, kind = peak_memory(device)
    return {
        "wall_s": wall,
        "network_s": timer.seconds if timer else None,
        "calls": int(subject.method.stats.get(subject.calls_key, 0)),
        "peak_memory_bytes": memory,
        "peak_memory_kind": kind,
    }


_UNET_FLOPS: dict[tuple[str, int, int, int, int], int] = {}


def flops_per_call(subject: Subject, frames: tuple, num_frames: int, cfg_batch: int) -> tuple[int | None, str]:
    """FLOPs of one network call and how they were counted (SVD family: meta device; others: one counted short
    video)."""
    if subject.unet_config is not None:
        method = subject.method
        key = (
            json.dumps(subject.unet_config, sort_keys=True, default=str),
            cfg_batch,
            num_frames,
            method.height,
            method.width,
        )
        if key not in _UNET_FLOPS:  # the family's methods share shapes: count each once
            _UNET_FLOPS[key] = count_unet_flops(
                subject.unet_config, batch=cfg_batch, num_frames=num_frames, height=key[3], width=key[4]
            ).total
        return _UNET_FLOPS[key], "FlopCounterMode on the meta device (attention matmuls included)"
    if subject.call_flops is not None:
        return subject.call_flops(
            num_frames
        ), "FlopCounterMode on the meta device at the pipeline's shapes (attention matmuls included)"
    counter = CallFlops(subject.network)
    try:
        with fewer_steps(subject.method, 1):
            subject.method.interpolate(*frames, num_frames=num_frames, seed=0)
    finally:
        counter.remove()
    if not counter.calls:
        return None, "no network call was counted"
    return counter.total // counter.calls, "FlopCounterMode over one counted video (CPU SDPA kernels count no FLOPs)"


def cfg_batch(subject: Subject) -> int:
    """Videos per SVD UNet call (2 with classifier-free guidance)."""
    method = subject.method
    return 2 if getattr(method, "max_guidance_scale", 2.0) > 1 else 1


def run_entry(entry: Entry, settings: Settings, size: Size, frame_size: tuple[int, int]) -> dict[str, Any]:
    """Build, warm up, count FLOPs and time one video of one method."""
    start = time.perf_counter()
    subject = random_method(entry.method, entry_options(entry, settings), size)
    is_svd = entry.method in SVD_FAMILY
    if is_svd:
        apply(subject.method.loaded(), dataclasses.replace(settings.levers, compile=settings.compile))
    build_s = time.perf_counter() - start
    method = subject.method
    height, width = method.frame_size if getattr(method, "frame_size", None) else frame_size
    frames = keyframes(entry.num_frames, height, width)
    per_call, flops_source = flops_per_call(subject, frames, entry.num_frames, cfg_batch(subject))
    compiled = is_svd and settings.compile
    timer = None if compiled else UNetTimer(subject.network, settings.device)
    try:
        if entry.extrapolate:
            run = extrapolated_video(subject, frames, entry.num_frames, settings.device, timer)
        else:
            with fewer_steps(method, 1):
                method.interpolate(
                    *frames, num_frames=entry.num_frames, seed=0
                )  # warm-up (and compile) at the same shapes
            run = timed_video(subject, frames, entry.num_frames, settings.device, timer)
    finally:
        if timer is not None:
            timer.remove()
    dtype = str(getattr(method.loaded().pipe.unet, "dtype", "")) if is_svd else str(getattr(method, "dtype", ""))
    return finish_row(entry, settings, run, per_call, flops_source, build_s=build_s, compiled=compiled, dtype=dtype,
                      levers=settings.levers.label() if is_svd else None, height=height, width=width)  # fmt: skip


def short_videos(
    subject: Subject, frames: tuple, num_frames: int, device: str, steps: int, timer: UNetTimer | None
) -> tuple[dict, dict, float, float]:
    """A 1-step (after a 1-step warm-up) and a ``steps``-step video: their runs, the seconds per call and outside the
    calls."""
    runs = {}
    for n in (1, 1, steps):  # the first 1-step video warms up (and compiles)
        with fewer_steps(subject.method, n):
            runs[n] = timed_video(subject, frames, num_frames, device, timer)
    short, long = runs[1], runs[steps]
    per_call = (long["wall_s"] - short["wall_s"]) / (long["calls"] - short["calls"])
    return short, long, per_call, short["wall_s"] - per_call * short["calls"]


def extrapolated_video(
    subject: Subject, frames: tuple, num_frames: int, device: str, timer: UNetTimer | None
) -> dict[str, Any]:
    """One whole video's figures from a 1-step and a 2-step video: per-call time times the preset's calls, plus the
    rest."""
    if subject.calls_per_video is None:
        raise KfbenchError(
            f"method '{subject.method.name}' does not say its calls per video; it cannot be extrapolated"
        )
    short, long, per_call, outside = short_videos(subject, frames, num_frames, device, 2, timer)
    calls = subject.calls_per_video(num_frames)
    network_per_call = long["network_s"] / long["calls"] if long["network_s"] is not None else None
    return {
        **long, "calls": calls, "wall_s": outside + per_call * calls,
        "network_s": network_per_call * calls if network_per_call is not None else None,
        "extrapolated_from": {"calls": [short["calls"], long["calls"]], "wall_s": [short["wall_s"], long["wall_s"]],
                              "s_per_call": per_call, "s_outside_calls": outside},
    }  # fmt: skip


def finish_row(
    entry: Entry, settings: Settings, run: dict[str, Any], per_call: int | None, flops_source: str, **extra: Any
) -> dict[str, Any]:
    """A result row with FLOP rates and the fraction of the device's 16-bit peak."""
    row: dict[str, Any] = {"method": entry.method, "num_frames": entry.num_frames, **extra, **run}
    row["dtype"] = str(row["dtype"]).removeprefix("torch.")
    row["flops_per_call"], row["flops_source"] = per_call, flops_source
    if per_call is not None:
        total = per_call * run["calls"]
        row["flops_per_video"] = total
        seconds = run["network_s"] or run["wall_s"]
        row["tflops_per_s"] = total / seconds / 1e12
        row["tflops_basis"] = "network time" if run["network_s"] else "wall time"
        dtype = DTYPES.get(row["dtype"])
        peak = (
            peak_tflops(device_name(settings.device), dtype) if settings.device.startswith("cuda") and dtype else None
        )
        row["fraction_of_peak"] = row["tflops_per_s"] / peak if peak else None
    return row


def run_sweep(settings: Settings, size: Size, over_budget: Callable[[], bool]) -> list[dict[str, Any]]:
    """The lever sweep on `ours` at the suite's shape: per-call time from a 1-step and a 3-step video."""
    entry = next(e for e in SUITES["paper" if size == "full" else "tiny"][1] if e.method == "ours")
    entry = dataclasses.replace(entry, options={**entry.options, "recurrence": 0})
    rows = []
    for name, levers in sweep(settings.device):
        if over_budget():
            rows.append({"lever": name, "levers": levers.label(), "skipped": "wall-time budget spent"})
            continue
        subject = random_method("ours", entry_options(entry, settings, levers), size)
        apply(subject.method.loaded(), levers)
        frames = keyframes(entry.num_frames, subject.method.height, subject.method.width)
        _, long, per_call, outside = short_videos(subject, frames, entry.num_frames, settings.device, 3, None)
        rows.append({
            "lever": name, "levers": levers.label(), "dtype": levers.dtype, "compile": levers.compile,
            "s_per_call": per_call, "s_outside_unet": outside,
            "s_per_video_extrapolated": outside + per_call * PAPER_OURS_CALLS,
            "peak_memory_bytes": long["peak_memory_bytes"], "peak_memory_kind": long["peak_memory_kind"],
        })  # fmt: skip
        del subject
        release_memory(settings.device)
    return rows


def release_memory(device: str) -> None:
    """Free the last method's models before the next is built (its peak is measured alone)."""
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def device_name(device: str) -> str:
    return torch.cuda.get_device_name(device) if device.startswith("cuda") else platform.processor() or "cpu"


def select_entries(suite: str, methods: list[str] | None) -> tuple[Size, tuple[Entry, ...]]:
    """The suite's size and its entries (``methods`` selects; an unknown name is refused)."""
    if suite not in SUITES:
        raise KfbenchError(f"unknown suite '{suite}'; valid: {', '.join(SUITES)}")
    size, entries = SUITES[suite]
    if methods:
        known = {e.method for e in entries}
        unknown = [m for m in methods if m not in known]
        if unknown:
            raise KfbenchError(
                f"suite '{suite}' has no method '{unknown[0]}'; valid: {', '.join(e.method for e in entries)}"
            )
        entries = tuple(e for e in entries if e.method in methods)
    return size, entries


def run_suite(
    suite: str,
    out: Path,
    *,
    settings: Settings,
    methods: list[str] | None = None,
    levers: bool = False,
    budget_s: float | None = None,
    command: str = "",
) -> dict[str, Any]:
    """Run the suite's entries (``methods`` selects), write bench.json and bench.md into ``out`` after each."""
    size, entries = select_entries(suite, methods)
    report: dict[str, Any] = {
        "suite": suite,
        "size": size,
        "command": command,
        "device": settings.device,
        "device_name": device_name(settings.device),
        "torch": torch.__version__,
        "weights": "random (real architectures, embedded configs)" if size == "full" else "random tiny models",
        "levers": settings.levers.label(),
        "compile": settings.compile,
        "anchors": list(ANCHORS),
        "rows": [],
        "sweep": [],
    }
    start = time.perf_counter()

    def over_budget() -> bool:
        return budget_s is not None and time.perf_counter() - start > budget_s

    for entry in entries:
        if over_budget():
            report["rows"].append({"method": entry.method, "skipped": f"wall-time budget of {budget_s:.0f} s spent"})
        else:
            report["rows"].append(run_entry(entry, settings, size, FILM_FRAME[suite]))
            release_memory(settings.device)
        write_outputs(report, out)
    if levers:
        report["sweep"] = run_sweep(settings, size, over_budget)
    report["wall_s"] = time.perf_counter() - start
    write_outputs(report, out)
    return report


def write_outputs(report: dict[str, Any], out: Path) -> None:
    write_text(out / "bench.json", json.dumps(report, indent=2, default=str) + "\n")
    write_text(out / "bench.md", markdown(report))


def _num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def markdown(report: dict[str, Any]) -> str:
    """The suite's table, the lever sweep and the published anchors."""
    lines = [
        f"# kfbench bench --suite {report['suite']}",
        "",
        f"Device: {report['device']} ({report['device_name']}), torch {report['torch']}; weights: {report['weights']}.",
        f"SVD-family levers: {report['levers']}; compile: {'on' if report['compile'] else 'off'}.",
        f"Command: `{report['command']}`" if report["command"] else "",
        "",
        "| method | model calls | s/video | UNet/transformer s | TFLOP/s | fraction of peak | peak memory (GiB) | "
        "dtype | compile |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        if "skipped" in row:
            lines.append(f"| {row['method']} | skipped: {row['skipped']} | | | | | | | |")
            continue
        lines.append(
            f"| {row['method']}{' (extrapolated)' if 'extrapolated_from' in row else ''} | {row['calls']} | "
            f"{row['wall_s']:.2f} | {_num(row['network_s'], '.2f')} | "
            f"{_num(row.get('tflops_per_s'), '.3g')} | {_num(row.get('fraction_of_peak'), '.1%')} | "
            f"{row['peak_memory_bytes'] / 2**30:.2f} | {row['dtype']} | {'on' if row['compiled'] else 'off'} |"
        )
    if report["rows"]:
        kinds = sorted({r["peak_memory_kind"] for r in report["rows"] if "peak_memory_kind" in r})
        lines += [
            "",
            f"Peak memory: {', '.join(kinds)}. TFLOP/s: network FLOPs over network time (wall time where the network "
            "is compiled).",
        ]
        if any("extrapolated_from" in r for r in report["rows"]):
            lines.append(
                "(extrapolated): seconds per call from a 1-step and a 2-step video, times the preset's calls per "
                "video, "
                "plus the time outside the calls; peak memory of the 2-step video."
            )
    if report["sweep"]:
        lines += [
            "",
            "## Levers on `ours` (cumulative; per-call time from a 1-step and a 3-step video, extrapolated to "
            f"{PAPER_OURS_CALLS} calls)",
            "",
            "| lever | s/call | s outside the UNet | s/video (extrapolated) | peak memory (GiB) | dtype | compile |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['lever']} | skipped: {r['skipped']} | | | | | |" if "skipped" in r else
            f"| {r['lever']} | {r['s_per_call']:.4f} | {r['s_outside_unet']:.2f} | "
            f"{r['s_per_video_extrapolated']:.1f} | "
            f"{r['peak_memory_bytes'] / 2**30:.2f} | {r['dtype']} | {'on' if r['compile'] else 'off'} |"
            for r in report["sweep"]
        ]  # fmt: skip
    lines += ["", "## Published anchors", "", *(f"- {a}" for a in ANCHORS), ""]
    return "\n".join(lines)


def count_only(suite: str, methods: list[str] | None = None) -> dict[str, Any]:
    """No weights, no run: the random models' parameter counts against the real ones, and the SVD family's FLOPs per
    video."""
    from kfbench.bench.measure import unet_config
    from kfbench.bench.randomweights import RANDOM_MODELS, meta_count
    from kfbench.methods.keyframe import KeyframePipelineInterpolator
    from kfbench.methods.keyframe.randombuild import keyframe_flops_row
    from kfbench.methods.svd.loading import DEFAULT_MODEL
    from kfbench.registry import create_method, import_factory, lookup, method_presets

    size, entries = select_entries(suite, methods)
    models = {}
    for name, spec in RANDOM_MODELS.items():
        count = meta_count(name)
        models[name] = {
            "parameters": count,
            "published": spec.parameters,
            "source": spec.source,
            "equal": count == spec.parameters,
        }
    rows = []
    config, _ = unet_config(DEFAULT_MODEL)
    counted: dict[tuple[int, int, int, int], Any] = {}
    for entry in entries:
        if entry.method not in SVD_FAMILY:
            factory = import_factory(lookup(method_presets(), entry.method, "method").factory)
            if isinstance(factory, type) and issubclass(factory, KeyframePipelineInterpolator):
                rows.append(keyframe_flops_row(create_method(entry.method, **entry.options), entry.num_frames))
            else:
                rows.append(
                    {
                        "method": entry.method,
                        "flops": None,
                        "flops_missing": "counted during a run (its forward is not run on the meta device)",
                    }
                )
            continue
        extra = {"checkpoint": "unused"} if entry.method in ("ours", "ours-wo-ra") else {}
        method = create_method(entry.method, **{**entry.options, **extra})
        calls = method.unet_calls_per_video()
        batch = 2 if getattr(method, "max_guidance_scale", 2.0) > 1 else 1
        shape = (batch, entry.num_frames, method.height, method.width)
        if shape not in counted:  # the family shares its shapes: count each once
            counted[shape] = count_unet_flops(config, batch=batch, num_frames=shape[1], height=shape[2], width=shape[3])
        flops = counted[shape]
        rows.append(
            {
                "method": entry.method,
                "calls": calls,
                "flops_per_call": flops.total,
                "flops_per_video": flops.total * calls,
                "flops_per_video_without_attention_matmuls": flops.without_attention * calls,
            }
        )
    return {"suite": suite, "models": models, "rows": rows}


def format_flops_only(report: dict[str, Any]) -> str:
    lines = ["random full-size models (parameters counted on the meta device / real model's):"]
    for name, m in report["models"].items():
        mark = "equal" if m["equal"] else "DIFFERENT"
        lines.append(f"  {name}: {m['parameters']:,} / {m['published']:,} ({mark}; {m['source']})")
    lines.append(f"FLOPs per video at the '{report['suite']}' suite's settings:")
    for row in report["rows"]:
        if row.get("flops_missing"):
            lines.append(f"  {row['method']}: {row['flops_missing']}")
        else:
            lines.append(
                f"  {row['method']}: {row['calls']} {row.get('network', 'UNet')} calls, "
                f"{row['flops_per_video'] / 1e15:.4g} PFLOP "
                f"({row['flops_per_video_without_attention_matmuls'] / 1e15:.4g} without attention matmuls)"
            )
    return "\n".join(lines)


def run_from_cli(
    suite: str, methods: str | None, flags: dict[str, str], *, flops_only: bool, levers: bool, compile: bool,
    budget_s: float | None, out: Path | None, json_path: Path | None,
) -> str:  # fmt: skip
    """`kfbench bench --suite/--random-weights`: the text to print (files written as asked)."""
    import shlex
    import sys

    from kfbench.utils.devices import resolve_device

    unknown = sorted(set(flags) - {"device", "dtype"})
    if unknown:
        raise KfbenchError(
            f"the suite takes --device and --dtype, not --{unknown[0].replace('_', '-')}; methods run at the suite's "
            "settings"
        )
    chosen = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    if suite not in SUITES:
        raise KfbenchError(f"unknown suite '{suite}'; valid: {', '.join(SUITES)}")
    if flops_only:
        report = count_only(suite, chosen)
        if json_path:
            write_text(json_path, json.dumps(report, indent=2) + "\n")
        return format_flops_only(report)
    if out is None:
        raise KfbenchError("the suite writes bench.json and bench.md: pass --out FOLDER")
    device = resolve_device(flags.get("device"))
    dtype = flags.get("dtype", "float16" if device.startswith("cuda") else "float32")
    if dtype not in ("float32", "float16", "bfloat16"):
        raise KfbenchError(f"--dtype takes float32, float16 or bfloat16, not '{dtype}'")
    settings = Settings(
        device=device, dtype=dtype, compile=compile, levers=dataclasses.replace(fast(device), dtype=dtype)
    )
    command = "kfbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    report = run_suite(suite, out, settings=settings, methods=chosen, levers=levers, budget_s=budget_s, command=command)
    return markdown(report) + f"\nwrote {out / 'bench.json'} and {out / 'bench.md'}"
