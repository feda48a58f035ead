"""Writing and reading frame folders (lossless PNG) and mp4 previews."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.utils.imageops import read_rgb_stack

FPS_RANGE = (0.1, 1000.0)
"""Frame rates kfbench accepts from files (a preview at 0.0001 or 1e300 fps cannot be encoded as such)."""


def check_fps(fps: object, what: str) -> float:
    """``fps`` as a float within :data:`FPS_RANGE`, else a one-line error naming ``what``."""
    low, high = FPS_RANGE
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not low <= fps <= high:
        raise KfbenchError(f"{what} {fps!r} is not a frame rate within {low:g}..{high:g} frames per second")
    return float(fps)


def write_png_frames(frames: np.ndarray, folder: Path) -> list[str]:
    """Write [T, H, W, 3] uint8 frames as folder/000.png ...; returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{i:03d}.png" for i in range(len(frames))]
    for frame, name in zip(frames, names):
        Image.fromarray(frame).save(folder / name, compress_level=1)
    return names


def read_png_frames(folder: Path) -> np.ndarray:
    """The frames a run wrote (folder/000.png ...); missing, undecodable or unequal frames are a one-line error."""
    paths = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if not paths:
        raise KfbenchError(f"no PNG frames in {folder}; run this pair again with --overwrite")
    return read_rgb_stack(
        paths,
        (OSError, ValueError),
        lambda path, exc: KfbenchError(f"{path}: cannot decode frame ({exc}); run this pair again with --overwrite"),
        lambda shapes: KfbenchError(
            f"{folder}: frames differ in size ({shapes}); run this pair again with --overwrite"
        ),
    )


def write_mp4(frames: np.ndarray, path: Path, fps: float = 7.0, crf: int = 18) -> None:
    """H.264 (yuv420p, browser-playable) preview; odd sizes are padded by one pixel.

    The same frames always give the same bytes: x264 runs one thread (its output depends on the thread
    count, which it otherwise derives from the CPUs this process may use) and no timestamp is written.
    """
    fps = check_fps(fps, f"preview {path.name}: fps")
    t, h, w, _ = frames.shape
    pad_h, pad_w = h % 2, w % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = w + pad_w, h + pad_h
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium", "movflags": "+faststart", "threads": "1"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
