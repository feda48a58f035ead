"""How hard a pair is, from its ground truth and keyframes alone (no method, no weights).

``motion``: mean length of the OpenCV DIS flow between the two keyframes (both ways, medium preset, on
grey frames scaled so the longer side is at most ``FLOW_SIDE`` px), in percent of the image diagonal.
``occlusion``: the share of pixels whose flow the flow the other way does not undo (the forward-backward
check of ``kfbench.metrics.temporal.visible``), mean of the two directions. ``crossfade_psnr``: the
cross-fade's own PSNR, the ``linear`` baseline's in-between frames against the ground truth's (dB, capped
at 100; high: the keyframes alone already explain the in-betweens). ``gap_frames``: frames of the pair,
keyframes included; ``gap_seconds``: source time from the first keyframe to the last (NaN without an fps).

Each pair's figures are cached under ``OUT/.cache/difficulty``, keyed by the content of its frames.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kfbench.metrics.cache import FeatureCache

VERSION = "difficulty-v1"
FLOW_SIDE = 512
FACTORS: tuple[str, ...] = ("motion", "occlusion", "crossfade_psnr", "gap_frames", "gap_seconds")
HARDER_WHEN_HIGHER: dict[str, bool] = {
    "motion": True,
    "occlusion": True,
    "crossfade_psnr": False,
    "gap_frames": True,
    "gap_seconds": True,
}
LABELS: dict[str, str] = {
    "motion": "motion (% of diagonal)",
    "occlusion": "occlusion share",
    "crossfade_psnr": "cross-fade PSNR (dB)",
    "gap_frames": "gap (frames)",
    "gap_seconds": "gap (seconds)",
}
RULES: dict[str, str] = {
    "motion": f"mean |DIS flow| between the keyframes, both ways, longer side <= {FLOW_SIDE} px, % of the diagonal",
    "occlusion": "share of pixels failing the forward-backward flow check, mean of both directions",
    "crossfade_psnr": "PSNR of the cross-fade's in-between frames against the ground truth (dB, capped at 100)",
    "gap_frames": "frames of the pair, keyframes included",
    "gap_seconds": "source seconds from the first keyframe to the last",
}


def _flow_size(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = min(1.0, FLOW_SIDE / max(height, width))
    if scale == 1.0:
        return frame
    return cv2.resize(
        frame, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )


def motion_and_occlusion(first: np.ndarray, last: np.ndarray) -> tuple[float, float]:
    """(mean flow length in % of the diagonal, share of pixels failing the forward-backward check); NaN for frames
    too small for the optical flow."""
    from kfbench.metrics.temporal import DIS_MIN_SIDE, dis_flow, visible

    a, b = _flow_size(first), _flow_size(last)
    if min(a.shape[:2]) < DIS_MIN_SIDE:
        return float("nan"), float("nan")
    forward, backward = dis_flow(a, b), dis_flow(b, a)
    diagonal = math.hypot(*a.shape[:2])
    length = (np.linalg.norm(forward, axis=-1).mean() + np.linalg.norm(backward, axis=-1).mean()) / 2
    occluded = 1.0 - (visible(forward, backward).mean() + visible(backward, forward).mean()) / 2
    return float(100.0 * length / diagonal), float(occluded)


def crossfade_psnr(first: np.ndarray, last: np.ndarray, truth: np.ndarray) -> float:
    """Mean PSNR of the cross-fade's in-between frames against the ground truth's (NaN with no in-between frame)."""
    from kfbench.methods.classical import LinearInterpolator, crossfade
    from kfbench.metrics.psnr import psnr_per_frame
    from kfbench.utils.parallel import chunks

    if len(truth) < 3:
        return float("nan")
    times = LinearInterpolator().output_times(len(truth))
    inner = [slice(part.start + 1, part.stop + 1) for part in chunks(len(truth) - 2)]
    return float(np.concatenate([psnr_per_frame(crossfade(first, last, times[p]), truth[p]) for p in inner]).mean())


def pair_difficulty(
    first: np.ndarray,
    last: np.ndarray,
    truth: np.ndarray | None,
    *,
    fps: float | None,
    frame_indices: list[int] | None,
) -> dict[str, float]:
    """The pair's figures, named as ``FACTORS`` (without ground truth: no cross-fade PSNR, the gap from the indices)."""
    motion, occlusion = motion_and_occlusion(first, last)
    frames = len(truth) if truth is not None else len(frame_indices) if frame_indices else None
    span = (frame_indices[-1] - frame_indices[0]) if frame_indices else (frames - 1 if frames else None)
    return {
        "motion": motion,
        "occlusion": occlusion,
        "crossfade_psnr": crossfade_psnr(first, last, truth) if truth is not None else float("nan"),
        "gap_frames": float(frames) if frames else float("nan"),
        "gap_seconds": span / fps if fps and span is not None else float("nan"),
    }


def cached_difficulty(
    root: Path,
    dataset: str,
    pair_id: str,
    first: np.ndarray,
    last: np.ndarray,
    truth: np.ndarray | None,
    pair_meta: dict[str, Any],
) -> dict[str, float]:
    """``pair_difficulty`` from ``root/<dataset>/difficulty-v1/...``, computed once per content of the pair's frames."""
    fps, indices = pair_meta.get("fps"), pair_meta.get("frame_indices")
    frames = [f for f in (first, last, truth) if f is not None]
    key = {
        "version": VERSION,
        "fps": fps,
        "frame_indices": indices,
        "frames_sha1": [hashlib.sha1(np.ascontiguousarray(f).tobytes()).hexdigest() for f in frames],
        "shapes": [list(f.shape) for f in frames],
    }
    values = FeatureCache(root).get(
        dataset,
        VERSION,
        tuple(first.shape[:2]),
        pair_id,
        key,
        lambda: np.array([pair_difficulty(first, last, truth, fps=fps, frame_indices=indices)[f] for f in FACTORS]),
    )
    return dict(zip(FACTORS, (float(v) for v in values)))
