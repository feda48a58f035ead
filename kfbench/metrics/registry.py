"""The metrics `kfbench evaluate` computes: one line each, a name and the ``module:Class`` that is the metric.

A metric is one module (``kfbench/metrics/<name>.py``: a :class:`~kfbench.metrics.base.Metric` subclass
with its metadata, maths and state) and one line in ``METRICS_TABLE``. A metric kept in another package
registers with an entry point of group ``kfbench.metrics`` (``name = "module:Class"``) and needs no line
here (docs/adding-a-metric.md). Names resolve without importing any metric; a class is imported when it is
asked for, and the metric modules import their networks only when they compute.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from kfbench.errors import KfbenchError
from kfbench.registry import Registry, close_matches

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
    "dists": "kfbench.metrics.dists:DistsMetric",
    "flolpips": "kfbench.metrics.flolpips:FloLpipsMetric",
    "subject_consistency": "kfbench.metrics.vbench.subject_consistency:SubjectConsistencyMetric",
    "background_consistency": "kfbench.metrics.vbench.background_consistency:BackgroundConsistencyMetric",
    "motion_smoothness": "kfbench.metrics.vbench.motion_smoothness:MotionSmoothnessMetric",
    "aesthetic_quality": "kfbench.metrics.vbench.aesthetic_quality:AestheticQualityMetric",
    "dynamic_degree": "kfbench.metrics.vbench.dynamic_degree:DynamicDegreeMetric",
    "imaging_quality": "kfbench.metrics.vbench.imaging_quality:ImagingQualityMetric",
}


@cache
def registered() -> Registry[type[Metric]]:
    """Every metric (lazy ``module:Class``): kfbench's, then those of installed packages' entry points."""
    registry: Registry[type[Metric]] = Registry("metric")
    for name, spec in METRICS_TABLE.items():
        registry.register(name, spec, origin=f"{spec} in kfbench/metrics/registry.py", lazy=True)
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        package = point.dist.name if point.dist else "an installed package"
        registry.register(point.name, point.value, origin=f"{point.value}, entry point of {package}", lazy=True)
    return registry


def metric_names() -> tuple[str, ...]:
    """The registered metric names, in report order: kfbench's as in METRICS_TABLE, then the entry points'."""
    plugins = [n for n in registered().names() if n not in METRICS_TABLE]
    return (*METRICS_TABLE, *plugins)


def check_names(names: tuple[str, ...] | list[str]) -> None:
    """One line naming each unknown metric, with the nearest registered names."""
    unknown = [n for n in names if n not in registered()]
    if unknown:
        listed = "; ".join(f"'{n}'{close_matches(n, list(metric_names()))}" for n in unknown)
        raise KfbenchError(f"unknown metric(s) {listed}; valid: {', '.join(metric_names())} (kfbench list metrics)")


@cache
def metric_class(name: str) -> type[Metric]:
    """The metric class registered as ``name`` (its module imported now; its networks not yet)."""
    from kfbench.metrics.base import Metric

    check_names([name])
    cls = registered().get(name)
    if not (isinstance(cls, type) and issubclass(cls, Metric)) or cls.name != name:
        raise KfbenchError(
            f"metric '{name}' ({registered().origin(name)}) is not a kfbench.metrics.base.Metric subclass "
            f"with name = '{name}'"
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
    """`kfbench list metrics`: name, description, papers, whether it needs ground truth, weights file(s) or 'no
    weights'."""
    names = metric_names()
    width = max(len(n) for n in names)
    lines = []
    for name in names:
        cls = metric_class(name)
        papers = f" ({'; '.join(cls.papers)})" if cls.papers else ""
        truth = "needs ground truth" if cls.needs_truth else "no ground truth needed"
        lines.append(f"{name:<{width}}  {cls.description}{papers}  ({truth})  [{cls.listing_weights()}]")
    return lines
