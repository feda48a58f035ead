"""`kfbench bench --evaluate`: what `kfbench evaluate` costs per metric, in seconds per pair, peak RSS and cores used.

A synthetic run store at the size asked (``--size 576p|1080p|HxW``), with ``--pairs`` pairs of ``--num-frames``
frames run by the ``linear`` method (``--methods``), is built once under ``--out`` and reused. Each metric is
evaluated in a fresh process (``spawn``), so that its peak RSS is its own; ``cores`` is that process's CPU time over
its wall time (1.0: one core busy). The ``(load)`` row evaluates no metric: reading the pairs, mapping them onto the
grid and their difficulty, which every other row includes. ``all`` evaluates every metric asked in one process: the
peak of a real ``kfbench evaluate`` (``--whole``: that row only). Each process first evaluates a tiny store, untimed,
so that imports are not counted, and empties the feature cache, so that cached metrics extract their features. With
``--repeats N`` the seconds and cores are medians of N runs and the peak the largest. ``cpu s/pair`` (CPU seconds)
depends less on the machine's load than ``s/pair`` (wall seconds).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from kfbench.bench.device import peak_rss_mb
from kfbench.errors import KfbenchError
from kfbench.utils.atomicio import write_text

SIZES = {"576p": (576, 1024), "1080p": (1080, 1920)}
WEIGHT_FREE = ("psnr", "ssim", "warp_error", "flicker", "keyframe_psnr")
WARMUP = (64, 96, 17)  # height, width, frames of the store each process evaluates first, untimed
LOAD_ROW, ALL_ROW = "(load)", "all"
COLUMNS = ("metric", "s/pair", "cpu s/pair", "cores", "peak RSS MB", "runs")


@dataclass(frozen=True)
class EvalCostRequest:
    """What `kfbench bench --evaluate` measures; every field is written with the figures."""

    height: int
    width: int
    num_frames: int = 25
    pairs: int = 2
    methods: tuple[str, ...] = ("linear",)
    metrics: tuple[str, ...] = WEIGHT_FREE
    weights: dict[str, str] = field(default_factory=dict)  # WeightsFile.key -> file (as evaluate's --*-weights)
    repeats: int = 1
    whole_only: bool = False  # only the ``all`` row: every metric in one process (a real evaluate's peak)

    @property
    def pair_runs(self) -> int:
        return self.pairs * len(self.methods)


def size_of(text: str) -> tuple[int, int]:
    """(height, width) of ``--size``: a preset (576p, 1080p) or HxW."""
    if text in SIZES:
        return SIZES[text]
    height, _, width = text.lower().partition("x")
    if not (height.isdigit() and width.isdigit()) or int(height) < 32 or int(width) < 32:
        raise KfbenchError(f"bench --evaluate: --size '{text}' is not {', '.join(SIZES)} or HxW (sides >= 32)")
    return int(height), int(width)


def weights_of(flags: dict[str, str | None]) -> dict[str, str]:
    """evaluate's ``--<name>-weights FILE`` flags, by WeightsFile key; any other flag is refused."""
    from kfbench.metrics.registry import weights_files

    keys = {w.key for w, _ in weights_files().values()}
    for name, value in flags.items():
        if name not in keys or not value:
            valid = ", ".join(sorted(weights_files()))
            raise KfbenchError(f"bench --evaluate takes evaluate's weights flags ({valid}) FILE, not --{name}")
    return {k: str(v) for k, v in flags.items()}


def store_folder(out: Path, request: EvalCostRequest) -> Path:
    """The synthetic store of this size, pairs, frames and methods under ``out``."""
    methods = "+".join(request.methods)
    return out / f"store-{request.height}x{request.width}-{request.pairs}x{request.num_frames}-{methods}"


def build_store(store: Path, request: EvalCostRequest) -> None:
    """The synthetic set at the request's size, run by each of its methods (pairs already written are kept)."""
    from kfbench import create_dataset, create_method
    from kfbench.run.runner import run_benchmark
    from kfbench.store.runstore import RunStore

    data = create_dataset(
        "synthetic",
        num_pairs=request.pairs,
        num_frames=request.num_frames,
        height=request.height,
        width=request.width,
    )
    for name in request.methods:
        run_benchmark(create_method(name), data, RunStore(store), data.pair_ids())


def evaluate_once(store: str, metrics: tuple[str, ...], weights: dict[str, str], warmup: str) -> dict[str, Any]:
    """Evaluate ``metrics`` over the store in this (fresh) process; its seconds, CPU seconds and peak RSS.

    An untimed evaluation of the tiny ``warmup`` store first imports what the metrics import (seconds of a
    process's first call, not of the pairs).
    """
    from kfbench.metrics.evaluate import EvalConfig, evaluate_store
    from kfbench.utils import progress

    progress.enabled = False
    config = EvalConfig(metrics=metrics, weights=dict(weights), bootstrap=10)
    evaluate_store(Path(warmup), config)
    shutil.rmtree(Path(store) / ".cache" / "features", ignore_errors=True)
    before = peak_rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    results, _ = evaluate_store(Path(store), config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    missing = {r.metric: r.missing_reason for r in results.itertuples() if r.missing_reason}
    if missing:
        name, why = next(iter(missing.items()))
        raise KfbenchError(f"bench --evaluate: {name} could not be computed ({why})")
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_rss_mb(), "rss_before_mb": before}


def in_fresh_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)`` in a new interpreter (spawned), so that its peak memory is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def machine() -> dict[str, Any]:
    """Where and when the figures were taken: CPU, cores, torch threads, load averages, date."""
    import torch

    from kfbench.utils.parallel import cores

    return {
        "machine": platform.processor() or platform.machine(),
        "cores": cores(),
        "torch_threads": torch.get_num_threads(),
        "load_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def row(name: str, runs: list[dict[str, Any]], pair_runs: int) -> dict[str, Any]:
    """One table row: median seconds per pair-run and cores over the runs, the largest peak."""
    wall = statistics.median(r["wall_s"] for r in runs)
    return {
        "metric": name,
        "s/pair": wall / pair_runs,
        "cpu s/pair": statistics.median(r["cpu_s"] for r in runs) / pair_runs,
        "cores": statistics.median(r["cpu_s"] / r["wall_s"] for r in runs),
        "peak RSS MB": max(r["peak_rss_mb"] for r in runs),
        "runs": runs,
    }


def run_evaluate_bench(request: EvalCostRequest, out: Path, echo: Callable[[str], None]) -> dict[str, Any]:
    """Build (or reuse) the store under ``out`` and measure each metric; the report as a JSON-able dict."""
    from kfbench.metrics.registry import check_names

    check_names(request.metrics)
    if request.repeats < 1 or request.pairs < 1 or request.num_frames < 3:
        raise KfbenchError("bench --evaluate: need --repeats >= 1, --pairs >= 1 and --num-frames >= 3")
    store = store_folder(out, request)
    warmup = replace(request, height=WARMUP[0], width=WARMUP[1], num_frames=WARMUP[2], pairs=1)
    echo(f"building the synthetic store {store} (and {store_folder(out, warmup)} to warm up) ...")
    build_store(store, request)
    build_store(store_folder(out, warmup), warmup)
    names = [ALL_ROW] if request.whole_only else [LOAD_ROW, *request.metrics] + [ALL_ROW] * (len(request.metrics) > 1)
    rows = []
    for k, name in enumerate(names, 1):
        metrics = {LOAD_ROW: (), ALL_ROW: request.metrics}.get(name, (name,))
        runs = []
        for repeat in range(request.repeats):
            echo(f"[{k}/{len(names)}] {name} (run {repeat + 1}/{request.repeats}) ...")
            runs.append(
                in_fresh_process(evaluate_once, str(store), metrics, request.weights, str(store_folder(out, warmup)))
            )
        rows.append(row(name, runs, request.pair_runs))
        echo(format_row(rows[-1]))
    return {"settings": {**asdict(request), "store": str(store), **machine()}, "rows": rows}


def format_row(figures: dict[str, Any]) -> str:
    return (
        f"{figures['metric']:<16}{figures['s/pair']:>9.2f}{figures['cpu s/pair']:>12.2f}{figures['cores']:>7.2f}"
        f"{figures['peak RSS MB']:>13.0f}{len(figures['runs']):>6}"
    )


def format_table(report: dict[str, Any]) -> str:
    """The figures as a table under the settings that made them."""
    s = report["settings"]
    head = (
        f"kfbench evaluate at {s['height']}x{s['width']}, {s['pairs']} pair(s) x {len(s['methods'])} method(s) "
        f"({', '.join(s['methods'])}), {s['num_frames']} frames; {s['machine']}, {s['cores']} cores, "
        f"torch threads {s['torch_threads']}, load {' '.join(map(str, s['load_1_5_15']))}, {s['date']}"
    )
    header = f"{COLUMNS[0]:<16}{COLUMNS[1]:>9}{COLUMNS[2]:>12}{COLUMNS[3]:>7}{COLUMNS[4]:>13}{COLUMNS[5]:>6}"
    return "\n".join([head, header, *(format_row(r) for r in report["rows"])])


def write_report(report: dict[str, Any], path: Path) -> None:
    write_text(path, json.dumps(report, indent=2) + "\n")


def names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def run_from_cli(
    size: str,
    num_frames: int,
    pairs: int,
    methods: str | None,
    metrics: str | None,
    flags: dict[str, str | None],
    *,
    repeats: int,
    whole_only: bool,
    reference: bool,
    out: Path | None,
    json_path: Path | None,
    echo: Callable[[str], None],
) -> str:
    """`kfbench bench --evaluate`: the table (and side-by-side ratios) to print; the JSON written as asked."""
    from kfbench.utils.userfiles import output_file, output_folder

    height, width = size_of(size)
    request = EvalCostRequest(
        height,
        width,
        num_frames,
        pairs,
        names(methods) if methods else ("linear",),
        names(metrics) if metrics else WEIGHT_FREE,
        weights_of(flags),
        repeats,
        whole_only,
    )
    if reference and importlib.util.find_spec("skimage") is None:
        raise KfbenchError("bench --evaluate --reference times scikit-image too: pip install scikit-image (test extra)")
    if json_path:
        output_file(json_path, "--json")
    out = output_folder(out or Path("evalbench"), "--out")
    report = run_evaluate_bench(request, out, echo)
    text = format_table(report)
    if reference:
        from kfbench.bench.evalref import format_ratios, reference_ratios

        echo("timing kfbench against the reference packages ...")
        report["reference"] = in_fresh_process(reference_ratios, report["settings"]["store"], request.weights, repeats)
        text += "\n" + format_ratios(report["reference"])
    if json_path:
        write_report(report, json_path)
        text += f"\nwrote {json_path}"
    return text
