"""Bootstrap confidence intervals over pairs, from values and features already computed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float],
    num_groups: int,
    point: float,
    *,
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    bias_corrected: bool = False,
) -> tuple[float, float]:
    """Percentile interval of ``statistic(indices)`` over pairs drawn with replacement.

    Pairs are the resampling unit (frames of one pair are correlated). With ``bias_corrected``
    the percentiles are shifted by the bootstrap bias (mean of the resamples minus ``point``):
    duplicated samples inflate a Frechet distance, and the shift removes that resampling bias.
    """
    if resamples < 1 or num_groups < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, num_groups, num_groups)) for _ in range(resamples)], np.float64)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    if bias_corrected:
        bias = values.mean() - point
        low, high = low - bias, high - bias
    return float(low), float(high)
