"""Every per-pair metric broken down by pair difficulty: terciles of each factor, or cut points the user gives.

Cut points c1 < c2 < ... split a factor's values into bins (-inf, c1], (c1, c2], ..., (ck, inf); the
default cut points are the factor's terciles over the dataset's pairs (each pair counted once, whatever
the number of methods). A factor whose pairs all fall into one bin (e.g. one gap length) is left out.
Per bin and method: the mean of the pairs' own values with a percentile bootstrap interval over those pairs.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from kfbench.errors import KfbenchError
from kfbench.metrics.bootstrap import bootstrap_interval
from kfbench.metrics.difficulty import FACTORS, HARDER_WHEN_HIGHER

BY_DIFFICULTY = "by_difficulty"
BY_DIFFICULTY_COLUMNS = [
    "dataset",
    "method",
    "metric",
    "factor",
    "bin",
    "label",
    "cut_rule",
    "harder_when_higher",
    "value",
    "ci_low",
    "ci_high",
    "n",
]
TERCILES = "terciles of the dataset's pairs"


def parse_bins(text: str | None) -> dict[str, list[float]]:
    """'motion=1,3;occlusion=0.1' -> {'motion': [1, 3], 'occlusion': [0.1]} (cut points, increasing)."""
    if not text:
        return {}
    bins: dict[str, list[float]] = {}
    for part in (p.strip() for p in text.split(";") if p.strip()):
        factor, _, cuts = part.partition("=")
        factor = factor.strip()
        if factor not in FACTORS:
            raise KfbenchError(
                f"--difficulty-bins: unknown factor '{factor}'; valid: {', '.join(FACTORS)} "
                "(e.g. --difficulty-bins 'motion=1,3;gap_frames=17')"
            )
        try:
            values = [float(c) for c in cuts.split(",") if c.strip()]
        except ValueError:
            raise KfbenchError(f"--difficulty-bins: '{part}' needs numbers after '=' (e.g. motion=1,3)") from None
        if not values or any(b <= a for a, b in zip(values, values[1:])):
            raise KfbenchError(f"--difficulty-bins: '{part}' needs one or more increasing cut points (e.g. motion=1,3)")
        bins[factor] = values
    return bins


def cut_points(values: np.ndarray, given: list[float] | None) -> np.ndarray:
    """The given cut points, or the terciles of ``values`` (distinct cut points only)."""
    if given:
        return np.asarray(given, np.float64)
    return np.unique(np.quantile(values, [1 / 3, 2 / 3]))


def bin_label(index: int, cuts: np.ndarray) -> str:
    if index == 0:
        return f"<= {cuts[0]:.3g}"
    if index == len(cuts):
        return f"> {cuts[-1]:.3g}"
    return f"{cuts[index - 1]:.3g} - {cuts[index]:.3g}"


def pair_bins(per_pair: pd.DataFrame, factor: str, given: list[float] | None) -> tuple[pd.Series, np.ndarray]:
    """Each pair's bin index (pairs without a value left out) and the cut points, for one dataset's pairs."""
    pairs = per_pair.drop_duplicates("pair").set_index("pair")[factor].astype(float).dropna()
    if pairs.empty:
        return pd.Series(dtype=int), np.array([])
    cuts = cut_points(pairs.to_numpy(), given)
    return pd.Series(np.searchsorted(cuts, pairs.to_numpy(), side="left"), index=pairs.index), cuts


def group_means(
    frame: pd.DataFrame, keys: list[str], *, confidence: float, resamples: int, seed: int
) -> list[dict[str, Any]]:
    """Per group of ``keys``: the mean of its rows' ``value`` with a percentile bootstrap interval over them, and n."""
    rows = []
    for group_keys, group in frame.groupby(keys, sort=True):
        values = group["value"].to_numpy(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            low, high = bootstrap_interval(
                lambda idx, v=values: float(v[idx].mean()),
                len(values),
                float(values.mean()),
                resamples=resamples,
                confidence=confidence,
                seed=seed,
            )
        rows.append(
            {
                **dict(zip(keys, group_keys)),
                "value": float(values.mean()),
                "ci_low": low,
                "ci_high": high,
                "n": len(values),
            }
        )
    return rows


def breakdown(
    per_pair: pd.DataFrame,
    bins: dict[str, list[float]] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """``BY_DIFFICULTY_COLUMNS`` rows for every dataset, factor (with two or more bins), bin, method and metric."""
    rows: list[dict[str, Any]] = []
    for dataset, part in per_pair.groupby("dataset", sort=True):
        for factor in FACTORS:
            given = (bins or {}).get(factor)
            which, cuts = pair_bins(part, factor, given)
            if which.nunique() < 2:
                continue
            binned = part.assign(bin=part["pair"].map(which)).dropna(subset=["bin"]).astype({"bin": int})
            for row in group_means(
                binned, ["method", "metric", "bin"], confidence=confidence, resamples=resamples, seed=seed
            ):
                rows.append(
                    {
                        "dataset": dataset,
                        "factor": factor,
                        **row,
                        "label": bin_label(row["bin"], cuts),
                        "cut_rule": "given cut points" if given else TERCILES,
                        "harder_when_higher": HARDER_WHEN_HIGHER[factor],
                    }
                )
    return pd.DataFrame(rows, columns=BY_DIFFICULTY_COLUMNS)
