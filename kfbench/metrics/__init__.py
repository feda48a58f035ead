"""Metrics: the registry (``kfbench list metrics``), Frechet distances, KID, per-frame fidelity, bootstrap intervals."""

from kfbench.metrics.evaluate import METRICS, EvalConfig, evaluate_store, load_results
from kfbench.metrics.frechet import (
    SampleSizeWarning,
    frechet_distance,
    frechet_distance_features,
    gaussian_stats,
)
from kfbench.metrics.kid import kernel_distance

__all__ = [
    "METRICS",
    "EvalConfig",
    "SampleSizeWarning",
    "evaluate_store",
    "frechet_distance",
    "frechet_distance_features",
    "gaussian_stats",
    "kernel_distance",
    "load_results",
]
