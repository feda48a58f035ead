"""`kfbench compare A B`: every metric's paired difference of two methods on the same pairs, into
``OUT/comparisons.{csv,parquet}`` (rows of the same dataset and methods replaced, others kept)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kfbench.compare.paired import PAIRS_NEEDED_RULE, RESOLVED_RULE, Difference, per_pair_difference, set_difference
from kfbench.compare.sets import agreed_config, recorded_settings, set_statistics
from kfbench.errors import KfbenchError
from kfbench.metrics.config import EvalConfig
from kfbench.metrics.perpair import PER_PAIR, PER_PAIR_COLUMNS
from kfbench.metrics.registry import check_names, metric_class, metric_names
from kfbench.metrics.resultsfile import load_results, read_table, text_column, write_table
from kfbench.store.runstore import RunStore

COMPARISONS = "comparisons"
COMPARISON_COLUMNS = [
    "dataset",
    "method_a",
    "method_b",
    "metric",
    "kind",
    "value_a",
    "value_b",
    "difference",
    "ci_low",
    "ci_high",
    "unpaired_ci_low",
    "unpaired_ci_high",
    "test",
    "p_value",
    "n",
    "resolved",
    "better",
    "pairs_needed",
    "settings",
    "missing_reason",
]
KEYS = ["dataset", "method_a", "method_b"]


@dataclass
class Request:
    """What to compare and how (the bootstrap and level of the comparison, not of the original evaluation)."""

    a: str
    b: str
    datasets: list[str] | None = None
    metrics: list[str] | None = None
    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0
    same_pairs: bool = False  # refuse (instead of restricting to the common pairs) when the pair sets differ
    device: str = "cpu"
    allow_torchscript_code: bool = False


def compare_methods(out: Path, request: Request) -> tuple[pd.DataFrame, list[str]]:
    """The comparison rows (also merged into OUT/comparisons.*) and one line per note (pairs left out)."""
    if request.a == request.b:
        raise KfbenchError(f"compare needs two different methods, got '{request.a}' twice")
    check_names(request.metrics or [])
    results, _ = load_results(out)
    per_pair = read_table(out / f"{PER_PAIR}.csv", PER_PAIR_COLUMNS)
    if per_pair.empty:
        raise KfbenchError(f"no per-pair values in '{out}' ({PER_PAIR}.csv); run `kfbench evaluate --out {out}` again")
    datasets = _datasets(results, request)
    rows, notes = [], []
    for dataset in datasets:
        pairs, note = _common_pairs(out, dataset, request)
        notes += [note] if note else []
        rows += _dataset_rows(out, dataset, pairs, results, per_pair, request)
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    old = read_table(out / f"{COMPARISONS}.csv", COMPARISON_COLUMNS)
    if not old.empty:
        done = set(zip(table["dataset"], table["method_a"], table["method_b"]))
        old = old[[tuple(k) not in done for k in old[KEYS].itertuples(index=False)]]
        table = pd.concat([old, table], ignore_index=True) if not old.empty else table
    table = table.sort_values(KEYS, kind="stable").reset_index(drop=True)
    table["missing_reason"] = text_column(table["missing_reason"])
    write_table(out, COMPARISONS, table)
    mine = table[(table["method_a"] == request.a) & (table["method_b"] == request.b) & table["dataset"].isin(datasets)]
    return mine.reset_index(drop=True), notes


def _datasets(results: pd.DataFrame, request: Request) -> list[str]:
    evaluated = {m: set(results.loc[results["method"] == m, "dataset"]) for m in (request.a, request.b)}
    both = sorted(evaluated[request.a] & evaluated[request.b])
    chosen = [d for d in both if not request.datasets or d in request.datasets]
    if not chosen:
        listed = "; ".join(f"{m}: {', '.join(sorted(d)) or 'none'}" for m, d in evaluated.items())
        raise KfbenchError(
            f"methods '{request.a}' and '{request.b}' were not both evaluated on "
            f"{'dataset(s) ' + ', '.join(request.datasets) if request.datasets else 'any dataset'} "
            f"(evaluated datasets: {listed}); run and evaluate both first"
        )
    return chosen


def _common_pairs(out: Path, dataset: str, request: Request) -> tuple[list[str], str]:
    """The pairs both methods completed, and a line on the pairs only one did (refused with ``same_pairs``)."""
    store = RunStore(out)
    a, b = (set(store.completed_pairs(dataset, m)) for m in (request.a, request.b))
    common = sorted(a & b)
    if a == b:
        return common, ""
    line = (
        f"{dataset}: {len(a - b)} pair(s) only in {request.a}, {len(b - a)} only in {request.b}; "
        f"comparing the {len(common)} pair(s) both have"
    )
    if request.same_pairs or not common:
        raise KfbenchError(
            line.replace("comparing", "not comparing")
            + ("" if common else " (none)")
            + "; run both methods on the same pairs"
            + ("" if not common else " or drop --same-pairs")
        )
    return common, line


def _dataset_rows(
    out: Path, dataset: str, pairs: list[str], results: pd.DataFrame, per_pair: pd.DataFrame, request: Request
) -> list[dict[str, Any]]:
    settings = {
        "confidence": request.confidence,
        "resamples": request.resamples,
        "seed": request.seed,
        "unit": "pair",
        "resolved_if": RESOLVED_RULE,
        "pairs_needed": PAIRS_NEEDED_RULE,
        "difference": f"{request.a} - {request.b}, in the metric's units",
    }
    rows = []
    mine = per_pair[(per_pair["dataset"] == dataset) & per_pair["pair"].isin(pairs)]
    own = {m: part.pivot_table(index="pair", columns="method", values="value") for m, part in mine.groupby("metric")}
    for metric in [m for m in metric_names() if not request.metrics or m in request.metrics]:
        if metric in own and {request.a, request.b} <= set(own[metric].columns):
            values = own[metric][[request.a, request.b]].dropna()
            kind = {
                "kind": "per-pair",
                "test": "Wilcoxon signed-rank, two-sided (scipy.stats.wilcoxon)",
                "settings": {
                    **settings,
                    "interval": "paired percentile bootstrap of the mean difference",
                    "statistic": "mean over pairs of each pair's own value (pairs weighted equally)",
                },
            }
            found = per_pair_difference(
                values[request.a].to_numpy(np.float64),
                values[request.b].to_numpy(np.float64),
                resamples=request.resamples,
                confidence=request.confidence,
                seed=request.seed,
            )
        elif _computed(results, dataset, request, metric):
            a, b = (recorded_settings(results, dataset, m, metric) for m in (request.a, request.b))
            kind = {
                "kind": "set",
                "test": "",
                "settings": {
                    **settings,
                    "interval": "paired bootstrap over pairs (shifted percentile, as the metric's own interval)",
                    "metric_settings": {k: a.get(k) for k in ("protocol", "weights", "covariance", "window") if k in a},
                },
            }
            found = _set_difference(out, dataset, pairs, metric, a, b, request)
        else:
            continue
        rows.append(_row(dataset, metric, request, kind, found))
    return rows


def _computed(results: pd.DataFrame, dataset: str, request: Request, metric: str) -> bool:
    rows = results[
        (results["dataset"] == dataset) & (results["metric"] == metric) & results["method"].isin([request.a, request.b])
    ]
    return len(rows) == 2 and not rows["missing_reason"].astype(bool).any() and rows["value"].notna().all()


def _set_difference(
    out: Path, dataset: str, pairs: list[str], metric: str, a: dict[str, Any], b: dict[str, Any], request: Request
) -> Difference | str:
    base = EvalConfig(
        bootstrap=request.resamples,
        confidence=request.confidence,
        seed=request.seed,
        device=request.device,
        allow_torchscript_code=request.allow_torchscript_code,
    )
    config = agreed_config(metric, a, b, base)
    if isinstance(config, str):
        return config
    statistics = set_statistics(out, dataset, (request.a, request.b), pairs, config)
    if isinstance(statistics, str):
        return statistics
    try:
        return set_difference(
            *statistics, len(pairs), resamples=request.resamples, confidence=request.confidence, seed=request.seed
        )
    except KfbenchError as exc:
        return str(exc)


def _row(dataset: str, metric: str, request: Request, kind: dict[str, Any], found: Difference | str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dataset": dataset,
        "method_a": request.a,
        "method_b": request.b,
        "metric": metric,
        **kind,
        "settings": json.dumps(kind["settings"], default=str),
        "missing_reason": "",
    }
    if isinstance(found, str):
        return {**row, "missing_reason": found, "resolved": False, "better": ""}
    better = ""
    if found.resolved:
        better = request.a if (found.difference > 0) == metric_class(metric).higher_is_better else request.b
    return {**row, **asdict(found), "better": better}


def summary_lines(table: pd.DataFrame) -> list[str]:
    """One line per comparison row: difference [interval], test, n, resolved or the pairs needed."""
    lines = []
    for r in table.itertuples(index=False):
        head = f"{r.dataset} {r.metric}: {r.method_a} - {r.method_b}"
        if r.missing_reason:
            lines.append(f"{head}: missing ({r.missing_reason})")
            continue
        test = "" if pd.isna(r.p_value) else f", signed-rank p={r.p_value:.3g}"
        verdict = (
            f"resolved, {r.better} better"
            if r.resolved
            else "unresolved" + ("" if pd.isna(r.pairs_needed) else f", ~{int(r.pairs_needed)} pairs needed (estimate)")
        )
        lines.append(
            f"{head} = {r.difference:+.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}] paired; "
            f"unpaired [{r.unpaired_ci_low:.4g}, {r.unpaired_ci_high:.4g}]{test}; n={int(r.n)} pairs: {verdict}"
        )
    return lines
