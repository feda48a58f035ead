"""`kfbench evaluate`: score every completed run of a run store against its dataset's ground truth.

Per (dataset, method) it maps the generated frames onto the protocol's time grid and compares
them with the dataset's one real set on that grid (``kfbench.metrics.timegrid``; conventions from
``kfbench.metrics.protocol``). Results are one tidy row per metric.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from kfbench.atomicio import remove_leftovers, replacing
from kfbench.errors import KfbenchError
from kfbench.metrics.bootstrap import INTERVALS, Interval, bootstrap_interval
from kfbench.metrics.cache import FeatureCache, weights_digest
from kfbench.metrics.frechet import (
    Covariance,
    FrechetResampler,
    SampleSizeWarning,
)
from kfbench.metrics.kid import KernelDistance
from kfbench.metrics.protocol import Protocol, resolve_protocol
from kfbench.metrics.timegrid import MAPPING_RULE, PairFrames, clip_window, grid_times, on_grid
from kfbench.metrics.weights import I3D, INCEPTION, LPIPS_BACKBONE
from kfbench.progress import track
from kfbench.registry import create_dataset
from kfbench.runner import select_pairs
from kfbench.runstore import RunStore

METRICS = ("fid", "kid", "fvd", "psnr", "ssim", "lpips")
HIGHER_IS_BETTER = {"fid": False, "kid": False, "fvd": False, "psnr": True, "ssim": True, "lpips": False}
COLUMNS = ["dataset", "method", "metric", "value", "ci_low", "ci_high", "n", "extractor", "settings", "missing_reason"]
KID_BOOTSTRAP_SUBSETS = 10
RESULTS = "results"
PER_FRAME = "per_frame"


@dataclass
class EvalConfig:
    """Everything that changes a number; written into each result's settings."""

    protocol: str = "kfbench"
    include_keyframes: bool | None = None  # None (here and below): the protocol's
    fid_covariance: Covariance | None = None
    fvd_covariance: Covariance | None = None
    fvd_window: int | None = None
    fvd_window_start: str | None = None
    i3d_bn_eps: str = "port"
    inception_weights: str | None = None
    inception_resize: Literal["tensorflow", "antialias"] = "tensorflow"
    i3d_weights: str | None = None
    lpips_weights: str | None = None
    allow_torchscript_code: bool = False  # torch.jit.load a TorchScript I3D (runs its code) instead of reading it as data
    bootstrap: int = 200
    confidence: float = 0.95
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    seed: int = 0
    device: str = "cpu"
    metrics: tuple[str, ...] = METRICS

    def conventions(self) -> Protocol:
        """The protocol with this config's explicit choices applied."""
        return resolve_protocol(self.protocol, include_keyframes=self.include_keyframes, fid_covariance=self.fid_covariance,
                                fvd_covariance=self.fvd_covariance, fvd_window=self.fvd_window,
                                fvd_window_start=self.fvd_window_start)


@dataclass
class Extractors:
    """Feature extractors, each either ready or the reason it is missing."""

    image: Any
    clip: Any
    lpips: Any
    weights: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, config: EvalConfig) -> Extractors:
        inception = INCEPTION.resolve(config.inception_weights) if _wants(config, "fid", "kid") else "not requested"
        i3d = I3D.resolve(config.i3d_weights) if _wants(config, "fvd") else "not requested"
        lpips = LPIPS_BACKBONE.resolve(config.lpips_weights) if _wants(config, "lpips") else "not requested"
        weights = {name: str(p) for name, p in (("inception", inception), ("i3d", i3d), ("lpips", lpips)) if isinstance(p, Path)}
        if isinstance(inception, Path):
            from kfbench.metrics.inception import ImageFeatures, load_inception

            model = load_inception(inception, antialias=config.inception_resize == "antialias")
            inception = ImageFeatures(model, f"inception-v3-2015-12-05/pool3/{config.inception_resize}-resize", 2048, device=config.device)
        if isinstance(i3d, Path):
            from kfbench.metrics.i3d import ClipFeatures

            i3d = ClipFeatures(i3d, device=config.device, allow_torchscript_code=config.allow_torchscript_code,
                               bn_eps=config.i3d_bn_eps)
        if isinstance(lpips, Path):
            from kfbench.metrics.fidelity import LpipsPerFrame

            lpips = LpipsPerFrame(lpips, device=config.device)
        return cls(inception, i3d, lpips, weights)


def _wants(config: EvalConfig, *metrics: str) -> bool:
    return any(m in config.metrics for m in metrics)


def load_pairs(store: RunStore, dataset: str, method: str, config: EvalConfig, datasets: dict[str, Any],
               shard: tuple[int, int] | None = None) -> tuple[list[PairFrames], list[str]]:
    """Every completed pair (or this shard's share) with ground truth, on the protocol's grid; and the ids without it."""
    protocol = config.conventions()
    pairs, without_truth = [], []
    for pair_id in track(select_pairs(store.completed_pairs(dataset, method), shard=shard), f"load {method} on {dataset}"):
        meta = store.load_meta(dataset, method, pair_id)
        key = json.dumps([meta["dataset"], meta.get("dataset_options", {})], sort_keys=True, default=str)
        if key not in datasets:
            datasets[key] = create_dataset(meta["dataset"], **meta.get("dataset_options", {}))
        truth = datasets[key].load(pair_id).ground_truth
        if truth is None:
            without_truth.append(pair_id)
            continue
        generated = store.load_frames(dataset, method, pair_id)
        times = meta.get("frame_times") or grid_times(len(generated))
        if len(times) != len(generated):
            raise KfbenchError(f"{dataset}/{method}/{pair_id}: meta.json has {len(times)} frame_times for {len(generated)} frames")
        pairs.append(on_grid(pair_id, generated, times, truth, protocol.frames, protocol.size, protocol.include_keyframes))
    return pairs, without_truth


def frames_description(pairs: list[PairFrames], config: EvalConfig, protocol: Protocol) -> dict[str, Any]:
    first = pairs[0]
    which = "all grid frames including the two keyframes" if protocol.include_keyframes else "in-between grid frames (keyframes excluded)"
    mapped = any(p.mapped for p in pairs)
    real_set = [[p.pair_id, p.truth_indices] for p in pairs] + [list(first.truth.shape[1:3])]
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
        "compared_at": f"{first.truth.shape[2]}x{first.truth.shape[1]} (generated and ground-truth frames resized, centre-cropped)",
        "pairs": len(pairs),
        "bootstrap": {"resamples": config.bootstrap, "confidence": config.confidence, "unit": "pair", "seed": config.seed},
    }


def _row(dataset: str, method: str, metric: str, **values: Any) -> dict[str, Any]:
    row = {"dataset": dataset, "method": method, "metric": metric, "value": np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "n": 0, "extractor": "", "settings": {}, "missing_reason": ""}
    row.update(values)
    row["settings"] = json.dumps(row["settings"], default=str)
    return row


def _interval(statistic: Callable[[np.ndarray], float], n: int, point: float, config: EvalConfig,
              interval: Interval) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bootstrap_interval(statistic, n, point, resamples=config.bootstrap, confidence=config.confidence,
                                  seed=config.seed, interval=interval)


def fidelity_rows(dataset: str, method: str, pairs: list[PairFrames], extractors: Extractors, config: EvalConfig,
                  base: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """PSNR, SSIM and LPIPS per frame, and their means with intervals over pairs."""
    from kfbench.metrics.fidelity import PSNR_CONVENTION, SSIM_CONVENTION, psnr_per_frame, ssim_per_frame

    scorers: dict[str, Any] = {"psnr": psnr_per_frame, "ssim": ssim_per_frame, "lpips": extractors.lpips}
    extractor_tag = {"psnr": "", "ssim": "", "lpips": "lpips-v0.1-alexnet"}
    details = {"psnr": PSNR_CONVENTION, "ssim": SSIM_CONVENTION,
               "lpips": {"net": "alex", "version": "0.1", "weights": extractors.weights.get("lpips")}}
    per_pair: dict[str, list[np.ndarray]] = {}
    rows = []
    for metric in (m for m in ("psnr", "ssim", "lpips") if m in config.metrics):
        scorer = scorers[metric]
        if isinstance(scorer, str):
            rows.append(_row(dataset, method, metric, missing_reason=scorer, extractor=extractor_tag[metric], settings=base))
            continue
        per_pair[metric] = [scorer(p.generated, p.truth) for p in track(pairs, f"{metric} {method}")]
        values = np.concatenate(per_pair[metric])
        point = float(values.mean())
        low, high = _interval(lambda idx, m=metric: float(np.concatenate([per_pair[m][i] for i in idx]).mean()),
                              len(pairs), point, config, "percentile")
        rows.append(_row(dataset, method, metric, value=point, ci_low=low, ci_high=high, n=len(values),
                         extractor=extractor_tag[metric],
                         settings={**base, **details[metric], "n_counts": "frames", "interval": INTERVALS["percentile"]}))
    frame_rows = []
    for k, p in enumerate(pairs):
        for j, position in enumerate(p.positions):
            frame_rows.append({"dataset": dataset, "method": method, "pair": p.pair_id, "frame": position,
                               "generated_frame": p.generated_indices[j], "truth_frame": p.truth_indices[j],
                               "truth_frames": p.num_truth, "time": p.times[j],
                               **{m: float(per_pair[m][k][j]) for m in per_pair}})
    return rows, frame_rows


@dataclass
class Features:
    """Cached features of one (dataset, method): the ground truth's per pair, the generated frames' per run output."""

    dataset: str
    method: str
    extractors: Extractors
    cache: FeatureCache
    dataset_key: Any
    size: tuple[int, int]

    def real(self, extractor: Any, weights: str, p: PairFrames, frames: np.ndarray, indices: list[int]) -> np.ndarray:
        key = {"dataset": self.dataset_key, "pair": p.pair_id, "truth_indices": indices, "size": self.size,
               "extractor": extractor.tag, "weights": self._weights(weights)}
        return self.cache.get(self.dataset, extractor.tag, self.size, p.pair_id, key, lambda: extractor(frames))

    def generated(self, extractor: Any, weights: str, p: PairFrames, frames: np.ndarray) -> np.ndarray:
        """Keyed by the frames' content, so a re-run pair (--overwrite) is extracted again."""
        key = {"method": self.method, "pair": p.pair_id, "frames_sha1": hashlib.sha1(frames.tobytes()).hexdigest(),
               "shape": frames.shape, "extractor": extractor.tag, "weights": self._weights(weights)}
        return self.cache.get(self.dataset, extractor.tag, self.size, f"{self.method}--{p.pair_id}", key,
                              lambda: extractor(frames))

    def _weights(self, name: str) -> str:
        """The weights file's content hash: other weights at the same path and size are other features."""
        return weights_digest(Path(self.extractors.weights[name]))


def distribution_rows(dataset: str, method: str, pairs: list[PairFrames], extractors: Extractors, config: EvalConfig,
                      base: dict[str, Any], features: Features) -> list[dict[str, Any]]:
    """FID and KID on frames, FVD on clips, with bootstrap intervals from the features."""
    rows = []
    image = extractors.image
    if _wants(config, "fid", "kid"):
        if isinstance(image, str):
            rows += [_row(dataset, method, m, missing_reason=image, settings=base) for m in ("fid", "kid") if m in config.metrics]
        else:
            fake = [features.generated(image, "inception", p, p.generated) for p in track(pairs, f"inception {method}")]
            truth = [features.real(image, "inception", p, p.truth, p.truth_indices) for p in track(pairs, "inception ground truth")]
            settings = {**base, "weights": extractors.weights.get("inception"), "resize_to_299": config.inception_resize,
                        "n_counts": "frames"}
            if "fid" in config.metrics:
                covariance = config.conventions().fid_covariance
                rows.append(_distance_row(dataset, method, "fid", fake, truth, image.tag, config,
                                          {**settings, "covariance": covariance}, _fd(config, "FID", covariance)))
            if "kid" in config.metrics:
                kid_settings = {**settings, "subsets": config.kid_subsets, "subset_size": config.kid_subset_size,
                                "bootstrap_subsets": min(config.kid_subsets, KID_BOOTSTRAP_SUBSETS),
                                "kernel": "cubic polynomial, gamma 1/D, coef 1"}
                rows.append(_distance_row(dataset, method, "kid", fake, truth, image.tag, config, kid_settings, _kid(config)))
    if "fvd" in config.metrics:
        rows.append(_fvd_row(dataset, method, pairs, extractors, config, base, features))
    return rows


Scorer = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray, np.ndarray, bool], float]]


def _fd(config: EvalConfig, what: str, covariance: Covariance) -> Scorer:
    """Frechet distance of the rows ix of x and iy of y (repeated rows given as distinct rows and counts)."""

    def prepare(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray, np.ndarray, bool], float]:
        distance = FrechetResampler(x, y, covariance, what=what, device=config.device)
        return lambda ix, iy, resample: distance(ix, iy)

    return prepare


def _kid(config: EvalConfig) -> Scorer:
    """KID from kernels computed once; resamples average fewer random subsets."""

    def prepare(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray, np.ndarray, bool], float]:
        kernels = KernelDistance(x, y, device=config.device)
        return lambda ix, iy, resample: kernels(
            ix, iy, subsets=min(config.kid_subsets, KID_BOOTSTRAP_SUBSETS) if resample else config.kid_subsets,
            subset_size=config.kid_subset_size, seed=config.seed,
        )

    return prepare


def _distance_row(dataset: str, method: str, metric: str, fake: list[np.ndarray], truth: list[np.ndarray], tag: str,
                  config: EvalConfig, settings: dict[str, Any], scorer: Scorer) -> dict[str, Any]:
    """A distribution distance over all pairs' features, with an interval from resampled pairs."""
    x, y = np.concatenate(fake), np.concatenate(truth)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise KfbenchError(f"{metric} on {dataset}/{method}: the {tag} features are not finite (NaN or inf); "
                           f"the weights file {settings.get('weights')} is broken: replace it")
    rows_x, rows_y = _row_ranges(fake), _row_ranges(truth)
    score = scorer(x, y)
    try:
        point = score(np.arange(len(x)), np.arange(len(y)), False)
    except KfbenchError as exc:
        return _row(dataset, method, metric, n=len(x), extractor=tag, settings=settings, missing_reason=str(exc))
    settings = {**settings, "biased_at_this_n": metric != "kid" and len(x) < x.shape[1], "feature_dims": x.shape[1],
                "interval": INTERVALS["shifted-percentile"]}
    low, high = _interval(
        lambda idx: score(np.concatenate([rows_x[i] for i in idx]), np.concatenate([rows_y[i] for i in idx]), True),
        len(fake), point, config, "shifted-percentile",
    )
    if metric != "kid":
        low = max(low, 0.0)
    return _row(dataset, method, metric, value=point, ci_low=low, ci_high=high, n=len(x), extractor=tag, settings=settings)


def _row_ranges(parts: list[np.ndarray]) -> list[np.ndarray]:
    """Row indices of each pair's features in their concatenation."""
    ends = np.cumsum([len(p) for p in parts])
    return [np.arange(end - len(p), end) for p, end in zip(parts, ends)]


def _fvd_row(dataset: str, method: str, pairs: list[PairFrames], extractors: Extractors, config: EvalConfig,
             base: dict[str, Any], features: Features) -> dict[str, Any]:
    from kfbench.metrics.i3d import MIN_FRAMES

    protocol, clip, first = config.conventions(), extractors.clip, pairs[0]
    try:
        window = clip_window(len(first.positions), protocol.fvd_window, protocol.fvd_window_start)
    except KfbenchError as exc:
        return _row(dataset, method, "fvd", n=len(pairs), settings=base, missing_reason=str(exc))
    length = window.stop - window.start
    settings = {**base, "covariance": protocol.fvd_covariance, "n_counts": "clips", "clip_frames": length,
                "window": f"grid frames {first.positions[window][0]}-{first.positions[window][-1]} of {first.num_grid} "
                          f"({length}-frame clips, {protocol.fvd_window_start} window; ground-truth frames "
                          f"{first.truth_indices[window][0]}-{first.truth_indices[window][-1]} of {first.num_truth}); "
                          f"comparable only to FVD over the same clips",
                "input": "224x224, [-1, 1]",
                "i3d_bn_eps": "the TorchScript file's own" if getattr(clip, "runs_code", False) else config.i3d_bn_eps}
    if length < MIN_FRAMES:
        reason = (f"FVD needs clips of at least {MIN_FRAMES} frames (I3D pools time by 8, then a 2-frame window); "
                  f"this window has {length}; use --include-keyframes or a larger --fvd-window")
        return _row(dataset, method, "fvd", n=len(pairs), settings=settings, missing_reason=reason)
    if isinstance(clip, str):
        return _row(dataset, method, "fvd", n=len(pairs), settings=settings, missing_reason=clip)
    settings["weights"] = extractors.weights.get("i3d")
    fake = [features.generated(clip, "i3d", p, p.generated[window]) for p in track(pairs, f"i3d {method}")]
    truth = [features.real(clip, "i3d", p, p.truth[window], p.truth_indices[window]) for p in track(pairs, "i3d ground truth")]
    return _distance_row(dataset, method, "fvd", fake, truth, clip.tag, config, settings,
                         _fd(config, "FVD", protocol.fvd_covariance))


def _fvd_window(pairs: list[PairFrames], config: EvalConfig) -> slice | None:
    """The FVD frame window of these clips, or None where FVD cannot be computed (its row says why)."""
    from kfbench.metrics.i3d import MIN_FRAMES

    protocol = config.conventions()
    try:
        window = clip_window(len(pairs[0].positions), protocol.fvd_window, protocol.fvd_window_start)
    except KfbenchError:
        return None
    return window if window.stop - window.start >= MIN_FRAMES else None


def evaluate_store(out: Path, config: EvalConfig, *, datasets: list[str] | None = None,
                   methods: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score the selected runs, merge into ``out/results.{csv,parquet}``; returns (results, per-frame)."""
    store = RunStore(out)
    chosen = _chosen_runs(store, config, datasets, methods)
    extractors = Extractors.build(config)
    cache = FeatureCache(out / ".cache" / "features")
    rows: list[dict[str, Any]] = []
    frame_rows: list[dict[str, Any]] = []
    instances: dict[str, Any] = {}
    for dataset, method in chosen:
        pairs, without_truth = load_pairs(store, dataset, method, config, instances)
        if not pairs:
            rows += [_row(dataset, method, m, missing_reason=f"no ground truth for pair(s) {', '.join(without_truth)}",
                          settings={"protocol": config.conventions().name}) for m in config.metrics]
            continue
        base = {**frames_description(pairs, config, config.conventions()), "skipped_without_ground_truth": without_truth}
        features = _features(store, dataset, method, pairs, extractors, cache)
        new_rows, new_frames = fidelity_rows(dataset, method, pairs, extractors, config, base)
        rows += new_rows + distribution_rows(dataset, method, pairs, extractors, config, base, features)
        frame_rows += new_frames
    results = pd.DataFrame(rows, columns=COLUMNS)
    results["metric"] = pd.Categorical(results["metric"], categories=list(METRICS), ordered=True)
    results = results.sort_values(["dataset", "method", "metric"]).astype({"metric": str}).reset_index(drop=True)
    per_frame = pd.DataFrame(frame_rows)
    evaluated = set(chosen)
    return _merge_saved(out, results, RESULTS, evaluated), _merge_saved(out, per_frame, PER_FRAME, evaluated)


def _chosen_runs(store: RunStore, config: EvalConfig, datasets: list[str] | None, methods: list[str] | None) -> list[tuple[str, str]]:
    unknown = [m for m in config.metrics if m not in METRICS]
    if unknown:
        raise KfbenchError(f"unknown metric(s) {', '.join(unknown)}; valid: {', '.join(METRICS)}")
    chosen = [
        (d, m) for d in store.datasets() if not datasets or d in datasets
        for m in store.methods(d) if (not methods or m in methods) and store.completed_pairs(d, m)
    ]
    if not chosen:
        wanted = ", ".join(f"{k} {', '.join(v)}" for k, v in (("dataset(s)", datasets), ("method(s)", methods)) if v)
        raise KfbenchError(f"no completed runs to evaluate in '{store.root}'" + (f" for {wanted}" if wanted else "") + "; run `kfbench run` first")
    return chosen


def _features(store: RunStore, dataset: str, method: str, pairs: list[PairFrames], extractors: Extractors,
              cache: FeatureCache) -> Features:
    dataset_key = store.load_meta(dataset, method, pairs[0].pair_id).get("dataset_options", {})
    size = tuple(int(s) for s in pairs[0].truth.shape[1:3])
    return Features(dataset, method, extractors, cache, dataset_key, size)


def extract_features(out: Path, config: EvalConfig, shard: tuple[int, int], *, datasets: list[str] | None = None,
                     methods: list[str] | None = None) -> int:
    """Cache the FID/KID/FVD features of this shard's pairs (generated and ground truth); returns how many pairs.

    Shards share nothing but the cache folder in the run store; an unsharded `evaluate` afterwards
    finds every feature cached and only scores.
    """
    store = RunStore(out)
    extractors = Extractors.build(config)
    cache = FeatureCache(out / ".cache" / "features")
    done = 0
    instances: dict[str, Any] = {}
    for dataset, method in _chosen_runs(store, config, datasets, methods):
        pairs, _ = load_pairs(store, dataset, method, config, instances, shard=shard)
        if not pairs:
            continue
        features = _features(store, dataset, method, pairs, extractors, cache)
        image, clip = extractors.image, extractors.clip
        window = _fvd_window(pairs, config) if "fvd" in config.metrics and not isinstance(clip, str) else None
        for p in track(pairs, f"features {method} on {dataset}"):
            if _wants(config, "fid", "kid") and not isinstance(image, str):
                features.generated(image, "inception", p, p.generated)
                features.real(image, "inception", p, p.truth, p.truth_indices)
            if window is not None:
                features.generated(clip, "i3d", p, p.generated[window])
                features.real(clip, "i3d", p, p.truth[window], p.truth_indices[window])
        done += len(pairs)
    return done


def _merge_saved(out: Path, new: pd.DataFrame, name: str, evaluated: set[tuple[str, str]]) -> pd.DataFrame:
    """Replace the rows of the evaluated (dataset, method)s in the saved table and write CSV + Parquet atomically."""
    remove_leftovers(out)
    old = _read_table(out / f"{name}.csv", COLUMNS if name == RESULTS else ["dataset", "method"])
    if not old.empty:
        old = old[[(d, m) not in evaluated for d, m in zip(old["dataset"], old["method"])]]
        new = pd.concat([old, new], ignore_index=True) if not old.empty else new
    if name == RESULTS:
        new["missing_reason"] = new["missing_reason"].fillna("").astype(str)
        new["extractor"] = new["extractor"].fillna("").astype(str)
    with replacing(out / f"{name}.parquet") as tmp:
        new.to_parquet(tmp, index=False)
    with replacing(out / f"{name}.csv") as tmp:
        new.to_csv(tmp, index=False)
    return new


def _read_table(csv: Path, columns: list[str]) -> pd.DataFrame:
    """A saved table (empty when absent); a damaged one (cut short, columns or keys missing) is an error."""
    if not csv.is_file():
        return pd.DataFrame()
    text = csv.read_bytes()
    if text == b"\n":  # a table without rows or columns, as pandas writes it
        return pd.DataFrame()
    try:
        table = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    except ValueError as exc:  # pandas ParserError, EmptyDataError and UnicodeDecodeError are ValueErrors
        problem = f"cannot be parsed ({str(exc).splitlines()[0]})"
    else:
        problem = _table_problem(table, text, columns)
    if problem:
        raise KfbenchError(f"{csv} is damaged: {problem}; kfbench never merges it: restore it, or delete it "
                           f"(and {csv.with_suffix('.parquet').name}) and run `kfbench evaluate` again")
    return table


def _table_problem(table: pd.DataFrame, text: bytes, columns: list[str]) -> str | None:
    if not text.endswith(b"\n"):
        return "it does not end with a newline (cut short)"
    absent = [c for c in columns if c not in table.columns]
    if absent:
        return f"column(s) {', '.join(absent)} missing"
    keys = table[["dataset", "method"] + (["metric"] if "metric" in columns else [])]
    if keys.isna().any().any():
        return f"{int(keys.isna().any(axis=1).sum())} row(s) lack their dataset, method or metric"
    if "metric" in columns and not table["metric"].isin(METRICS).all():
        return f"unknown metric(s) {', '.join(sorted(set(table['metric']) - set(METRICS)))}"
    if "value" in columns and not all(pd.api.types.is_numeric_dtype(table[c]) for c in ("value", "ci_low", "ci_high", "n")):
        return "value, ci_low, ci_high or n is not numeric"
    return None


def load_results(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The saved results and per-frame tables of a run store (each checked as it is read)."""
    if not (out / f"{RESULTS}.csv").is_file():
        raise KfbenchError(f"no results in '{out}'; run `kfbench evaluate --out {out}` first")
    results = _read_table(out / f"{RESULTS}.csv", COLUMNS)
    if results.empty:
        raise KfbenchError(f"{out / f'{RESULTS}.csv'} holds no results; run `kfbench evaluate --out {out}` again")
    results["missing_reason"] = results["missing_reason"].fillna("").astype(str)
    return results, _read_table(out / f"{PER_FRAME}.csv", ["dataset", "method"])


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
    return results, list(dict.fromkeys(f"warning: {w.message}" for w in caught if issubclass(w.category, SampleSizeWarning)))


