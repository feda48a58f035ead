"""A gap-length sweep's results: every per-pair metric per gap length (frames), per method, with intervals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kfbench.compare.strata import BY_DIFFICULTY, breakdown, group_means
from kfbench.metrics.resultsfile import write_table

BY_GAP = "by_gap"
BY_GAP_COLUMNS = ["dataset", "method", "metric", "gap_frames", "value", "ci_low", "ci_high", "n"]


def by_gap(per_pair: pd.DataFrame, *, confidence: float = 0.95, resamples: int = 200, seed: int = 0) -> pd.DataFrame:
    """Mean of the pairs' own values per (dataset, method, metric, gap), for datasets with two or more gaps."""
    if per_pair.empty:
        return pd.DataFrame(columns=BY_GAP_COLUMNS)
    swept = per_pair[per_pair.groupby("dataset")["gap_frames"].transform("nunique") > 1].astype({"gap_frames": int})
    keys = ["dataset", "method", "metric", "gap_frames"]
    rows = group_means(swept, keys, confidence=confidence, resamples=resamples, seed=seed)
    return pd.DataFrame(rows, columns=BY_GAP_COLUMNS)


def write_breakdowns(out: Path, per_pair: pd.DataFrame, *, confidence: float, resamples: int, seed: int) -> None:
    """``OUT/by_difficulty.*`` (terciles) and ``OUT/by_gap.*``, recomputed from the whole per-pair table."""
    settings = {"confidence": confidence, "resamples": resamples, "seed": seed}
    write_table(out, BY_DIFFICULTY, breakdown(per_pair, **settings))
    write_table(out, BY_GAP, by_gap(per_pair, **settings))
