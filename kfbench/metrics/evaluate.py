"""`kfbench evaluate`: score every completed run of a run store against its dataset's ground truth.

Per (dataset, method) it loads each pair once, maps the generated frames onto the protocol's time
grid beside the dataset's one real set (``kfbench.metrics.timegrid``; conventions from
``kfbench.metrics.protocol``), and feeds it to every requested metric (``kfbench.metrics.registry``:
``update`` per pair); each metric then gives its tidy rows (``compute``), merged into ``results.{csv,parquet}``
(``kfbench.metrics.resultsfile``: only recomputed rows are replaced, under the store's lock). With a
reference run (``--reference-run``, ``kfbench.metrics.reference``) the distribution metrics compare each run with
that run's frames instead of the ground truth.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kfbench.compare.sweep import write_breakdowns
from kfbench.errors import KfbenchError
from kfbench.metrics.base import Metric, Models
from kfbench.metrics.cache import FeatureCache
from kfbench.metrics.config import EvalConfig
from kfbench.metrics.difficulty import cached_difficulty
from kfbench.metrics.frechet import SampleSizeWarning
from kfbench.metrics.loaded import Features, LoadedPair
from kfbench.metrics.perpair import PER_PAIR_COLUMNS, merge_per_pair, per_pair_rows
from kfbench.metrics.reference import ReferenceRun, resolve_reference
from kfbench.metrics.registry import check_names, metric_class, metric_names
from kfbench.metrics.resultsfile import PER_FRAME, RESULTS, load_results, merge_saved, results_lock
from kfbench.metrics.tidy import COLUMNS, Context
from kfbench.metrics.timegrid import MAPPING_RULE, PairFrames, grid_times, on_grid
from kfbench.run.runner import output_fps, select_pairs
from kfbench.store.fingerprint import VERSIONED
from kfbench.store.runstore import RunStore
from kfbench.store.sourcedata import SourceData
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


@dataclass
class RunPairs:
    """What evaluate found in one run folder besides the pairs it scores."""

    without_truth: list[str] = field(default_factory=list)
    damaged: dict[str, str] = field(default_factory=dict)
    fingerprints: set[str] = field(default_factory=set)
    versions: dict[str, set[str]] = field(default_factory=dict)
    settings: dict[str, Any] | None = None
    difficulty: dict[str, dict[str, float]] = field(default_factory=dict)  # per pair (kfbench.metrics.difficulty)
    read_by: dict[str, list[str]] = field(default_factory=dict)  # metric -> the pairs it read, in order
    reference_grids: list[PairFrames] = field(default_factory=list)  # beside a reference run (frames dropped)
    unreferenced: list[str] = field(default_factory=list)  # pairs the reference run does not have

    def provenance(self, record: dict[str, Any] | None) -> dict[str, Any]:
        """The run's settings and versions as every row records them ('mixed' lists each version seen)."""
        versions = {k: sorted(v)[0] if len(v) == 1 else sorted(v) for k, v in sorted(self.versions.items())}
        fingerprint = sorted(self.fingerprints)[0] if len(self.fingerprints) == 1 else ""
        found = {
            "fingerprint": fingerprint or ("mixed" if self.fingerprints else "none recorded"),
            "settings": (record or {}).get("settings") or self.settings,
            "versions": versions,
        }
        if self.damaged:
            found["damaged_pairs"] = dict(self.damaged)
        return found


def load_pairs(
    store: RunStore,
    dataset: str,
    method: str,
    config: EvalConfig,
    sources: SourceData,
    found: RunPairs,
    shard: tuple[int, int] | None = None,
    reference: ReferenceRun | None = None,
) -> Iterator[tuple[LoadedPair, dict[str, Any]]]:
    """Every intact pair (or this shard's share), read once, checked against the data it was made from, with its meta.

    Damaged pairs are noted in ``found`` (never read); so are pairs without ground truth (yielded without a grid).
    With a ``reference`` run, each pair also comes on a grid beside that run's frames of the same pair.
    """
    written = select_pairs(store.written_pairs(dataset, method), shard=shard)
    for pair_id in track(written, f"evaluate {method} on {dataset}"):
        problem = store.pair_problem(dataset, method, pair_id)
        if problem is not None:
            found.damaged[pair_id] = problem
            continue
        yield _load_pair(store, (dataset, method, pair_id), config, sources, found, reference)


def _load_pair(
    store: RunStore,
    key: tuple[str, str, str],
    config: EvalConfig,
    sources: SourceData,
    found: RunPairs,
    reference: ReferenceRun | None,
) -> tuple[LoadedPair, dict[str, Any]]:
    """One pair (``key``: dataset, method, pair) as ``load_pairs`` yields it: a function of its own, so that the
    generator holds no frames of this pair while it loads the next."""
    dataset, method, pair_id = key
    where = "/".join(key)
    protocol = config.conventions()
    meta = store.load_meta(dataset, method, pair_id)
    _note_provenance(found, meta)
    pair = sources.load(meta, pair_id, where)
    generated = store.load_frames(dataset, method, pair_id)
    times = list(meta.get("frame_times") or grid_times(len(generated)))
    fps = output_fps(meta.get("options", {}), meta.get("pair", {}))
    against = reference.grid(pair_id, generated, times, protocol, where) if reference else None
    if pair.ground_truth is None:
        found.without_truth.append(pair_id)
        return LoadedPair(pair_id, None, generated, times, None, pair.first, pair.last, fps, against), meta
    truth = pair.ground_truth
    grid = on_grid(pair_id, generated, times, truth, protocol.frames, protocol.size, protocol.include_keyframes)
    return LoadedPair(pair_id, grid, generated, times, truth, pair.first, pair.last, fps, against), meta


def _note_provenance(found: RunPairs, meta: dict[str, Any]) -> None:
    recorded = meta.get("fingerprint") or {}
    found.fingerprints.add(recorded.get("run") or "none recorded")
    found.settings = found.settings or recorded.get("settings")
    packages = (meta.get("environment") or {}).get("packages") or {}
    for name in VERSIONED:
        found.versions.setdefault(name, set()).add(str(packages.get(name)))


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
        "pair_ids": [p.pair_id for p in grids],
        "bootstrap": {
            "resamples": config.bootstrap,
            "confidence": config.confidence,
            "unit": "pair",
            "seed": config.seed,
        },
    }


def feed_pairs(
    store: RunStore,
    dataset: str,
    method: str,
    config: EvalConfig,
    scorers: list[Metric],
    cache: FeatureCache,
    sources: SourceData,
    shard: tuple[int, int] | None = None,
    reference: ReferenceRun | None = None,
) -> tuple[list[PairFrames], RunPairs]:
    """Each pair loaded once and given to every metric that reads it (``update``, after a ``reset``); returns the grids
    (frames dropped) and what else was found (damaged pairs, pairs without ground truth, settings and versions, each
    pair's difficulty and which pairs each metric read). With a ``reference`` run, the distribution metrics
    (``Metric.reference_set``) read each pair beside that run's frames instead of the ground truth."""
    grids: list[PairFrames] = []
    for scorer in scorers:
        scorer.reset()
    found = RunPairs()
    features = reference_features = None
    for p, meta in load_pairs(store, dataset, method, config, sources, found, shard, reference):
        found.difficulty[p.pair_id] = cached_difficulty(
            cache.root.parent / "difficulty", dataset, p.pair_id, p.first, p.last, p.truth, meta.get("pair", {})
        )
        if features is None:
            size = tuple(int(s) for s in (p.grid.truth if p.grid else p.frames).shape[1:3])
            features = Features(dataset, method, cache, meta.get("dataset_options", {}), size)
        if p.reference is not None and reference_features is None:
            reference_features = reference.features(method, cache, tuple(int(s) for s in p.reference.truth.shape[1:3]))
        _update(scorers, p, features, reference_features, reference is not None, found)
        if p.grid is not None:
            grids.append(_dropped(p.grid))
        if p.reference is not None:
            found.reference_grids.append(_dropped(p.reference))
        elif reference is not None:
            found.unreferenced.append(p.pair_id)
        del p, meta  # the next pair loads without this one's frames in memory
    return grids, found


def _update(
    scorers: list[Metric],
    p: LoadedPair,
    features: Features,
    reference_features: Features | None,
    with_reference: bool,
    found: RunPairs,
) -> None:
    """Give the pair to every metric that reads it; ``with_reference``: the distribution metrics read it beside the
    reference run's frames (whose features are ``reference_features``)."""
    for scorer in scorers:
        against = with_reference and scorer.reference_set
        seen = p.against_reference() if against else p
        if seen.grid is not None or not scorer.needs_truth:
            scorer.update(seen, reference_features if against else features)
            found.read_by.setdefault(scorer.name, []).append(p.pair_id)


def _dropped(grid: PairFrames) -> PairFrames:
    """The grid without its frames (their shapes kept; new empty arrays, as a view would keep the clip alive)."""
    return replace(grid, generated=np.empty_like(grid.generated[:0]), truth=np.empty_like(grid.truth[:0]))


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
    out: Path,
    config: EvalConfig,
    *,
    datasets: list[str] | None = None,
    methods: list[str] | None = None,
    root: str | None = None,
    reference: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score the selected runs, merge into ``out/results.{csv,parquet}``; returns (results, per-frame).

    ``root`` is where the data now lies, when it moved since the runs (else the recorded root or
    $KFBENCH_DATA); it is checked to be the same data. ``reference`` (``DATASET/RUN``, a run of this store)
    is the real set of the distribution metrics instead of the ground truth (``kfbench.metrics.reference``).
    """
    store = RunStore(out)
    against, chosen = _selection(store, config, datasets, methods, reference)
    _check_root(store, chosen, root)
    scorers = build_scorers(config)
    cache = FeatureCache(out / ".cache" / "features")
    rows: list[dict[str, Any]] = []
    frame_rows: list[dict[str, Any]] = []
    pair_rows: list[dict[str, Any]] = []
    sources = SourceData(root)
    for dataset, method in chosen:
        own, run_scorers = _plan(against, method, scorers)
        grids, found = feed_pairs(store, dataset, method, config, run_scorers, cache, sources, reference=own)
        provenance = found.provenance(store.run_record(dataset, method))
        ctx = _context(dataset, method, config, {**_base(grids, found, config), "run": provenance}, grids)
        against_ctx = ctx
        if own:
            settings = {**_reference_base(own, found, config), "run": provenance}
            against_ctx = _context(dataset, method, config, settings, found.reference_grids)
        run_rows: list[dict[str, Any]] = []
        for scorer in run_scorers:
            run_rows += _scorer_rows(scorer, against_ctx if own and scorer.reference_set else ctx, found)
        rows += [{**r, "fingerprint": provenance["fingerprint"]} for r in run_rows]
        frame_rows += _frame_rows(
            dataset, method, grids, {s.name: s.kept for s in scorers if s.per_frame and not (s.missing or s.unreadable)}
        )
        own = {s.name: s.pair_values(s.kept) for s in scorers if s.kept and not (s.missing or s.unreadable)}
        values = {m: dict(zip(found.read_by[m], v)) for m, v in own.items() if v is not None}
        pair_rows += per_pair_rows(dataset, method, values, found.difficulty)
    results = pd.DataFrame(rows, columns=COLUMNS)
    results["metric"] = pd.Categorical(results["metric"], categories=list(metric_names()), ordered=True)
    results = results.sort_values(["dataset", "method", "metric"]).astype({"metric": str}).reset_index(drop=True)
    per_frame = pd.DataFrame(frame_rows)
    recomputed = {(d, m, s.name) for d, m in chosen for s in _plan(against, m, scorers)[1]}
    with results_lock(out):
        saved = merge_saved(out, results, RESULTS, recomputed), merge_saved(out, per_frame, PER_FRAME, recomputed)
        per_pair = merge_per_pair(out, pd.DataFrame(pair_rows, columns=PER_PAIR_COLUMNS), recomputed)
        write_breakdowns(out, per_pair, confidence=config.confidence, resamples=config.bootstrap, seed=config.seed)
    return saved


def _base(grids: list[PairFrames], found: RunPairs, config: EvalConfig) -> dict[str, Any]:
    """The settings every row of a run records: how its frames were compared with the ground truth, or that there
    was none."""
    if grids:
        return {**frames_description(grids, config), "skipped_without_ground_truth": found.without_truth}
    return {
        "protocol": config.conventions().name,
        "real_set": "",
        "pairs": len(found.without_truth),
        "ground_truth": f"none: pair(s) {', '.join(found.without_truth) or '(none intact)'} have keyframes only",
        "bootstrap": _bootstrap(config),
    }


def _reference_base(reference: ReferenceRun, found: RunPairs, config: EvalConfig) -> dict[str, Any]:
    """The settings of a run's rows scored against a reference run: the reference in the ground truth's place."""
    grids = found.reference_grids
    base = (
        frames_description(grids, config)
        if grids
        else {"protocol": config.conventions().name, "pairs": 0, "bootstrap": _bootstrap(config)}
    )
    return {**reference.describe(grids, base), "skipped_without_reference": found.unreferenced}


def _context(dataset: str, method: str, config: EvalConfig, base: dict[str, Any], grids: list[PairFrames]) -> Context:
    return Context(dataset, method, config, base, grids[0] if grids else None, len(grids))


def _bootstrap(config: EvalConfig) -> dict[str, Any]:
    return {"resamples": config.bootstrap, "confidence": config.confidence, "unit": "pair", "seed": config.seed}


def _scorer_rows(scorer: Metric, ctx: Context, found: RunPairs) -> list[dict[str, Any]]:
    """A metric's rows for one run (``ctx``: against the ground truth or a reference run)."""
    if scorer.missing:
        return scorer.compute(ctx) if ctx.first is not None else [ctx.row(scorer.name, missing_reason=scorer.missing)]
    if not scorer.kept and not scorer.unreadable:  # frames too small: its compute says so
        return [ctx.row(scorer.name, missing_reason=_nothing_to_score(scorer, found, ctx))]
    ctx.pairs = len(scorer.kept)
    return scorer.compute(ctx)


def _nothing_to_score(scorer: Metric, found: RunPairs, ctx: Context) -> str:
    if scorer.unreadable:  # its frames are too small for it
        return scorer.unreadable
    reference = (ctx.base.get("reference_run") or {}).get("run")
    if reference and scorer.reference_set:
        return (
            f"{scorer.name} against reference run {reference}: it has none of the pairs "
            f"{', '.join(found.unreferenced) or '(none intact)'} of {ctx.dataset}/{ctx.method}"
        )
    if found.without_truth and scorer.needs_truth:
        free = [name for name in metric_names() if not metric_class(name).needs_truth]
        return (
            f"{scorer.name} needs ground truth; pair(s) {', '.join(found.without_truth)} have keyframes only "
            f"(metrics that need none: {', '.join(free)})"
        )
    return "no intact pair to score" + (f" (damaged: {', '.join(found.damaged)})" if found.damaged else "")


def _selection(
    store: RunStore,
    config: EvalConfig,
    datasets: list[str] | None,
    methods: list[str] | None,
    reference: str | None,
) -> tuple[ReferenceRun | None, list[tuple[str, str]]]:
    """The reference run (checked) and the runs to score: with a reference, only those of its dataset."""
    if reference is None:
        return None, _chosen_runs(store, config, datasets, methods)
    against = resolve_reference(store, reference)
    if datasets and datasets != [against.dataset]:
        raise KfbenchError(
            f"--reference-run {reference} is a run of {against.dataset}; it cannot be the reference set of "
            f"--dataset {','.join(datasets)}: pass --dataset {against.dataset} or leave --dataset out"
        )
    if not any(metric_class(m).reference_set for m in config.metrics):
        usable = [m for m in metric_names() if metric_class(m).reference_set]
        raise KfbenchError(
            f"--reference-run {reference} is used by {', '.join(usable)} only; --metrics names none of them"
        )
    chosen = _chosen_runs(store, config, [against.dataset], methods)
    if all(run == against.run for _, run in chosen):
        raise KfbenchError(
            f"--reference-run {reference}: no other run of {against.dataset} is selected to score against it"
        )
    return against, chosen


def _plan(against: ReferenceRun | None, run: str, scorers: list[Metric]) -> tuple[ReferenceRun | None, list[Metric]]:
    """The reference a run is scored against and the metrics it gets: the reference run itself gets no distance
    to itself (its saved rows of those metrics are kept)."""
    if against is None:
        return None, scorers
    if run == against.run:
        return None, [s for s in scorers if not s.reference_set]
    return against, scorers


def damaged_lines(results: pd.DataFrame) -> list[str]:
    """One line per evaluated run with damaged pairs, naming them and what is wrong."""
    lines = {}
    for r in results.itertuples(index=False):
        damaged = json.loads(r.settings or "{}").get("run", {}).get("damaged_pairs")
        if damaged:
            lines[(r.dataset, r.method)] = (
                f"{r.dataset}/{r.method}: {len(damaged)} damaged pair(s) left out: "
                + "; ".join(f"{p} ({why})" for p, why in damaged.items())
                + "; `kfbench run` with the run's settings recomputes them"
            )
    return list(lines.values())


def _check_root(store: RunStore, chosen: list[tuple[str, str]], root: str | None) -> None:
    if root is None:
        return
    with_root = sorted(
        {
            d
            for d, m in chosen
            for p in store.written_pairs(d, m)[:1]
            if "root" in (_meta_or_empty(store, d, m, p).get("dataset_options") or {})
        }
    )
    if len(with_root) > 1:
        raise KfbenchError(
            f"--root names one dataset's folder; these runs read {', '.join(with_root)}: pass --dataset NAME with it"
        )


def _meta_or_empty(store: RunStore, dataset: str, run: str, pair_id: str) -> dict[str, Any]:
    try:
        return store.load_meta(dataset, run, pair_id)
    except KfbenchError:
        return {}


def _chosen_runs(
    store: RunStore, config: EvalConfig, datasets: list[str] | None, methods: list[str] | None
) -> list[tuple[str, str]]:
    check_names(config.metrics)
    chosen = [
        (d, m)
        for d in store.datasets()
        if not datasets or d in datasets
        for m in store.methods(d)
        if (not methods or _selected(store, d, m, methods)) and store.written_pairs(d, m)
    ]
    if not chosen:
        wanted = ", ".join(f"{k} {', '.join(v)}" for k, v in (("dataset(s)", datasets), ("method(s)", methods)) if v)
        raise KfbenchError(
            f"no completed runs to evaluate in '{store.root}'"
            + (f" for {wanted}" if wanted else "")
            + "; run `kfbench run` first"
        )
    return chosen


def _selected(store: RunStore, dataset: str, run: str, methods: list[str]) -> bool:
    """A run is selected by its name, its method's name (method@digest runs too) or its recorded method."""
    if run in methods or run.split("@")[0] in methods:
        return True
    try:
        record = store.run_record(dataset, run)
    except KfbenchError:
        return False
    return record is not None and record.get("settings", {}).get("method") in methods


def extract_features(
    out: Path,
    config: EvalConfig,
    shard: tuple[int, int],
    *,
    datasets: list[str] | None = None,
    methods: list[str] | None = None,
    root: str | None = None,
    reference: str | None = None,
) -> int:
    """Cache the features of this shard's pairs (generated and ground truth) for every cached metric; returns how many
    pairs.

    Shards share nothing but the cache folder in the run store; an unsharded `evaluate` afterwards
    finds every feature cached and only scores.
    """
    store = RunStore(out)
    scorers = [s for s in build_scorers(config) if s.caches]
    cache = FeatureCache(out / ".cache" / "features")
    against, chosen = _selection(store, config, datasets, methods, reference)
    _check_root(store, chosen, root)
    sources = SourceData(root)
    count = 0
    for d, m in chosen:
        own, run_scorers = _plan(against, m, scorers)
        grids, found = feed_pairs(store, d, m, config, run_scorers, cache, sources, shard, own)
        count += max(len(grids), len(found.reference_grids))
    return count


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
