"""`kfbench bench --suite paper|tiny`: every method at its paper settings on random full-size weights, one video each.

The suites are data files (``kfbench/presets/suites/<name>.toml``: the size of the random models and
one entry per method with its options and frames). ``kfbench bench --random-weights -m METHOD`` runs
one method at the options given on the command line.

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
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from kfbench.bench.device import device_name, peak_tflops
from kfbench.bench.flops import CallFlops
from kfbench.bench.randommethods import Size, Subject, random_method
from kfbench.bench.timing import NetworkTimer, keyframes, timed_video
from kfbench.errors import KfbenchError
from kfbench.methods.svd.levers import Levers, apply, fast, sweep
from kfbench.presets import preset_files, read_toml
from kfbench.registry import Registry, accepted_options, import_factory, method_class, method_presets, option_names
from kfbench.utils.atomicio import write_text
from kfbench.utils.dtypes import DTYPES


@dataclass(frozen=True)
class Entry:
    """One method at its settings: preset options overridden by ``options``, ``num_frames`` frames."""

    method: str
    options: dict[str, Any] = field(default_factory=dict)
    num_frames: int = 25
    extrapolate: bool = False  # time a 1-step and a 2-step video; extrapolate the per-call time to the whole video
    frame_size: tuple[int, int] | None = None  # keyframes (height, width) for this entry (default: the suite's)


@dataclass(frozen=True)
class Suite:
    """A suite file: the random models' size, the keyframe size of methods without their own, the entries."""

    name: str
    size: Size
    frame_size: tuple[int, int]
    entries: tuple[Entry, ...]


def read_suite(path: Path) -> Suite:
    data = read_toml(path)
    try:
        entries = tuple(
            Entry(
                e["method"],
                dict(e.get("options", {})),
                int(e.get("num_frames", 25)),
                bool(e.get("extrapolate", False)),
                tuple(e["frame_size"]) if "frame_size" in e else None,
            )
            for e in data["entries"]
        )
        size, frame_size = data["size"], tuple(data["frame_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KfbenchError(f"suite {path} is malformed ({exc!r}); see kfbench/presets/suites/tiny.toml") from None
    if size not in ("full", "tiny") or len(frame_size) != 2:
        raise KfbenchError(f"suite {path}: size must be full or tiny and frame_size [height, width]")
    return Suite(data.get("name", path.stem), size, frame_size, entries)


def suites() -> Registry[Suite]:
    """The suites of kfbench/presets/suites/ and of the KFBENCH_PLUGINS folders, by name."""
    registry: Registry[Suite] = Registry("suite")
    for path in preset_files("suites"):
        suite = read_suite(path)
        registry.register(suite.name, suite, origin=str(path))
    return registry


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
    if takes_levers(entry.method):
        options.update((levers or settings.levers).method_options(names))
        options["dtype"] = levers.dtype if levers else settings.dtype
        if "compile" in names:
            options["compile"] = False  # levers.apply compiles, with its mode
    return options


def takes_levers(method: str) -> bool:
    """Whether the method's family runs the SVD family's GPU levers (kfbench.methods.svd.levers)."""
    return bool(getattr(method_class(method), "bench_levers", False))


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


def timed_run(
    subject: Subject, frames: tuple, num_frames: int, device: str, timer: NetworkTimer | None
) -> dict[str, Any]:
    """One video: wall time, network time and calls, peak memory."""
    _, timed = timed_video(subject.method, frames, num_frames, seed=0, device=device, timer=timer)
    return {
        "wall_s": timed["wall_s"],
        "network_s": timed["network_s"],
        "calls": int(subject.method.stats.get(subject.calls_key, 0)),
        "peak_memory_bytes": timed["peak_memory_bytes"],
        "peak_memory_kind": timed["peak_memory_kind"],
    }


def flops_per_call(subject: Subject, frames: tuple, num_frames: int) -> tuple[int | None, str]:
    """FLOPs of one network call and how they were counted (meta device where the family can, else a counted video)."""
    if subject.call_flops is not None:
        return subject.call_flops(num_frames), subject.flops_source
    counter = CallFlops(subject.network)
    try:
        with fewer_steps(subject.method, 1):
            subject.method.interpolate(*frames, num_frames=num_frames, seed=0)
    finally:
        counter.remove()
    if not counter.calls:
        return None, "no network call was counted"
    return counter.total // counter.calls, "FlopCounterMode over one counted video (CPU SDPA kernels count no FLOPs)"


def run_entry(entry: Entry, settings: Settings, size: Size, frame_size: tuple[int, int]) -> dict[str, Any]:
    """Build, warm up, count FLOPs and time one video of one method."""
    start = time.perf_counter()
    subject = random_method(entry.method, entry_options(entry, settings), size)
    is_svd = takes_levers(entry.method)
    if is_svd:
        apply(subject.method.loaded(), dataclasses.replace(settings.levers, compile=settings.compile))
    build_s = time.perf_counter() - start
    method = subject.method
    height, width = method.frame_size if getattr(method, "frame_size", None) else entry.frame_size or frame_size
    frames = keyframes(entry.num_frames, height, width)
    per_call, flops_source = flops_per_call(subject, frames, entry.num_frames)
    compiled = is_svd and settings.compile
    timer = None if compiled else NetworkTimer(subject.network, settings.device)
    try:
        if entry.extrapolate:
            run = extrapolated_video(subject, frames, entry.num_frames, settings.device, timer)
        else:
            with fewer_steps(method, 1):
                method.interpolate(
                    *frames, num_frames=entry.num_frames, seed=0
                )  # warm-up (and compile) at the same shapes
            run = timed_run(subject, frames, entry.num_frames, settings.device, timer)
    finally:
        if timer is not None:
            timer.remove()
    dtype = str(getattr(method.loaded().pipe.unet, "dtype", "")) if is_svd else str(getattr(method, "dtype", ""))
    return finish_row(
        entry,
        settings,
        run,
        per_call,
        flops_source,
        build_s=build_s,
        compiled=compiled,
        dtype=dtype,
        levers=settings.levers.label() if is_svd else None,
        height=height,
        width=width,
    )


def short_videos(
    subject: Subject, frames: tuple, num_frames: int, device: str, steps: int, timer: NetworkTimer | None
) -> tuple[dict, dict, float, float]:
    """A 1-step (after a 1-step warm-up) and a ``steps``-step video: their runs, seconds per call and outside calls."""
    runs = {}
    for n in (1, 1, steps):  # the first 1-step video warms up (and compiles)
        with fewer_steps(subject.method, n):
            runs[n] = timed_run(subject, frames, num_frames, device, timer)
    short, long = runs[1], runs[steps]
    per_call = (long["wall_s"] - short["wall_s"]) / (long["calls"] - short["calls"])
    return short, long, per_call, short["wall_s"] - per_call * short["calls"]


def extrapolated_video(
    subject: Subject, frames: tuple, num_frames: int, device: str, timer: NetworkTimer | None
) -> dict[str, Any]:
    """One whole video's figures from a 1- and a 2-step video: per-call time times the preset's calls, plus the rest."""
    if subject.calls_per_video is None:
        raise KfbenchError(
            f"method '{subject.method.name}' does not say its calls per video; it cannot be extrapolated"
        )
    short, long, per_call, outside = short_videos(subject, frames, num_frames, device, 2, timer)
    calls = subject.calls_per_video(num_frames)
    network_per_call = long["network_s"] / long["calls"] if long["network_s"] is not None else None
    return {
        **long,
        "calls": calls,
        "wall_s": outside + per_call * calls,
        "network_s": network_per_call * calls if network_per_call is not None else None,
        "extrapolated_from": {
            "calls": [short["calls"], long["calls"]],
            "wall_s": [short["wall_s"], long["wall_s"]],
            "s_per_call": per_call,
            "s_outside_calls": outside,
        },
    }


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
    entry = next(e for e in suites().get("paper" if size == "full" else "tiny").entries if e.method == "ours")
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
        rows.append(
            {
                "lever": name,
                "levers": levers.label(),
                "dtype": levers.dtype,
                "compile": levers.compile,
                "s_per_call": per_call,
                "s_outside_unet": outside,
                "s_per_video_extrapolated": outside + per_call * PAPER_OURS_CALLS,
                "peak_memory_bytes": long["peak_memory_bytes"],
                "peak_memory_kind": long["peak_memory_kind"],
            }
        )
        del subject
        release_memory(settings.device)
    return rows


def release_memory(device: str) -> None:
    """Free the last method's models before the next is built (its peak is measured alone)."""
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def select_entries(suite: str, methods: list[str] | None) -> Suite:
    """The suite with the entries ``methods`` selects (all without; an unknown name is refused)."""
    chosen = suites().get(suite)
    if methods:
        known = [e.method for e in chosen.entries]
        unknown = [m for m in methods if m not in known]
        if unknown:
            raise KfbenchError(f"suite '{suite}' has no method '{unknown[0]}'; valid: {', '.join(known)}")
        chosen = dataclasses.replace(chosen, entries=tuple(e for e in chosen.entries if e.method in methods))
    return chosen


def one_method(suite: str, method: str, options: dict[str, Any], num_frames: int | None) -> Suite:
    """`--random-weights -m METHOD` with options: its suite entry (or its preset's own settings), overridden."""
    chosen = suites().get(suite)
    base = next((e for e in chosen.entries if e.method == method), Entry(method))
    entry = Entry(method, {**base.options, **options}, num_frames or base.num_frames, base.extrapolate)
    return dataclasses.replace(chosen, entries=(entry,))


def run_suite(
    suite: Suite,
    out: Path,
    *,
    settings: Settings,
    levers: bool = False,
    budget_s: float | None = None,
    command: str = "",
) -> dict[str, Any]:
    """Run the suite's entries, write bench.json and bench.md into ``out`` after each."""
    size, entries = suite.size, suite.entries
    report: dict[str, Any] = {
        "suite": suite.name,
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
            report["rows"].append(run_entry(entry, settings, size, suite.frame_size))
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
            f"| {r['lever']} | skipped: {r['skipped']} | | | | | |"
            if "skipped" in r
            else f"| {r['lever']} | {r['s_per_call']:.4f} | {r['s_outside_unet']:.2f} | "
            f"{r['s_per_video_extrapolated']:.1f} | "
            f"{r['peak_memory_bytes'] / 2**30:.2f} | {r['dtype']} | {'on' if r['compile'] else 'off'} |"
            for r in report["sweep"]
        ]
    lines += ["", "## Published anchors", "", *(f"- {a}" for a in ANCHORS), ""]
    return "\n".join(lines)


def count_only(suite: Suite, chosen: bool = False) -> dict[str, Any]:
    """No weights, no run: random models' parameter counts against the real ones (every family's, or with ``chosen``
    the families of the suite's entries only), and each entry's FLOPs per video."""
    from kfbench.bench.randomweights import meta_count, random_models

    models = {}
    for name, spec in random_models([e.method for e in suite.entries] if chosen else None).items():
        count = meta_count(name)
        models[name] = {
            "parameters": count,
            "published": spec.parameters,
            "source": spec.source,
            "equal": count == spec.parameters,
        }
    rows = [flops_row(entry, entry.frame_size or suite.frame_size) for entry in suite.entries]
    return {"suite": suite.name, "models": models, "rows": rows}


def flops_row(entry: Entry, frame_size: tuple[int, int]) -> dict[str, Any]:
    """Calls and FLOPs of one video on the meta device, by the family's ``flops`` hook (missing where it has none).

    A hook that takes ``frame_size`` (methods without a frame size of their own) gets the entry's keyframe size.
    """
    spec = getattr(method_class(entry.method), "flops", "")
    if not spec:
        return {
            "method": entry.method,
            "flops": None,
            "flops_missing": "counted during a run (its forward is not run on the meta device)",
        }
    hook = import_factory(spec)
    extra = {"frame_size": frame_size} if "frame_size" in accepted_options(hook) else {}
    return hook(entry.method, entry.options, entry.num_frames, **extra)


def format_flops_only(report: dict[str, Any]) -> str:
    lines = [
        "random full-size models (parameters counted on the meta device / real model's):"
        if report["models"]
        else "random full-size models: none (the chosen methods' families load none)"
    ]
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
    suite: str,
    method: str | None,
    methods: str | None,
    flags: dict[str, str],
    *,
    num_frames: int | None,
    flops_only: bool,
    levers: bool,
    compile: bool,
    budget_s: float | None,
    out: Path | None,
    json_path: Path | None,
) -> str:
    """`kfbench bench --suite/--random-weights`: the text to print (files written as asked).

    ``method`` (``-m NAME``, any registered method) takes its options and --num-frames as `kfbench run`
    does, starting from its entry in the suite (or its preset); ``methods`` selects entries of the suite,
    which run at the suite's settings.
    """
    import shlex
    import sys

    from kfbench.bench.measure import method_options
    from kfbench.utils.devices import resolve_device

    suites().get(suite)  # an unknown suite is refused first
    if method and methods:
        raise KfbenchError("pass one method with -m NAME or the suite's entries with --methods, not both")
    if method:
        method_presets().get(method)  # an unknown method is refused, with the closest names
        own = {k: v for k, v in flags.items() if k != "device" and not (k == "dtype" and takes_levers(method))}
        chosen_suite = one_method(suite, method, method_options(method, own), num_frames)
    else:
        unknown = sorted(set(flags) - {"device", "dtype"})
        if unknown or num_frames is not None:
            name = f"--{unknown[0].replace('_', '-')}" if unknown else "--num-frames"
            raise KfbenchError(
                f"the suite takes --device and --dtype, not {name}; methods run at the suite's settings "
                "(one method, -m NAME, takes its own options)"
            )
        chosen_suite = select_entries(suite, [m.strip() for m in methods.split(",") if m.strip()] if methods else None)
    if flops_only:
        report = count_only(chosen_suite, chosen=bool(method or methods))
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
    report = run_suite(chosen_suite, out, settings=settings, levers=levers, budget_s=budget_s, command=command)
    return markdown(report) + f"\nwrote {out / 'bench.json'} and {out / 'bench.md'}"
