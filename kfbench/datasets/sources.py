"""Frame sources: a folder of numbered images or a video file, read by frame index.

Videos are decoded with decord, which indexes frames by their position in presentation order
(not by time), so frame i is the i-th frame of the stream whatever the frame rate, variable or
not; the presentation time of each frame read is reported beside it.
"""

from __future__ import annotations

import hashlib
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from kfbench.errors import BadSourceError, KfbenchError
from kfbench.utils.containment import contained
from kfbench.utils.imageops import open_image, read_rgb_stack, upright_size

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv")


@dataclass(frozen=True)
class SourceInfo:
    """What a source holds: frame count, frame size and (average) frame rate when known."""

    num_frames: int
    height: int
    width: int
    fps: float | None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FrameSource(ABC):
    """One clip: a name (unique in its dataset), a path and frames addressable by index."""

    kind: str = ""

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path

    @abstractmethod
    def info(self) -> SourceInfo:
        """Frame count, size and fps; raises BadSourceError when the source cannot be read."""

    @abstractmethod
    def read(self, indices: list[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 [T, H, W, 3]."""

    def timestamps(self, indices: list[int]) -> list[float] | None:
        """Presentation time in seconds of each frame, when the source has a clock."""
        return None

    @abstractmethod
    def checksums(self, indices: list[int]) -> dict[str, str]:
        """sha256 of the files that hold the frames at ``indices`` (file name -> hex digest)."""

    def close(self) -> None:  # noqa: B027 (a default no-op: sources without decoder state keep it)
        """Release decoder state (a dataset keeps at most one source open)."""


class FrameFolder(FrameSource):
    """A folder of image files, one per frame, in file-name order (DAVIS: 00000.jpg, 00001.jpg, ...)."""

    kind = "frames"

    def __init__(self, name: str, path: Path, fps: float | None = None) -> None:
        super().__init__(name, path)
        self.fps = fps
        self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)

    def info(self) -> SourceInfo:
        if not self.files:
            raise BadSourceError(f"{self.path}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
        with self._open(self.files[0]) as image:
            width, height = upright_size(image)
        return SourceInfo(len(self.files), height, width, self.fps)

    def read(self, indices: list[int]) -> np.ndarray:
        return read_rgb_stack(
            [self.files[i] for i in indices],
            (OSError, UnidentifiedImageError),
            lambda path, exc: BadSourceError(
                f"{path}: cannot decode image ({exc}); replace the file or pass --skip-bad"
            ),
            lambda shapes: BadSourceError(f"{self.path}: frames differ in size ({shapes})"),
        )

    def checksums(self, indices: list[int]) -> dict[str, str]:
        return {self.files[i].name: sha256_file(self.files[i]) for i in indices}

    @staticmethod
    @contextmanager
    def _open(path: Path) -> Iterator[Image.Image]:
        """The image at ``path``, its header read (for its size)."""
        try:
            with open_image(path) as image:
                yield image
        except (OSError, UnidentifiedImageError) as exc:
            raise BadSourceError(f"{path}: cannot decode image ({exc}); replace the file or pass --skip-bad") from None


class VideoFile(FrameSource):
    """A video file decoded with decord, frame-accurately by index."""

    kind = "video"

    def __init__(self, name: str, path: Path) -> None:
        super().__init__(name, path)
        self._reader = None
        self._sha256: str | None = None

    def _open(self):
        if self._reader is None:
            try:
                import decord
            except ImportError:
                raise KfbenchError(
                    f"reading {self.path} needs decord (pip install decord; wheels exist for x86_64)"
                ) from None
            decord.logging.set_level(decord.logging.QUIET)
            try:
                with _native_stderr_silenced():
                    self._reader = decord.VideoReader(str(self.path), ctx=decord.cpu(0))
            except Exception as exc:  # decord raises RuntimeError or DECORDError on a bad stream
                raise BadSourceError(
                    f"{self.path}: cannot decode video (truncated or corrupt: {_first_line(exc)}); "
                    "re-download it or pass --skip-bad"
                ) from None
        return self._reader

    def info(self) -> SourceInfo:
        reader = self._open()
        if len(reader) == 0:
            raise BadSourceError(f"{self.path}: the video has no frames; re-download it or pass --skip-bad")
        # decord's length is the container's frame count; a damaged file can list more frames than it
        # holds, and decord then never returns from a read past the real end (dmlc/decord#373).
        packets, sizes = _scan(self.path)
        if len(sizes) > 1:
            shown = " then ".join(f"{w}x{h}" for w, h in sizes)
            raise BadSourceError(
                f"{self.path}: the frame size changes mid-stream ({shown}); kfbench reads clips of one size: "
                "re-encode it at one size or pass --skip-bad"
            )
        if packets < len(reader):
            raise BadSourceError(
                f"{self.path}: the container lists {len(reader)} frames but holds {packets} (truncated or damaged); "
                "re-download it or pass --skip-bad"
            )
        height, width = reader[0].shape[:2]
        return SourceInfo(len(reader), int(height), int(width), float(reader.get_avg_fps()))

    def read(self, indices: list[int]) -> np.ndarray:
        reader = self._open()
        try:
            return reader.get_batch(indices).asnumpy()
        except Exception as exc:
            if _COPY_FAILURE in str(exc):  # decord cannot copy frames of some sizes (e.g. 16x16): PyAV decodes them
                return _decode_with_pyav(self.path, indices)
            raise BadSourceError(
                f"{self.path}: cannot decode frames {indices[0]}..{indices[-1]} ({_first_line(exc)}); "
                "re-download it or pass --skip-bad"
            ) from None

    def close(self) -> None:
        self._reader = None

    def timestamps(self, indices: list[int]) -> list[float]:
        return [round(float(t), 6) for t in self._open().get_frame_timestamp(indices)[:, 0]]

    def checksums(self, indices: list[int]) -> dict[str, str]:
        if self._sha256 is None:
            self._sha256 = sha256_file(self.path)
        return {self.path.name: self._sha256}


_COPY_FAILURE = "DECORDArrayCopyFromTo"


def _scan(path: Path) -> tuple[int, list[tuple[int, int]]]:
    """Video packets actually present in the file, and the frame sizes (width, height) in stream order.

    Packets are demuxed with PyAV; only keyframes are decoded (a size can change only at one).
    """
    import av

    sizes: list[tuple[int, int]] = []
    count = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for packet in container.demux(stream):
                if packet.size:
                    count += 1
                    frames = stream.codec_context.decode(packet) if packet.is_keyframe else []
                    sizes += [(f.width, f.height) for f in frames if (f.width, f.height) not in sizes[-1:]]
            sizes += [
                (f.width, f.height) for f in stream.codec_context.decode(None) if (f.width, f.height) not in sizes[-1:]
            ]
    except (av.error.FFmpegError, IndexError) as exc:
        raise BadSourceError(f"{path}: cannot demux video ({exc}); re-download it or pass --skip-bad") from None
    return count, sizes


def _decode_with_pyav(path: Path, indices: list[int]) -> np.ndarray:
    """Frames at ``indices`` (positions in presentation order, as decord counts them), decoded with PyAV."""
    import av

    wanted, found, position = set(indices), {}, -1
    try:
        with av.open(str(path)) as container:
            for position, frame in enumerate(container.decode(video=0)):
                if position in wanted:
                    found[position] = frame.to_ndarray(format="rgb24")
                if len(found) == len(wanted):
                    break
    except av.error.FFmpegError as exc:
        raise BadSourceError(f"{path}: cannot decode video ({exc}); re-download it or pass --skip-bad") from None
    if len(found) < len(wanted):
        raise BadSourceError(
            f"{path}: holds {position + 1} decodable frames, frame {max(wanted - set(found))} was asked for; "
            "re-download it or pass --skip-bad"
        )
    return np.stack([found[i] for i in indices])


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Mute file descriptor 2 (decord's C++ logger ignores its log level when a file fails to open)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__


def discover(folder: Path) -> list[FrameSource]:
    """Every video file and every folder of images under ``folder`` (recursively), by relative path.

    A source's name is its path relative to ``folder`` without the extension, with '/' written
    as '__' so that it can name a pair folder. A clip, frame or folder that a symlink leads out of
    ``folder`` is refused: a dataset reads only inside its root.
    """
    sources: list[FrameSource] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in (*VIDEO_EXTENSIONS, *IMAGE_EXTENSIONS) or path.is_dir():
            contained(path, folder, "clip")
        if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
            sources.append(VideoFile(source_name(relative.with_suffix("")), path))
        elif path.is_dir() and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in path.iterdir() if p.is_file()):
            sources.append(FrameFolder(source_name(relative), path))
    seen: dict[str, Path] = {}
    for source in sources:
        if source.name in seen:
            raise BadSourceError(
                f"{seen[source.name]} and {source.path} would both be called '{source.name}'; rename one of them"
            )
        seen[source.name] = source.path
    return sources


def source_name(relative: Path) -> str:
    """A relative path as a name that is safe in a folder name: 'a/b c' -> 'a__b-c'."""
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in relative.as_posix().replace("/", "__"))
