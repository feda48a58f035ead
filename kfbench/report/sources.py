"""What a report shows from the run store: ground-truth clips and generated frames of a pair."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from kfbench.registry import create_dataset
from kfbench.store.metacheck import checked_meta
from kfbench.store.runstore import META, RunStore
from kfbench.utils.imageops import resize_center_crop


@dataclass
class PairView:
    """A pair's ground truth (at the generated size, or None) and each method's frames and times."""

    pair_id: str
    truth: np.ndarray | None
    fps: float
    frames: dict[str, np.ndarray]
    times: dict[str, list[float]]


@lru_cache(maxsize=8)
def _dataset(name: str, options_json: str) -> Any:
    return create_dataset(name, **json.loads(options_json))


def pair_view(store: RunStore, dataset: str, pair_id: str, methods: list[str]) -> PairView:
    frames, times, truth, fps = {}, {}, None, 7.0
    for method in methods:
        if not store.is_complete(dataset, method, pair_id):
            continue
        meta = checked_meta(store.pair_dir(dataset, method, pair_id) / META)
        frames[method] = store.load_frames(dataset, method, pair_id)
        times[method] = meta.get("frame_times") or list(np.linspace(0, 1, len(frames[method])))
        if truth is None:
            source = _dataset(meta["dataset"], json.dumps(meta.get("dataset_options", {}), sort_keys=True, default=str))
            clip = source.load(pair_id).ground_truth
            if clip is not None:
                truth = resize_center_crop(clip, *frames[method].shape[1:3])
            fps = float(meta.get("options", {}).get("fps") or meta.get("pair", {}).get("fps") or 7.0)
    return PairView(pair_id, truth, fps, frames, times)


def nearest_frame(times: list[float], t: float) -> int:
    return int(np.argmin(np.abs(np.asarray(times) - t)))
