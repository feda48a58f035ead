"""Paired differences of two methods on the same pairs: bootstrap intervals, a signed-rank test, pairs needed.

Rules (docs/comparisons.md):
- the difference is A - B in the metric's units; per-pair metrics: the mean over pairs of the pairs' own
  differences; set metrics: the metric of A's pairs minus the metric of B's on the same pairs;
- paired interval: pair ids resampled once per bootstrap draw, both methods' statistic on that same draw
  (per-pair: percentile interval; set metrics: percentile shifted by the bootstrap bias, as their own
  intervals); the unpaired interval beside it draws A's and B's pairs independently (what comparing two
  separate intervals amounts to);
- resolved at confidence c: the paired interval excludes 0 and, for per-pair metrics, the Wilcoxon
  signed-rank test (two-sided, scipy.stats.wilcoxon) has p < 1 - c;
- pairs needed when unresolved (an estimate): n x (half-width / |difference|)^2, the n at which an interval
  shrinking as 1/sqrt(n) around the same difference would exclude 0; at least the fewest pairs whose exact
  signed-rank test can reach p < 1 - c. It assumes the difference and the spread stay as observed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kfbench.metrics.bootstrap import Interval, bootstrap_interval

Statistic = Callable[[np.ndarray], float]  # a method's statistic over the pairs with these indices (repeats allowed)
PAIRS_NEEDED_RULE = (
    "n x (interval half-width / |difference|)^2 (an interval shrinking as 1/sqrt(n) around the same "
    "difference), more than n and, for per-pair metrics, at least the fewest pairs whose signed-rank "
    "test can reach the level; an estimate "
    "assuming the observed difference and spread"
)
RESOLVED_RULE = "the paired interval excludes 0 (and, for per-pair metrics, Wilcoxon signed-rank p < 1 - confidence)"


@dataclass
class Difference:
    value_a: float
    value_b: float
    difference: float
    ci_low: float
    ci_high: float
    unpaired_ci_low: float
    unpaired_ci_high: float
    p_value: float  # NaN: no test (set metrics)
    n: int
    resolved: bool
    pairs_needed: float  # NaN when resolved or when no estimate exists (a difference of exactly 0)


def difference_intervals(
    stat_a: Statistic,
    stat_b: Statistic,
    n: int,
    point: float,
    *,
    resamples: int,
    confidence: float,
    seed: int,
    interval: Interval,
) -> tuple[float, float, float, float]:
    """(paired low, high, unpaired low, high) of stat_a - stat_b over bootstrap draws of the n pairs."""
    independent = np.random.default_rng([seed, 1])

    def unpaired(idx: np.ndarray) -> float:
        return stat_a(idx) - stat_b(independent.integers(0, n, n))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paired = bootstrap_interval(
            lambda idx: stat_a(idx) - stat_b(idx),
            n,
            point,
            resamples=resamples,
            confidence=confidence,
            seed=seed,
            interval=interval,
        )
        apart = bootstrap_interval(
            unpaired, n, point, resamples=resamples, confidence=confidence, seed=seed, interval=interval
        )
    return (*paired, *apart)


def signed_rank_p(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of per-pair differences (1 when every difference is 0)."""
    from scipy.stats import wilcoxon

    if not np.any(differences != 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(wilcoxon(differences).pvalue)


def fewest_pairs_for_test(confidence: float) -> int:
    """The fewest pairs whose exact two-sided signed-rank test can give p < 1 - confidence (2 / 2^n)."""
    return math.floor(math.log2(2 / (1 - confidence))) + 1


def pairs_needed(n: int, difference: float, low: float, high: float, minimum: int = 0) -> float:
    """``PAIRS_NEEDED_RULE`` (more than n, at least ``minimum``); NaN without an estimate (no interval, diff 0)."""
    if not (math.isfinite(low) and math.isfinite(high)) or difference == 0 or not math.isfinite(difference):
        return float("nan")
    half = (high - low) / 2
    return float(max(math.ceil(n * (half / abs(difference)) ** 2), minimum, n + 1))


def excludes_zero(low: float, high: float) -> bool:
    return bool(low > 0 or high < 0)


def per_pair_difference(a: np.ndarray, b: np.ndarray, *, resamples: int, confidence: float, seed: int) -> Difference:
    """A and B's own values on the same pairs (aligned): mean difference, intervals, signed-rank test."""
    diff = a - b
    point = float(diff.mean())
    intervals = difference_intervals(
        lambda idx: float(a[idx].mean()),
        lambda idx: float(b[idx].mean()),
        len(a),
        point,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        interval="percentile",
    )
    p = signed_rank_p(diff)
    resolved = excludes_zero(*intervals[:2]) and p < 1 - confidence
    needed = (
        float("nan") if resolved else pairs_needed(len(a), point, *intervals[:2], fewest_pairs_for_test(confidence))
    )
    return Difference(float(a.mean()), float(b.mean()), point, *intervals, p, len(a), resolved, needed)


def set_difference(
    stat_a: Callable[[np.ndarray, bool], float],
    stat_b: Callable[[np.ndarray, bool], float],
    n: int,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> Difference:
    """A set metric of A's and of B's pairs (``stat(idx, resample)``), differences over the same resampled pairs."""
    every = np.arange(n)
    value_a, value_b = stat_a(every, False), stat_b(every, False)
    point = value_a - value_b
    intervals = difference_intervals(
        lambda idx: stat_a(idx, True),
        lambda idx: stat_b(idx, True),
        n,
        point,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        interval="shifted-percentile",
    )
    resolved = excludes_zero(*intervals[:2])
    needed = float("nan") if resolved else pairs_needed(n, point, *intervals[:2])
    return Difference(value_a, value_b, point, *intervals, float("nan"), n, resolved, needed)
