"""`kfbench check`: evaluate a small fixed subset and compare it with a committed baseline."""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kfbench.errors import KfbenchError
from kfbench.metrics.evaluate import EvalConfig, evaluate_store
from kfbench.metrics.registry import metric_class, metric_names
from kfbench.registry import create_dataset, create_method
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from kfbench.utils.userfiles import read_json_object

DEFAULT_SUBSET: dict[str, Any] = {
    "dataset": "synthetic",
    "dataset_options": {"num_frames": 13},
    "methods": ["linear", "flow"],
    "metrics": ["psnr", "ssim", "keyframe_psnr", "warp_error", "flicker"],
    "seed": 0,
}
DEFAULT_TOLERANCE = 0.01


@dataclass
class CheckOutcome:
    regressions: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    checked: int = 0  # baseline values compared (0 when the baseline was rewritten instead)

    @property
    def summary(self) -> str:
        """The closing line: how many values were checked and how many regressed."""
        verdict = "FAILED" if self.regressions else "passed"
        return f"check {verdict}: {self.checked} metric value(s) checked, {len(self.regressions)} regressed"


def parse_tolerance(text: str | None, default: float) -> dict[str, float]:
    """'0.02' (every metric) or 'psnr=0.01,ssim=0.02': allowed relative worsening per metric."""
    tolerances = {metric: default for metric in metric_names()}
    if not text:
        return tolerances
    try:
        if "=" not in text:
            tolerances = {metric: float(text) for metric in tolerances}
        for part in text.split(",") if "=" in text else []:
            metric, _, value = part.partition("=")
            if metric.strip() not in tolerances:
                raise KfbenchError(f"--tolerance: unknown metric '{metric}'; valid: {', '.join(tolerances)}")
            tolerances[metric.strip()] = float(value)
    except ValueError:
        raise KfbenchError(
            f"--tolerance takes a fraction (0.02) or metric=fraction pairs (psnr=0.01,ssim=0.02), got '{text}'"
        ) from None
    if not all(math.isfinite(t) and t >= 0 for t in tolerances.values()):
        raise KfbenchError(f"--tolerance needs fractions >= 0, got '{text}'")
    return tolerances


def evaluate_subset(subset: dict[str, Any]) -> pd.DataFrame:
    """Run the subset's methods on its dataset in a temporary store and evaluate its metrics."""
    with tempfile.TemporaryDirectory(prefix="kfbench-check-") as tmp:
        out = Path(tmp)
        data = create_dataset(subset["dataset"], **subset["dataset_options"])
        for method in subset["methods"]:
            run_benchmark(create_method(method), data, RunStore(out), data.pair_ids(), seed=subset["seed"])
        results, _ = evaluate_store(out, EvalConfig(metrics=tuple(subset["metrics"]), bootstrap=0))
    return results


def compare(baseline: list[dict[str, Any]], results: pd.DataFrame, tolerances: dict[str, float]) -> CheckOutcome:
    """Name every baseline metric that got worse by more than its tolerance (or can no longer be computed)."""
    outcome = CheckOutcome(checked=len(baseline))
    current = {(r.dataset, r.method, r.metric): r for r in results.itertuples(index=False)}
    for entry in baseline:
        key = (entry["dataset"], entry["method"], entry["metric"])
        name = "/".join(key)
        row = current.get(key)
        if row is None or row.missing_reason or math.isnan(row.value):
            outcome.regressions.append(
                f"{name}: missing now ({row.missing_reason if row is not None else 'not evaluated'})"
            )
            continue
        old, new, tol = float(entry["value"]), float(row.value), tolerances[entry["metric"]]
        worse = (old - new) if metric_class(entry["metric"]).higher_is_better else (new - old)
        change = worse / max(abs(old), 1e-12)
        line = f"{name}: baseline {old:.6g}, now {new:.6g}"
        if change > tol:
            outcome.regressions.append(f"{line} (worse by {change:.2%} > tolerance {tol:.2%})")
        else:
            outcome.lines.append(line + (f" (better by {-change:.2%}; --update to record)" if -change > tol else " ok"))
    return outcome


def read_baseline(path: Path, update: bool) -> dict[str, Any]:
    """The baseline file, checked: a JSON object whose 'values' (unless about to be rewritten) are metric entries."""
    baseline = read_json_object(path, "baseline")
    fix = f"rewrite it with `kfbench check --baseline {path} --update`"
    if not isinstance(baseline.get("subset", {}), dict):
        raise KfbenchError(f"baseline {path}: 'subset' must be a JSON object; {fix}")
    tolerance = baseline.get("tolerance", DEFAULT_TOLERANCE)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < math.inf:
        raise KfbenchError(f"baseline {path}: 'tolerance' must be a fraction >= 0, got {tolerance!r}")
    values = baseline.get("values")
    if update:
        return baseline
    if not isinstance(values, list) or not values:
        raise KfbenchError(f"baseline {path} lists no 'values' to compare with; {fix}")
    keys = {"dataset": str, "method": str, "metric": str, "value": (int, float)}
    for i, entry in enumerate(values):
        if not isinstance(entry, dict) or any(not isinstance(entry.get(k), t) for k, t in keys.items()):
            raise KfbenchError(f"baseline {path}: 'values' entry {i} needs {', '.join(keys)} (value a number); {fix}")
        if entry["metric"] not in metric_names():
            raise KfbenchError(
                f"baseline {path}: 'values' entry {i} has unknown metric '{entry['metric']}'; "
                f"valid: {', '.join(metric_names())}"
            )
    return baseline


def run_check(baseline_path: Path, tolerance: str | None = None, update: bool = False) -> CheckOutcome:
    """Evaluate the baseline's subset; with ``update`` write the new baseline instead of comparing."""
    if baseline_path.exists():
        baseline = read_baseline(baseline_path, update)
    elif update:
        baseline = {"subset": DEFAULT_SUBSET, "tolerance": DEFAULT_TOLERANCE, "values": []}
    else:
        raise KfbenchError(
            f"baseline '{baseline_path}' does not exist; create it with `kfbench check --baseline {baseline_path} "
            "--update`"
        )
    tolerances = parse_tolerance(tolerance, float(baseline.get("tolerance", DEFAULT_TOLERANCE)))
    subset = {**DEFAULT_SUBSET, **baseline.get("subset", {})}
    results = evaluate_subset(subset)
    if update:
        values = [
            {"dataset": r.dataset, "method": r.method, "metric": r.metric, "value": float(r.value)}
            for r in results.itertuples(index=False)
            if not r.missing_reason and not math.isnan(r.value)
        ]
        baseline_path.parent.mkdir(parents=True, exist_ok=True)
        baseline_path.write_text(json.dumps({**baseline, "subset": subset, "values": values}, indent=2) + "\n")
        return CheckOutcome(lines=[f"wrote {len(values)} baseline value(s) to {baseline_path}"])
    return compare(baseline["values"], results, tolerances)
