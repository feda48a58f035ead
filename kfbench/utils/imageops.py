"""Image conversions, the one resize-and-crop transform every dataset and method shares, and flow warping."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile

from kfbench.errors import BadSourceError, KfbenchError

ImageLike = Image.Image | np.ndarray


def as_rgb_uint8(image: ImageLike) -> np.ndarray:
    """A PIL image (any mode, by the rules of :func:`pil_to_rgb`) or HxWx3 uint8 array as a contiguous HxWx3 uint8
    array."""
    if isinstance(image, Image.Image):
        return pil_to_rgb(image, "the image")
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise KfbenchError(f"expected an HxWx3 uint8 image, got {array.dtype} array of shape {array.shape}")
    return np.ascontiguousarray(array)


class UnequalFrames(Exception):
    """Frames of one clip came in two shapes (the message names both)."""


def stack_frames(frames: Iterable[np.ndarray], count: int) -> np.ndarray:
    """``np.stack`` of ``count`` equally shaped frames, filled in place as they come (a list of frames and its stacked
    copy would hold the clip twice). Frames of another shape raise ``UnequalFrames``."""
    out: np.ndarray | None = None
    for i, frame in enumerate(frames):
        if out is None:
            out = np.empty((count, *frame.shape), dtype=frame.dtype)
        elif frame.shape != out.shape[1:]:
            raise UnequalFrames(f"{out.shape[1:]}, {frame.shape}")
        out[i] = frame
    if out is None:
        raise UnequalFrames("no frames")
    return out


def read_rgb_stack(
    paths: list[Path],
    catch: tuple[type[Exception], ...],
    bad_file: Callable[[Path, Exception], Exception],
    unequal: Callable[[str], Exception],
) -> np.ndarray:
    """Image files as one uint8 [N, H, W, 3] stack, filled as they are decoded; a file failing with ``catch`` raises
    ``bad_file(path, error)``, frames of two sizes ``unequal(the two shapes)`` (each a one-line error)."""

    def decoded() -> Iterator[np.ndarray]:
        for path in paths:
            try:
                yield read_rgb(path)
            except catch as exc:
                raise bad_file(path, exc) from None

    try:
        return stack_frames(decoded(), len(paths))
    except UnequalFrames as exc:
        raise unequal(str(exc)) from None


MAX_PIXELS = 100_000_000
"""Largest image kfbench decodes (width x height; 8K video frames have 33 million); larger ones are refused."""

_ORIENTED = {  # EXIF orientation -> the array operation that shows the image upright (as Pillow's exif_transpose)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}
EXIF_ORIENTATION = 0x0112


@contextmanager
def _truncated_images_refused() -> Iterator[None]:
    """Decode with PIL's truncated-image guard on, whatever another package set globally (vbench's AMT
    utilities set ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` when imported): a cut file is an error, not grey."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


@contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """The image at ``path`` with its header read; one larger than :data:`MAX_PIXELS` is an error before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError:
        raise BadSourceError(
            f"{path}: the image is larger than kfbench's limit of {MAX_PIXELS} pixels "
            "(a decompression bomb or a huge scan); scale it down"
        ) from None
    with image, _truncated_images_refused():
        if image.size[0] * image.size[1] > MAX_PIXELS:
            raise BadSourceError(
                f"{path}: the image is {image.size[0]}x{image.size[1]}, larger than kfbench's limit of "
                f"{MAX_PIXELS} pixels (a decompression bomb or a huge scan); scale it down"
            )
        yield image


def orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1: upright; 2-8: flipped and/or rotated), 1 when absent or unknown."""
    value = image.getexif().get(EXIF_ORIENTATION, 1)
    return value if value in _ORIENTED else 1


def upright_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) of the image as shown, after its EXIF orientation."""
    width, height = image.size
    return (height, width) if orientation(image) in (5, 6, 7, 8) else (width, height)


def read_rgb(path: Path) -> np.ndarray:
    """The image file at ``path`` as HxWx3 uint8 RGB, upright by its EXIF orientation; 16-bit colour files are
    decoded at full depth first."""
    with open_image(path) as image:
        sixteen = image.mode in ("RGB", "RGBA", "LA") and ";16" in str(image.tile[0].args if image.tile else "")
        turn = _ORIENTED.get(orientation(image), lambda a: a)  # reading the EXIF may load the image: tile checked first
        if sixteen:
            return np.ascontiguousarray(turn(_sixteen_bit_colour(path)))  # Pillow would keep only the high byte
        image.load()
        return np.ascontiguousarray(turn(pil_to_rgb(image, str(path))))


def pil_to_rgb(image: Image.Image, name: str) -> np.ndarray:
    """HxWx3 uint8 RGB of any PIL mode, keeping the values.

    16-bit values v become round(v / 257) (so 65535 -> 255, never clipped); 'I' (32-bit) images are
    read as 16-bit and refused outside 0..65535; 'F' (float) images must lie in [0, 1] (v -> round(255 v)).
    Grey levels are repeated over R, G and B. Transparency (RGBA, LA, P with a transparent index) is
    composited over black: each channel is multiplied by alpha. CMYK, YCbCr and other colour spaces
    use Pillow's conversion to RGB.
    """
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image).copy()
    if mode == "L":
        return np.repeat(np.asarray(image)[..., None], 3, axis=2)
    if mode.startswith("I;16"):
        return _scaled(np.asarray(image).astype(np.float64)[..., None], 65535.0)
    if mode == "I":
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise BadSourceError(
                f"{name}: 32-bit integer image with values {values.min()}..{values.max()}, outside "
                "the 16-bit range 0..65535; save it as 8- or 16-bit"
            )
        return _scaled(values.astype(np.float64)[..., None], 65535.0)
    if mode == "F":
        values = np.asarray(image).astype(np.float64)
        if not np.isfinite(values).all() or (values.size and (values.min() < 0 or values.max() > 1)):
            raise BadSourceError(
                f"{name}: floating-point image with values outside [0, 1] (or NaN/inf); "
                "save it as 8- or 16-bit, or scale it to [0, 1]"
            )
        return _scaled(values[..., None], 1.0)
    if mode in ("LA", "La", "PA", "RGBa") or (mode == "P" and "transparency" in image.info):
        image = image.convert("LA" if mode in ("LA", "La") else "RGBA")
        mode = image.mode
    if mode in ("LA", "RGBA"):
        return _scaled(np.asarray(image).astype(np.float64), 255.0)
    try:
        return np.asarray(image.convert("RGB")).copy()
    except ValueError:
        raise BadSourceError(
            f"{name}: image mode '{mode}' cannot be converted to RGB; save it as an 8-bit RGB image"
        ) from None


def _sixteen_bit_colour(path: Path) -> np.ndarray:
    """A 16-bit RGB(A) or grey+alpha PNG/TIFF decoded by OpenCV at full depth (channels in RGB(A) order)."""
    values = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if values is None:
        raise OSError(f"OpenCV cannot decode the 16-bit image {path}")
    if values.ndim == 2:
        values = values[..., None]
    elif values.shape[2] >= 3:
        values = values[..., [2, 1, 0, 3][: values.shape[2]]]
    full = 65535.0 if values.dtype == np.uint16 else 255.0
    return _scaled(values.astype(np.float64), full)


def _scaled(values: np.ndarray, full: float) -> np.ndarray:
    """[H, W, C] values in 0..full, C = 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA) -> HxWx3 uint8 over black."""
    colour, alpha = (values[..., :-1], values[..., -1:] / full) if values.shape[2] in (2, 4) else (values, 1.0)
    rgb = np.rint(colour * alpha * (255.0 / full)).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb)


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
    out = stack_frames(
        (cv2.resize(f, (new_w, new_h), interpolation=interp)[top : top + height, left : left + width] for f in batch),
        len(batch),
    )
    return out[0] if single else out


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: out(x) = image(x + flow(x)), bilinear, edges replicated."""
    h, w = flow.shape[:2]
    grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), axis=-1).astype(np.float32)
    coords = grid + flow
    return cv2.remap(image, coords[..., 0], coords[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
