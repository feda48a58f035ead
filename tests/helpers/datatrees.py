"""Builders of small on-disk datasets: DAVIS-layout JPEG trees and mp4s written with libx264."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def frame(index: int, height: int = 48, width: int = 64) -> np.ndarray:
    """A frame that differs from every other index: a gradient, a moving block and an index stripe."""
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = (xx * 255 // width).astype(np.uint8)
    image[..., 1] = (yy * 255 // height).astype(np.uint8)
    image[..., 2] = (index * 37) % 256
    top, left = (index * 3) % (height - 12), (index * 5) % (width - 12)
    image[top : top + 12, left : left + 12] = 255
    return image


def davis_tree(root: Path, lengths: dict[str, int], resolution: str = "480p", size=(48, 64), imagesets=None) -> Path:
    """ROOT/DAVIS/JPEGImages/<resolution>/<sequence>/00000.jpg ... (the official layout)."""
    for name, length in lengths.items():
        folder = root / "DAVIS" / "JPEGImages" / resolution / name
        folder.mkdir(parents=True)
        for i in range(length):
            Image.fromarray(frame(i, *size)).save(folder / f"{i:05d}.jpg", quality=90)
    for split, names in (imagesets or {}).items():
        listing = root / "DAVIS" / "ImageSets" / "2017" / f"{split}.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("".join(f"{n}\n" for n in names))
    return root


def write_video(path: Path, num_frames: int, rate=Fraction(25), size=(48, 64), vfr_pattern_ms=None) -> Path:
    """An H.264 mp4; with ``vfr_pattern_ms`` the frame durations cycle through those milliseconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "20", "g": "6", "bf": "2"}
        if vfr_pattern_ms:
            stream.codec_context.time_base = Fraction(1, 1000)
        t = 0
        for i in range(num_frames):
            video_frame = av.VideoFrame.from_ndarray(frame(i, *size), format="rgb24")
            if vfr_pattern_ms:
                video_frame.pts, video_frame.time_base = t, Fraction(1, 1000)
                t += vfr_pattern_ms[i % len(vfr_pattern_ms)]
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_all(path: Path) -> tuple[np.ndarray, list[float]]:
    """Every frame of a video decoded with PyAV (an independent decoder path) and its time in seconds."""
    with av.open(str(path)) as container:
        frames = [(f.to_ndarray(format="rgb24"), float(f.time)) for f in container.decode(video=0)]
    return np.stack([f for f, _ in frames]), [t for _, t in frames]


def truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path
