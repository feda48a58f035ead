"""The metrics `kfbench evaluate` computes: one line each, a name and the ``module:Class`` that is the metric.

A metric is one module (``kfbench/metrics/<name>.py``: a :class:`~kfbench.metrics.base.Metric` subclass
with its metadata, maths and state) and one line in ``METRICS_TABLE``. A metric kept in another package
registers with an entry point of group ``kfbench.metrics`` (``name = "module:Class"``) and needs no line
here (docs/adding-a-metric.md). Names resolve without importing any metric; a class is imported when it is
asked for, and the metric modules import their networks only when they compute.
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from kfbench.errors import KfbenchError
from kfbench.registry import import_factory

if TYPE_CHECKING:
    from kfbench.metrics.base import Metric
    from kfbench.metrics.weights import WeightsFile

ENTRY_POINT_GROUP = "kfbench.metrics"
METRICS_TABLE = {
    "fid": "kfbench.metrics.fid:FidMetric",
    "kid": "kfbench.metrics.kid:KidMetric",
    "fvd": "kfbench.metrics.fvd:FvdMetric",
    "psnr": "kfbench.metrics.psnr:PsnrMetric",
    "ssim": "kfbench.metrics.ssim:SsimMetric",
    "lpips": "kfbench.metrics.lpips:LpipsMetric",
    "fvd_videomae": "kfbench.metrics.fvd_videomae:FvdVideoMAEMetric",
    "jedi": "kfbench.metrics.jedi:JediMetric",
    "keyframe_psnr": "kfbench.metrics.keyframe_psnr:KeyframePsnrMetric",
    "keyframe_lpips": "kfbench.metrics.keyframe_lpips:KeyframeLpipsMetric",
    "warp_error": "kfbench.metrics.warp_error:WarpErrorMetric",
    "flicker": "kfbench.metrics.flicker:FlickerMetric",
}


@cache
def registered() -> dict[str, str]:
    """Every metric name and its ``module:Class``: kfbench's, then those of installed packages' entry points."""
    table = dict(METRICS_TABLE)
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in table:
            raise KfbenchError(
                f"metric '{point.name}' is registered twice: {table[point.name]} and {point.value} "
                f"(entry point of {point.dist.name if point.dist else 'an installed package'}); "
                "uninstall one or rename its entry point"
            )
        table[point.name] = point.value
    return table


def metric_names() -> tuple[str, ...]:
    """The registered metric names, in report order."""
    return tuple(registered())


def check_names(names: tuple[str, ...] | list[str]) -> None:
    """One line naming each unknown metric, with the nearest registered names."""
    unknown = [n for n in names if n not in registered()]
    if unknown:
        hints = [
            f" (did you mean {', '.join(close)}?)"
            if (close := difflib.get_close_matches(n, metric_names(), n=2))
            else ""
            for n in unknown
        ]
        listed = ", ".join(f"'{n}'{hint}" for n, hint in zip(unknown, hints))
        raise KfbenchError(f"unknown metric(s) {listed}; valid: {', '.join(metric_names())} (kfbench list metrics)")


@cache
def metric_class(name: str) -> type[Metric]:
    """The metric class registered as ``name`` (its module imported now; its networks not yet)."""
    from kfbench.metrics.base import Metric

    check_names([name])
    spec = registered()[name]
    try:
        cls = import_factory(spec)
    except (ImportError, AttributeError) as exc:
        raise KfbenchError(
            f"metric '{name}' names {spec}, which cannot be imported ({exc}); fix or uninstall it"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Metric)) or cls.name != name:
        raise KfbenchError(
            f"metric '{name}' names {spec}, which is not a kfbench.metrics.base.Metric subclass with name = '{name}'"
        )
    return cls


def weights_files() -> dict[str, tuple[WeightsFile, list[str]]]:
    """Each weights file any metric reads, by flag, with the metrics that read it (the evaluate options)."""
    files: dict[str, tuple[WeightsFile, list[str]]] = {}
    for name in metric_names():
        for weights in metric_class(name).weights:
            known, readers = files.setdefault(weights.flag, (weights, []))
            if known != weights:
                raise KfbenchError(
                    f"metrics {', '.join(readers)} and {name} declare different files for {weights.flag}; "
                    "share one WeightsFile"
                )
            readers.append(name)
    return files


def listing() -> list[str]:
    """`kfbench list metrics`: name, description, papers, weights file(s) or 'no weights'."""
    names = metric_names()
    width = max(len(n) for n in names)
    lines = []
    for name in names:
        cls = metric_class(name)
        papers = f" ({'; '.join(cls.papers)})" if cls.papers else ""
        lines.append(f"{name:<{width}}  {cls.description}{papers}  [{cls.listing_weights()}]")
    return lines
