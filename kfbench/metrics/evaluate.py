"""`kfbench evaluate`: score every completed run of a run store against its dataset's ground truth.

Per (dataset, method) it loads each pair once, maps the generated frames onto the protocol's time
grid beside the dataset's one real set (``kfbench.metrics.timegrid``; conventions from
``kfbench.metrics.protocol``), and feeds it to every requested metric (``kfbench.metrics.registry``:
``update`` per pair); each metric then gives its tidy rows (``compute``), merged into ``results.{csv,parquet}``
(``kfbench.metrics.resultsfile``: only recomputed rows are replaced, under the store's lock).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from kfbench.errors import KfbenchError
from kfbench.metrics.base import Metric, Models
from kfbench.metrics.cache import FeatureCache
from kfbench.metrics.config import EvalConfig
from kfbench.metrics.frechet import SampleSizeWarning
from kfbench.metrics.loaded import Features, LoadedPair
from kfbench.metrics.registry import check_names, metric_class, metric_names
from kfbench.metrics.resultsfile import PER_FRAME, RESULTS, load_results, merge_saved, results_lock
from kfbench.metrics.tidy import COLUMNS, Context
from kfbench.metrics.timegrid import MAPPING_RULE, PairFrames, grid_times, on_grid
from kfbench.registry import create_dataset
from kfbench.run.runner import select_pairs
from kfbench.store.metacheck import checked_meta
from kfbench.store.runstore import META, RunStore
from kfbench.utils.progress import track

__all__ = ["COLUMNS", "EvalConfig", "evaluate_store", "extract_features", "load_results"]


def build_scorers(config: EvalConfig) -> list[Metric]:
    """The requested metrics, each with its weights resolved (a given file must exist) or the reason they are
    missing."""
    models, scorers = Models(), []
    for name in config.metrics:
        cls = metric_class(name)
        resolved = [w.resolve(config.weights_file(w)) for w in cls.weights]
        missing = next((r for r in resolved if isinstance(r, str)), None)
        scorers.append(cls(config, missing or tuple(resolved), models))
    return scorers


def load_pairs(
    store: RunStore,
    dataset: str,
    method: str,
    config: EvalConfig,
    datasets: dict[str, Any],
    without_truth: list[str],
    shard: tuple[int, int] | None = None,
) -> Iterator[tuple[LoadedPair, dict[str, Any]]]:
    """Every completed pair (or this shard's share) with ground truth, read once, with its meta; ids without it are
    noted."""
    protocol = config.conventions()
    for pair_id in track(
        select_pairs(store.completed_pairs(dataset, method), shard=shard), f"evaluate {method} on {dataset}"
    ):
        meta = checked_meta(store.pair_dir(dataset, method, pair_id) / META)
        key = json.dumps([meta["dataset"], meta.get("dataset_options", {})], sort_keys=True, default=str)
        if key not in datasets:
            datasets[key] = create_dataset(meta["dataset"], **meta.get("dataset_options", {}))
        pair = datasets[key].load(pair_id)
        if pair.ground_truth is None:
            without_truth.append(pair_id)
            continue
        generated = store.load_frames(dataset, method, pair_id)
        times = meta.get("frame_times") or grid_times(len(generated))
        if len(times) != len(generated):
            raise KfbenchError(
                f"{dataset}/{method}/{pair_id}: meta.json has {len(times)} frame_times for {len(generated)} frames"
            )
        grid = on_grid(
            pair_id, generated, times, pair.ground_truth, protocol.frames, protocol.size, protocol.include_keyframes
        )
        yield LoadedPair(grid, generated, list(times), pair.ground_truth, pair.first, pair.last), meta


def frames_description(grids: list[PairFrames], config: EvalConfig) -> dict[str, Any]:
    protocol = config.conventions()
    first = grids[0]
    which = (
        "all grid frames including the two keyframes"
        if protocol.include_keyframes
        else "in-between grid frames (keyframes excluded)"
    )
    mapped = any(p.mapped for p in grids)
    real_set = [[p.pair_id, p.truth_indices] for p in grids] + [list(first.truth.shape[1:3])]
    return {
        "protocol": protocol.name,
        "conventions": protocol.settings(),
        "frames": which,
        "grid_frames": first.num_grid,
        "generated_frames_per_pair": first.num_generated,
        "ground_truth_frames_per_pair": first.num_truth,
        "mapped_to_grid": mapped,
        "frame_matching": MAPPING_RULE if mapped else "the method's frame times are the grid times",
        "generated_indices": first.generated_indices,
        "ground_truth_indices": first.truth_indices,
        "real_set": hashlib.sha1(json.dumps(real_set).encode()).hexdigest()[:16],
        "compared_at": f"{first.truth.shape[2]}x{first.truth.shape[1]} (generated and ground-truth frames resized, "
        "centre-cropped)",
        "pairs": len(grids),
        "bootstrap": {
            "resamples": config.bootstrap,
            "confidence": config.confidence,
            "unit": "pair",
            "seed": config.seed,
        },
    }


def _feed(
    store: RunStore,
    dataset: str,
    method: str,
    config: EvalConfig,
    scorers: list[Metric],
    cache: FeatureCache,
    datasets: dict[str, Any],
    shard: tuple[int, int] | None = None,
) -> tuple[list[PairFrames], list[str]]:
    """Each pair loaded once and given to every metric (``update``, after a ``reset``); returns the grids (frames
    dropped)."""
    grids: list[PairFrames] = []
    for scorer in scorers:
        scorer.reset()
    without_truth: list[str] = []
    features = None
    for p, meta in load_pairs(store, dataset, method, config, datasets, without_truth, shard):
        if features is None:
            size = tuple(int(s) for s in p.grid.truth.shape[1:3])
            features = Features(dataset, method, cache, meta.get("dataset_options", {}), size)
        for scorer in scorers:
            scorer.update(p, features)
        grids.append(replace(p.grid, generated=p.grid.generated[:0], truth=p.grid.truth[:0]))
    return grids, without_truth


def _frame_rows(
    dataset: str, method: str, grids: list[PairFrames], per_frame: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """One row per pair and compared frame: which frames were compared, and the per-frame metrics."""
    return [
        {
            "dataset": dataset,
            "method": method,
            "pair": p.pair_id,
            "frame": position,
            "generated_frame": p.generated_indices[j],
            "truth_frame": p.truth_indices[j],
            "truth_frames": p.num_truth,
            "time": p.times[j],
            **{m: float(values[k][j]) for m, values in per_frame.items()},
        }
        for k, p in enumerate(grids)
        for j, position in enumerate(p.positions)
    ]


def evaluate_store(
    out: Path, config: EvalConfig, *, datasets: list[str] | None = None, methods: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score the selected runs, merge into ``out/results.{csv,parquet}``; returns (results, per-frame)."""
    store = RunStore(out)
    chosen = _chosen_runs(store, config, datasets, methods)
    scorers = build_scorers(config)
    cache = FeatureCache(out / ".cache" / "features")
    rows: list[dict[str, Any]] = []
    frame_rows: list[dict[str, Any]] = []
    instances: dict[str, Any] = {}
    for dataset, method in chosen:
        grids, without_truth = _feed(store, dataset, method, config, scorers, cache, instances)
        if not grids:
            ctx = Context(dataset, method, config, {"protocol": config.conventions().name}, None, 0)
            rows += [
                ctx.row(m, missing_reason=f"no ground truth for pair(s) {', '.join(without_truth)}")
                for m in config.metrics
            ]
            continue
        base = {**frames_description(grids, config), "skipped_without_ground_truth": without_truth}
        ctx = Context(dataset, method, config, base, grids[0], len(grids))
        for scorer in scorers:
            rows += scorer.compute(ctx)
        frame_rows += _frame_rows(
            dataset, method, grids, {s.name: s.kept for s in scorers if s.per_frame and not (s.missing or s.unreadable)}
        )
    results = pd.DataFrame(rows, columns=COLUMNS)
    results["metric"] = pd.Categorical(results["metric"], categories=list(metric_names()), ordered=True)
    results = results.sort_values(["dataset", "method", "metric"]).astype({"metric": str}).reset_index(drop=True)
    per_frame = pd.DataFrame(frame_rows)
    recomputed = {(d, m, metric) for d, m in chosen for metric in config.metrics}
    with results_lock(out):
        return merge_saved(out, results, RESULTS, recomputed), merge_saved(out, per_frame, PER_FRAME, recomputed)


def _chosen_runs(
    store: RunStore, config: EvalConfig, datasets: list[str] | None, methods: list[str] | None
) -> list[tuple[str, str]]:
    check_names(config.metrics)
    chosen = [
        (d, m)
        for d in store.datasets()
        if not datasets or d in datasets
        for m in store.methods(d)
        if (not methods or m in methods) and store.completed_pairs(d, m)
    ]
    if not chosen:
        wanted = ", ".join(f"{k} {', '.join(v)}" for k, v in (("dataset(s)", datasets), ("method(s)", methods)) if v)
        raise KfbenchError(
            f"no completed runs to evaluate in '{store.root}'"
            + (f" for {wanted}" if wanted else "")
            + "; run `kfbench run` first"
        )
    return chosen


def extract_features(
    out: Path,
    config: EvalConfig,
    shard: tuple[int, int],
    *,
    datasets: list[str] | None = None,
    methods: list[str] | None = None,
) -> int:
    """Cache the features of this shard's pairs (generated and ground truth) for every cached metric; returns how many
    pairs.

    Shards share nothing but the cache folder in the run store; an unsharded `evaluate` afterwards
    finds every feature cached and only scores.
    """
    store = RunStore(out)
    scorers = [s for s in build_scorers(config) if s.caches]
    cache = FeatureCache(out / ".cache" / "features")
    instances: dict[str, Any] = {}
    return sum(
        len(_feed(store, d, m, config, scorers, cache, instances, shard)[0])
        for d, m in _chosen_runs(store, config, datasets, methods)
    )


def summary_lines(results: pd.DataFrame) -> list[str]:
    """One line per result: value [interval] n, or the reason it is missing."""
    lines, seen = [], set()
    for r in results.itertuples(index=False):
        head = f"{r.dataset} {r.method} {r.metric}:"
        if r.missing_reason:
            shown = f"as above: {r.missing_reason.split(':')[0]}" if r.missing_reason in seen else r.missing_reason
            lines.append(f"{head} missing ({shown})")
            seen.add(r.missing_reason)
        else:
            interval = "" if pd.isna(r.ci_low) else f" [{r.ci_low:.4g}, {r.ci_high:.4g}]"
            lines.append(f"{head} {r.value:.4g}{interval} n={int(r.n)}")
    return lines


def evaluate_with_warnings(out: Path, config: EvalConfig, **selection: Any) -> tuple[pd.DataFrame, list[str]]:
    """evaluate_store, with each distinct warning (e.g. biased at this n) returned as a line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SampleSizeWarning)
        results, _ = evaluate_store(out, config, **selection)
    return results, list(
        dict.fromkeys(f"warning: {w.message}" for w in caught if issubclass(w.category, SampleSizeWarning))
    )
