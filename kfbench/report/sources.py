"""What a report shows from the run store: ground-truth clips and generated frames of a pair."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kfbench.store.metacheck import checked_meta
from kfbench.store.runstore import META, RunStore
from kfbench.store.sourcedata import SourceData
from kfbench.utils.imageops import resize_center_crop


@dataclass
class PairView:
    """A pair's ground truth (at the generated size, or None) and each method's frames and times."""

    pair_id: str
    truth: np.ndarray | None
    fps: float
    frames: dict[str, np.ndarray]
    times: dict[str, list[float]]


def pair_view(store: RunStore, sources: SourceData, dataset: str, pair_id: str, methods: list[str]) -> PairView:
    """The pair's intact runs' frames and its ground truth (found by ``sources``, checked to be the runs' data)."""
    frames, times, truth, fps = {}, {}, None, 7.0
    for method in methods:
        if not store.is_complete(dataset, method, pair_id):
            continue
        meta = checked_meta(store.pair_dir(dataset, method, pair_id) / META)
        frames[method] = store.load_frames(dataset, method, pair_id)
        times[method] = meta.get("frame_times") or list(np.linspace(0, 1, len(frames[method])))
        if truth is None:
            clip = sources.load(meta, pair_id, f"{dataset}/{method}/{pair_id}").ground_truth
            if clip is not None:
                truth = resize_center_crop(clip, *frames[method].shape[1:3])
            fps = float(meta.get("options", {}).get("fps") or meta.get("pair", {}).get("fps") or 7.0)
    return PairView(pair_id, truth, fps, frames, times)


def nearest_frame(times: list[float], t: float) -> int:
    return int(np.argmin(np.abs(np.asarray(times) - t)))
