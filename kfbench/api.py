"""The Python API for notebooks and scripts: interpolate a pair, save frames, run, evaluate, read results.

Each function is a thin layer over what the command line uses (the registries, the runner, the run
store, evaluation), so a number made here is the number `kfbench evaluate` would write. See docs/python-api.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.utils.imageops import pil_to_rgb, read_rgb

if TYPE_CHECKING:
    import pandas as pd

ImageInput = str | Path | Image.Image | np.ndarray
"""A keyframe: a file path, a PIL image, or an HxWx3 array (uint8, or float in [0, 1])."""


@dataclass
class Frames:
    """Interpolated frames (uint8 [T, H, W, 3]) with the time in [0, 1] of each, and the settings that made them."""

    frames: np.ndarray
    times: list[float]
    method: str
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __len__(self) -> int:
        return len(self.frames)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.frames if dtype is None else self.frames.astype(dtype)


def as_keyframe(image: ImageInput, what: str = "keyframe") -> np.ndarray:
    """``image`` as an HxWx3 uint8 array; float arrays must hold values in [0, 1]."""
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise KfbenchError(f"{what} '{path}' is not a file; pass an image path, a PIL image or an HxWx3 array")
        return read_rgb(path)
    if isinstance(image, Image.Image):
        return pil_to_rgb(image, what)
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise KfbenchError(f"{what}: expected an HxWx3 image, got an array of shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise KfbenchError(f"{what}: float images must hold values in [0, 1]; scale it (e.g. image / 255)")
        return np.ascontiguousarray(np.round(array * 255).astype(np.uint8))
    if array.dtype != np.uint8:
        raise KfbenchError(f"{what}: expected uint8 or float values in [0, 1], got {array.dtype}")
    return np.ascontiguousarray(array)


def interpolate(
    first: ImageInput,
    last: ImageInput,
    *,
    method: str = "flow",
    num_frames: int = 25,
    seed: int = 0,
    prompt: str | None = None,
    **options: Any,
) -> Frames:
    """The frames between two keyframes made by ``method`` (a registered name; ``options`` override its preset)."""
    from kfbench.registry import create_method

    interpolator = create_method(method, **options)
    a, b = as_keyframe(first, "first keyframe"), as_keyframe(last, "last keyframe")
    frames = interpolator.interpolate(a, b, num_frames=num_frames, seed=seed, prompt=prompt)
    times = interpolator.output_times(num_frames)
    return Frames(frames, times, method, dict(interpolator.options), seed)


def _frame_array(frames: Frames | np.ndarray) -> np.ndarray:
    array = frames.frames if isinstance(frames, Frames) else np.asarray(frames)
    if array.ndim != 4 or array.shape[3] != 3:
        raise KfbenchError(f"expected frames of shape [T, H, W, 3], got {array.shape}")
    return np.stack([as_keyframe(f, f"frame {i}") for i, f in enumerate(array)])


def save_video(frames: Frames | np.ndarray, path: str | Path, *, fps: float = 7.0) -> Path:
    """Write ``frames`` as an H.264 mp4 (browser-playable; same frames, same bytes); returns the path."""
    from kfbench.utils.atomicio import replacing
    from kfbench.utils.videoio import write_mp4

    path = Path(path)
    with replacing(path) as tmp:
        write_mp4(_frame_array(frames), tmp, fps=fps)
    return path


def save_frames(frames: Frames | np.ndarray, folder: str | Path) -> list[Path]:
    """Write ``frames`` as folder/000.png, 001.png, ...; returns the paths."""
    from kfbench.utils.videoio import write_png_frames

    folder = Path(folder)
    return [folder / name for name in write_png_frames(_frame_array(frames), folder)]


def benchmark(
    method: str,
    dataset: str,
    *,
    out: str | Path = "runs",
    root: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    method_options: dict[str, Any] | None = None,
    dataset_options: dict[str, Any] | None = None,
) -> Path:
    """`kfbench run`: ``method`` on ``dataset``'s pairs into the run store ``out``; returns the run folder."""
    from kfbench.registry import create_dataset, create_method
    from kfbench.run.runner import run_benchmark, select_pairs
    from kfbench.store.runstore import RunStore

    data = create_dataset(dataset, root=root, **(dataset_options or {}))
    interpolator = create_method(method, **(method_options or {}))
    pair_ids = select_pairs(data.pair_ids(), limit=limit)
    summary = run_benchmark(interpolator, data, RunStore(Path(out)), pair_ids, seed=seed)
    return Path(out) / dataset / summary.run


def evaluate(
    out: str | Path = "runs",
    *,
    metrics: list[str] | None = None,
    datasets: list[str] | None = None,
    methods: list[str] | None = None,
    **config: Any,
) -> pd.DataFrame:
    """`kfbench evaluate`: score the runs in ``out`` (merged into its results files); one row per metric.

    ``config``: any :class:`kfbench.metrics.config.EvalConfig` field (e.g. ``bootstrap=0``, ``device="cuda"``).
    """
    from kfbench.metrics.config import EvalConfig
    from kfbench.metrics.evaluate import evaluate_store

    if metrics is not None:
        config["metrics"] = tuple(metrics)
    results, _ = evaluate_store(Path(out), EvalConfig(**config), datasets=datasets, methods=methods)
    return results


def load_results(out: str | Path = "runs", *, per_frame: bool = False) -> pd.DataFrame:
    """The results table saved in ``out`` (with ``per_frame``, the per-frame table instead)."""
    from kfbench.metrics.resultsfile import load_results as read

    results, frames = read(Path(out))
    return frames if per_frame else results
