"""Tidy result rows: one per (dataset, method, metric), with bootstrap intervals over pairs."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.bootstrap import INTERVALS, Interval, bootstrap_interval
from kfbench.metrics.config import EvalConfig
from kfbench.metrics.timegrid import PairFrames

COLUMNS = [
    "dataset",
    "method",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "extractor",
    "settings",
    "missing_reason",
    "fingerprint",
]
LATER_COLUMNS = {"fingerprint": ""}  # added since results were first written: older tables read with this value

# prepare(x, y) -> score(ix, iy, resample): the statistic of rows ix of x and iy of y (repeats allowed)
Scorer = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray, np.ndarray, bool], float]]


@dataclass
class Context:
    """The (dataset, method) being scored, the config, and the settings every row records."""

    dataset: str
    method: str
    config: EvalConfig
    base: dict[str, Any]
    first: PairFrames | None  # the first pair's grid (positions, indices), its frames dropped; None: no pair
    pairs: int

    @property
    def real_name(self) -> str:
        """What the real set is: the ground truth or a reference run's frames (``evaluate --reference-run``)."""
        return "reference-run" if "reference_run" in self.base else "ground-truth"

    def row(self, metric: str, **values: Any) -> dict[str, Any]:
        row = {
            "dataset": self.dataset,
            "method": self.method,
            "metric": metric,
            "value": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n": 0,
            "extractor": "",
            "settings": self.base,
            "missing_reason": "",
            "fingerprint": "",
        }
        row.update(values)
        row["settings"] = json.dumps(row["settings"], default=str)
        return row

    def interval(
        self, statistic: Callable[[np.ndarray], float], n: int, point: float, interval: Interval
    ) -> tuple[float, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bootstrap_interval(
                statistic,
                n,
                point,
                resamples=self.config.bootstrap,
                confidence=self.config.confidence,
                seed=self.config.seed,
                interval=interval,
            )

    def percentile_row(
        self,
        metric: str,
        statistic: Callable[[np.ndarray], float],
        pairs: int,
        n: int,
        extractor: str,
        settings: dict[str, Any],
    ) -> dict[str, Any]:
        """A statistic of per-pair values (``statistic(pair indices)``), with a percentile interval over pairs."""
        point = statistic(np.arange(pairs))
        low, high = self.interval(statistic, pairs, point, "percentile")
        return self.row(
            metric,
            value=point,
            ci_low=low,
            ci_high=high,
            n=n,
            extractor=extractor,
            settings={**self.base, **settings, "interval": INTERVALS["percentile"]},
        )

    def distance_row(
        self,
        metric: str,
        fake: list[np.ndarray],
        truth: list[np.ndarray],
        tag: str,
        settings: dict[str, Any],
        scorer: Scorer,
        *,
        frechet: bool,
    ) -> dict[str, Any]:
        """A distribution distance over all pairs' features, with an interval from resampled pairs."""
        x, y = np.concatenate(fake), np.concatenate(truth)
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise KfbenchError(
                f"{metric} on {self.dataset}/{self.method}: the {tag} features are not finite (NaN or inf); "
                f"the weights file {settings.get('weights')} is broken: replace it"
            )
        statistic = pair_statistic(scorer, fake, truth)
        try:
            point = statistic(np.arange(len(fake)), False)
        except KfbenchError as exc:
            return self.row(metric, n=len(x), extractor=tag, settings=settings, missing_reason=str(exc))
        settings = {
            **settings,
            **({"biased_at_this_n": len(x) < x.shape[1]} if frechet else {}),
            "feature_dims": x.shape[1],
            "interval": INTERVALS["shifted-percentile"],
        }
        low, high = self.interval(lambda idx: statistic(idx, True), len(fake), point, "shifted-percentile")
        if frechet:
            low = max(low, 0.0)
        return self.row(metric, value=point, ci_low=low, ci_high=high, n=len(x), extractor=tag, settings=settings)


def pair_statistic(
    scorer: Scorer, fake: list[np.ndarray], truth: list[np.ndarray]
) -> Callable[[np.ndarray, bool], float]:
    """A set metric of the pairs ``idx`` (repeats allowed): ``statistic(idx, resample)``, from each pair's features."""
    rows_x, rows_y = _row_ranges(fake), _row_ranges(truth)
    score = scorer(np.concatenate(fake), np.concatenate(truth))
    return lambda idx, resample: score(
        np.concatenate([rows_x[i] for i in idx]), np.concatenate([rows_y[i] for i in idx]), resample
    )


def _row_ranges(parts: list[np.ndarray]) -> list[np.ndarray]:
    """Row indices of each pair's features in their concatenation."""
    ends = np.cumsum([len(p) for p in parts])
    return [np.arange(end - len(p), end) for p, end in zip(parts, ends)]
