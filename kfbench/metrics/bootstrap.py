"""Bootstrap confidence intervals over pairs, from values and features already computed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

Interval = Literal["percentile", "shifted-percentile"]
INTERVALS: dict[str, str] = {
    "percentile": "percentile interval of the resampled statistics",
    "shifted-percentile": "percentile interval shifted by the bootstrap bias (mean of the resamples minus the "
    "estimate); "
    "not a bias-corrected (BCa) interval",
}


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float],
    num_groups: int,
    point: float,
    *,
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    interval: Interval = "percentile",
) -> tuple[float, float]:
    """``interval`` of ``statistic(indices)`` over pairs drawn with replacement (see ``INTERVALS``).

    Pairs are the resampling unit (frames of one pair are correlated). ``"shifted-percentile"``
    subtracts the bootstrap bias from both percentiles: duplicated samples inflate a Frechet
    distance, and the shift removes that resampling bias.
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, got '{interval}'")
    if resamples < 1 or num_groups < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, num_groups, num_groups)) for _ in range(resamples)], np.float64)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    if interval == "shifted-percentile":
        bias = values.mean() - point
        low, high = low - bias, high - bias
    return float(low), float(high)
