"""DAVIS 2017 (trainval, test-dev, test-challenge) keyframe pairs from the official JPEG folders.

Layout (as the official archives extract): ROOT/DAVIS/JPEGImages/<resolution>/<sequence>/00000.jpg
(ROOT/JPEGImages/... is accepted too). The train, val and test-dev sequences and their frame counts
come from the official list shipped with kfbench (kfbench/datasets/davislist.py) and are checked
against the download; test-challenge's from ROOT/DAVIS/ImageSets/2017/test-challenge.txt;
``splits="all"`` takes every sequence folder present, unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kfbench.datasets.clips import ClipDataset
from kfbench.datasets.davislist import LISTED_SPLITS, SPLITS, check_download, listed_frame_counts, parse_splits
from kfbench.datasets.pairrule import PairRule
from kfbench.datasets.sources import FrameFolder, FrameSource
from kfbench.errors import KfbenchError

Resolution = Literal["Full-Resolution", "480p"]
ARCHIVE_BASE = "https://data.vision.ee.ethz.ch/csergi/share/davis/"


@dataclass(frozen=True)
class Archive:
    """An official DAVIS 2017 archive; size and sha256 where a public record of them exists."""

    name: str
    splits: tuple[str, ...]
    bytes: int | None = None
    sha256: str | None = None

    @property
    def url(self) -> str:
        return ARCHIVE_BASE + self.name


# Sizes and sha256 of the trainval archives: TensorFlow Datasets' checksum record for DAVIS
# (tensorflow_datasets/video/davis/checksums.tsv). No public record exists for the test archives:
# their ZIP CRCs are checked and their sha256 is reported, not compared.
ARCHIVES: dict[tuple[str, str], Archive] = {
    ("trainval", "480p"): Archive(
        "DAVIS-2017-trainval-480p.zip",
        ("train", "val"),
        832766765,
        "e3d0b5b77c3d031b000a19e0e25e3e2cac65d183755601bc2cf066df1a2aa492",
    ),
    ("trainval", "Full-Resolution"): Archive(
        "DAVIS-2017-trainval-Full-Resolution.zip",
        ("train", "val"),
        2956935323,
        "519494b320e7a333b98188e0f44e028f379c3312a1fc1a3e8bddd64b2c9ecfaf",
    ),
    ("test-dev", "480p"): Archive("DAVIS-2017-test-dev-480p.zip", ("test-dev",)),
    ("test-dev", "Full-Resolution"): Archive("DAVIS-2017-test-dev-Full-Resolution.zip", ("test-dev",)),
    ("test-challenge", "480p"): Archive("DAVIS-2017-test-challenge-480p.zip", ("test-challenge",)),
    ("test-challenge", "Full-Resolution"): Archive(
        "DAVIS-2017-test-challenge-Full-Resolution.zip", ("test-challenge",)
    ),
}


def archives_for(splits: tuple[str, ...], resolution: str) -> list[Archive]:
    """The official archives holding ``splits`` at ``resolution``."""
    return [a for (_, res), a in ARCHIVES.items() if res == resolution and set(a.splits) & set(splits)]


def davis_dir(root: Path) -> Path:
    """The folder holding JPEGImages/ and ImageSets/: ROOT/DAVIS if present, else ROOT."""
    return root / "DAVIS" if (root / "DAVIS").is_dir() else root


class DavisDataset(ClipDataset):
    """DAVIS 2017 sequences cut into pairs by the shared pair rule."""

    kind = "davis"

    def __init__(
        self,
        *,
        root: str | None = None,
        resolution: Resolution = "Full-Resolution",
        splits: str = ",".join(LISTED_SPLITS),
        num_frames: int = 25,
        frame_stride: int = 1,
        num_pairs: int | None = 117,
        manifest: str | None = None,
        skip_bad: bool = False,
        gaps: str | None = None,
    ) -> None:
        if resolution not in ("Full-Resolution", "480p"):
            raise KfbenchError(f"davis: resolution must be Full-Resolution or 480p, got '{resolution}'")
        self.resolution, self.splits = resolution, parse_splits(splits)
        rule = PairRule(num_frames, frame_stride, num_pairs)
        super().__init__(root=root, rule=rule, manifest=manifest, skip_bad=skip_bad, gaps=gaps)

    def find_sources(self) -> list[FrameSource]:
        base = davis_dir(self.root)
        images = base / "JPEGImages" / self.resolution
        if not images.is_dir():
            raise KfbenchError(
                f"davis: no {images} (expected {images}/<sequence>/00000.jpg); "
                f"run `kfbench prepare davis --root {self.root}`"
            )
        if self.splits == SPLITS:
            names = sorted(d.name for d in images.iterdir() if d.is_dir() and not d.name.startswith("."))
        else:
            names = self._split_members(base / "ImageSets" / "2017", images)
        return [FrameFolder(name, images / name) for name in names]

    def _split_members(self, imagesets: Path, images: Path) -> list[str]:
        """Listed splits from the official list (checked against the download), others from the archive's ImageSets."""
        listed = tuple(s for s in self.splits if s in LISTED_SPLITS)
        if listed:
            check_download(images, listed)
        wanted = list(listed_frame_counts(listed))
        for split in (s for s in self.splits if s not in LISTED_SPLITS):
            listing = imagesets / f"{split}.txt"
            if not listing.is_file():
                raise KfbenchError(f"davis: split '{split}' needs {listing} (it comes with the official archive)")
            wanted += [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        absent = sorted(n for n in set(wanted) if not (images / n).is_dir())
        if absent:
            raise KfbenchError(
                f"davis: {len(absent)} sequence(s) of split(s) {','.join(self.splits)} missing from {images}: "
                f"{', '.join(absent[:5])}{' ...' if len(absent) > 5 else ''}; run `kfbench prepare davis`"
            )
        return sorted(set(wanted))

    def describe_source(self, source: FrameSource) -> dict[str, str]:
        return {"sequence": source.name, "resolution": self.resolution}
