"""Image conversions, the one resize-and-crop transform every dataset and method shares, and flow warping."""

from __future__ import annotations

from typing import Union

import cv2
import numpy as np
from PIL import Image

from kfbench.errors import KfbenchError

ImageLike = Union[Image.Image, np.ndarray]


def as_rgb_uint8(image: ImageLike) -> np.ndarray:
    """A PIL image or HxWx3 uint8 array as a contiguous HxWx3 uint8 array."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB")).copy()
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise KfbenchError(f"expected an HxWx3 uint8 image, got {array.dtype} array of shape {array.shape}")
    return np.ascontiguousarray(array)


def resize_center_crop(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale [..., H, W, 3] uint8 frames to cover height x width (aspect kept), then centre-crop.

    Downscaling uses OpenCV's area filter (no aliasing); upscaling uses bicubic (Lanczos rings on
    the hard edges of synthetic data).
    """
    single = frames.ndim == 3
    batch = frames[None] if single else frames
    h, w = batch.shape[1:3]
    if (h, w) == (height, width):
        return frames
    scale = max(height / h, width / w)
    new_h, new_w = max(height, round(h * scale)), max(width, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    top, left = (new_h - height) // 2, (new_w - width) // 2
    out = np.stack(
        [cv2.resize(f, (new_w, new_h), interpolation=interp)[top : top + height, left : left + width] for f in batch]
    )
    return out[0] if single else out


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: out(x) = image(x + flow(x)), bilinear, edges replicated."""
    h, w = flow.shape[:2]
    grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), axis=-1).astype(np.float32)
    coords = grid + flow
    return cv2.remap(image, coords[..., 0], coords[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
