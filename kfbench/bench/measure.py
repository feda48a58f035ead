"""`kfbench bench -m METHOD`: calls, FLOPs, wall time, throughput and peak memory of one video on its own weights.

A method family declares how it is measured on its interpolator class (``bench``: a lazy
``module:attr`` naming a :class:`BenchHooks` in the family's folder): the SVD family's UNet, the
keyframe pipelines' transformers. FLOPs are counted on the meta device (:mod:`kfbench.bench.flops`),
videos timed by :func:`kfbench.bench.timing.timed_video`, peaks read from :mod:`kfbench.bench.device`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfbench.errors import KfbenchError
from kfbench.registry import coerce_option, create_method, import_factory, method_class, method_presets, option_names
from kfbench.utils.atomicio import write_text


@dataclass(frozen=True)
class BenchRequest:
    """What `kfbench bench -m` asks of one method."""

    num_frames: int = 25
    seed: int = 0
    compare_sequential: bool = False
    flops_only: bool = False  # no weights are loaded
    repeats: int = 1
    warmup: int = 1


@dataclass(frozen=True)
class BenchHooks:
    """A family's `kfbench bench -m`: ``run`` measures a built method, ``format`` writes its report as lines."""

    run: Callable[[Any, BenchRequest], dict[str, Any]]
    format: Callable[[dict[str, Any]], str]


def bench_hooks(method: str) -> BenchHooks | None:
    spec = getattr(method_class(method), "bench", "")
    return import_factory(spec) if spec else None


def bench_methods() -> list[str]:
    """Method names whose family declares bench hooks."""
    return [n for n, p in method_presets().items() if getattr(import_factory(p.factory), "bench", "")]


def method_options(method: str, flags: dict[str, str]) -> dict[str, Any]:
    """Command-line strings -> the method's typed options (as `kfbench run` takes them)."""
    names = option_names("method", method)
    unknown = sorted(set(flags) - names)
    if unknown:
        valid = ", ".join("--" + n.replace("_", "-") for n in sorted(names))
        raise KfbenchError(f"unknown option --{unknown[0].replace('_', '-')} for method '{method}'; valid: {valid}")
    return {name: coerce_option("method", method, name, text) for name, text in flags.items()}


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
    if num_frames < 2 or repeats < 1 or warmup < 0:
        raise KfbenchError("bench: need --num-frames >= 2, --repeats >= 1 and --warmup >= 0")
    hooks = bench_hooks(method_name)
    if hooks is None:
        raise KfbenchError(
            f"kfbench bench measures the denoiser of {', '.join(bench_methods())}; '{method_name}' has none "
            "(its family declares no bench hooks)"
        )
    request = BenchRequest(num_frames, seed, compare_sequential, flops_only, repeats, warmup)
    return hooks.run(create_method(method_name, **options), request)


def format_report(report: dict[str, Any]) -> str:
    """Human-readable lines of a bench report (its family's format)."""
    hooks = bench_hooks(report["method"])
    assert hooks is not None, report["method"]
    return hooks.format(report)


def write_json(report: dict[str, Any], path: Path) -> None:
    """The report as JSON, replacing ``path`` atomically."""
    write_text(path, json.dumps(report, indent=2, default=str) + "\n")
