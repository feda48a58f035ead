"""The tidy per-pair table ``OUT/per_pair.{csv,parquet}``: each pair's own value of each per-pair metric, difficulty.

One row per (dataset, method, pair, metric): ``value`` is the metric over that pair alone (PSNR, SSIM,
LPIPS: the mean over its compared frames; keyframe and temporal metrics: the pair's own figure; flicker:
the pair's own ratio). Set metrics (FID, KID, FVD, FVD-VideoMAE, JEDi) have no per-pair value. The
difficulty columns (``kfbench.metrics.difficulty.FACTORS``) repeat the pair's figures on every row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from kfbench.metrics.difficulty import FACTORS
from kfbench.metrics.resultsfile import read_table, write_table

PER_PAIR = "per_pair"
PER_PAIR_COLUMNS = ["dataset", "method", "pair", "metric", "value", *FACTORS]


def per_pair_rows(
    dataset: str, method: str, values: dict[str, dict[str, float]], difficulty: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:
    """Rows of one (dataset, method): ``values[metric][pair]`` is the pair's own value of the metric."""
    return [
        {
            "dataset": dataset,
            "method": method,
            "pair": pair_id,
            "metric": metric,
            "value": float(value),
            **difficulty[pair_id],
        }
        for metric, per_pair in values.items()
        for pair_id, value in per_pair.items()
    ]


def merge_per_pair(out: Path, new: pd.DataFrame, recomputed: set[tuple[str, ...]]) -> pd.DataFrame:
    """Replace the saved rows of the recomputed (dataset, method, metric)s with ``new`` and write the table."""
    old = read_table(out / f"{PER_PAIR}.csv", PER_PAIR_COLUMNS)
    if not old.empty:
        old = old[[k not in recomputed for k in zip(old["dataset"], old["method"], old["metric"])]]
        new = pd.concat([old, new], ignore_index=True) if not old.empty else new
    new = new.sort_values(["dataset", "method", "metric", "pair"], kind="stable").reset_index(drop=True)
    write_table(out, PER_PAIR, new)
    return new
