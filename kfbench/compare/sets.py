"""Set metrics (FID, KID, FVD, FVD-VideoMAE, JEDi) of two methods on the same pairs, from the feature cache.

The settings a set metric was evaluated with are read back from its results row (protocol conventions,
weights files, Inception resize, KID subsets, I3D epsilon); both methods' rows must agree. The pairs are
loaded as `kfbench evaluate` loads them, so their features come from ``OUT/.cache/features`` (computed
and cached only where missing), and the metric is recomputed on any subset of pairs by
``kfbench.metrics.tidy.pair_statistic``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kfbench.metrics.config import EvalConfig
from kfbench.metrics.registry import metric_class

PairStatistic = Callable[[np.ndarray, bool], float]
SAME_KEYS = ("conventions", "weights", "resize_to_299", "covariance", "subsets", "subset_size", "i3d_bn_eps")
TORCHSCRIPT_EPS = "the TorchScript file's own"


def recorded_settings(results: pd.DataFrame, dataset: str, method: str, metric: str) -> dict[str, Any]:
    row = results[(results["dataset"] == dataset) & (results["method"] == method) & (results["metric"] == metric)]
    return json.loads(row["settings"].iloc[0] or "{}") if len(row) else {}


def config_from_settings(metric: str, settings: dict[str, Any], base: EvalConfig) -> EvalConfig | str:
    """The evaluation config that produced a set metric's row (``base`` gives device and the bootstrap), or why not."""
    conventions = settings.get("conventions") or {}
    if not conventions:
        return f"{metric}'s results row records no protocol conventions; evaluate again with this kfbench"
    fields: dict[str, Any] = {
        "protocol": str(conventions["name"]).split(" (", 1)[0],
        "metrics": (metric,),
        **{
            k: conventions[k]
            for k in ("include_keyframes", "fid_covariance", "fvd_covariance", "fvd_window", "fvd_window_start")
        },
    }
    weights = settings.get("weights")
    paths = [weights] if isinstance(weights, str) else list(weights or [])
    fields["weights"] = {file.key: path for file, path in zip(metric_class(metric).weights, paths)}
    if "resize_to_299" in settings:
        fields["inception_resize"] = settings["resize_to_299"]
    if "subsets" in settings:
        fields["kid_subsets"], fields["kid_subset_size"] = settings["subsets"], settings["subset_size"]
    if settings.get("i3d_bn_eps") == TORCHSCRIPT_EPS:
        if not base.allow_torchscript_code:
            return (
                "its I3D file is TorchScript: reading its features again runs the code inside it; "
                "pass --allow-torchscript-code to allow it"
            )
    elif "i3d_bn_eps" in settings:
        fields["i3d_bn_eps"] = settings["i3d_bn_eps"]
    return replace(base, **fields)


def agreed_config(metric: str, a: dict[str, Any], b: dict[str, Any], base: EvalConfig) -> EvalConfig | str:
    """The config both methods' rows were evaluated with, or why there is none."""
    differing = [k for k in SAME_KEYS if a.get(k) != b.get(k)]
    if differing:
        return (
            f"the two methods' {metric} rows were evaluated with different {', '.join(differing)}; "
            "evaluate both with the same settings"
        )
    return config_from_settings(metric, a, base)


def set_statistics(
    out: Path, dataset: str, methods: tuple[str, str], pairs: list[str], config: EvalConfig
) -> tuple[PairStatistic, PairStatistic] | str:
    """Each method's set metric (``config.metrics[0]``) over the given pairs, or why it cannot be recomputed."""
    from kfbench.metrics.cache import FeatureCache
    from kfbench.metrics.evaluate import build_scorers, feed_pairs
    from kfbench.metrics.tidy import pair_statistic
    from kfbench.store.runstore import RunStore
    from kfbench.store.sourcedata import SourceData

    (scorer,) = build_scorers(config)
    if scorer.missing:
        return scorer.missing
    cache, sources, statistics = FeatureCache(out / ".cache" / "features"), SourceData(), []
    for method in methods:
        _, found = feed_pairs(RunStore(out), dataset, method, config, [scorer], cache, sources)
        if scorer.unreadable:
            return scorer.unreadable
        kept = dict(zip(found.read_by.get(scorer.name, []), scorer.kept))
        chosen = [kept.get(p) for p in pairs]
        if any(k is None for k in chosen):
            return f"{scorer.name} has no features for some of the pairs of {method} (its clip window is too short)"
        statistics.append(pair_statistic(scorer.prepare(), [k[0] for k in chosen], [k[1] for k in chosen]))
    return statistics[0], statistics[1]
