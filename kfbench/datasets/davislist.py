"""The official DAVIS 2017 sequence list (train, val, test-dev): membership, frame counts, and the pairs they give.

The list ships with kfbench (datasets/davis2017_sequences.csv, from the DAVIS organisers'
``davisinteractive`` metadata); the test-challenge sequences are not in it, so only the listed
splits can be checked against a download or have their pairs printed without the data.
"""

from __future__ import annotations

import csv
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from kfbench.datasets.pairrule import PairRule, pair_id
from kfbench.datasets.sources import IMAGE_EXTENSIONS
from kfbench.errors import KfbenchError
from kfbench.presets import resource_dir

SPLITS = ("train", "val", "test-dev", "test-challenge")
LISTED_SPLITS = ("train", "val", "test-dev")
LIST_FILE = "davis2017_sequences.csv"


@cache
def _rows() -> tuple[tuple[str, str, int], ...]:
    """(sequence, split, frame count) of every listed sequence."""
    with open(resource_dir("datasets") / LIST_FILE, newline="") as fh:
        return tuple((r["sequence"], r["split"], int(r["num_frames"])) for r in csv.DictReader(fh))


def listed_frame_counts(splits: tuple[str, ...]) -> dict[str, int]:
    """Sequence -> official frame count for ``splits``, which must all be listed ones."""
    unlisted = [s for s in splits if s not in LISTED_SPLITS]
    if unlisted:
        raise KfbenchError(
            f"davis: split(s) {', '.join(unlisted)} have no official sequence list (only {', '.join(LISTED_SPLITS)} "
            "do); "
            f"choose --splits among {','.join(LISTED_SPLITS)}"
        )
    return {name: frames for name, split, frames in _rows() if split in splits}


def check_download(images: Path, splits: tuple[str, ...]) -> None:
    """Raise one error naming every listed sequence of ``splits`` missing from ``images`` or with another frame
    count."""
    expected = listed_frame_counts(splits)
    missing, wrong = [], []
    for name, frames in sorted(expected.items()):
        folder = images / name
        if not folder.is_dir():
            missing.append(name)
            continue
        found = sum(1 for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if found != frames:
            wrong.append(f"{name} has {found} frames, the list {frames}")
    if missing or wrong:
        parts = [f"{len(missing)} missing: {_names(missing)}"] if missing else []
        parts += [f"{len(wrong)} with another frame count: {_names(wrong)}"] if wrong else []
        raise KfbenchError(
            f"davis: {images} does not match the official DAVIS 2017 list for {','.join(splits)} "
            f"({len(expected)} sequences): {'; '.join(parts)}; extract the official archives again "
            "(kfbench prepare davis) or pass --splits all to use whatever is there, unchecked"
        )


def parse_splits(text: str) -> tuple[str, ...]:
    """'all' or a comma-separated subset of train, val, test-dev, test-challenge."""
    if text == "all":
        return SPLITS
    splits = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise KfbenchError(f"davis: unknown split(s) {', '.join(unknown) or text!r}; use all or {', '.join(SPLITS)}")
    return splits


def _names(items: list[str], shown: int = 12) -> str:
    return ", ".join(items[:shown]) + (f" (+{len(items) - shown} more)" if len(items) > shown else "")


def listed_pairs(splits: tuple[str, ...], rule: PairRule) -> list[str]:
    """The pair ids the pair rule selects from the listed sequences of ``splits``, as a run on a complete download
    has."""
    return [pair_id(name, start, rule) for name, start in rule.select(listed_frame_counts(splits))]


LISTING_OPTIONS = ("splits", "num_frames", "frame_stride", "num_pairs")


def pair_listing(preset: dict[str, Any], options: dict[str, Any]) -> tuple[list[str], str]:
    """The davis pair ids of the preset's options with ``options`` (of LISTING_OPTIONS), and a summary line with
    their sha256."""
    unknown = sorted(set(options) - set(LISTING_OPTIONS))
    if unknown:
        valid = ", ".join("--" + n.replace("_", "-") for n in LISTING_OPTIONS)
        raise KfbenchError(f"kfbench list pairs davis: unknown option --{unknown[0].replace('_', '-')}; valid: {valid}")
    chosen = {**preset, **options}
    splits = parse_splits(chosen["splits"])
    rule = PairRule(chosen["num_frames"], chosen["frame_stride"], chosen["num_pairs"])
    ids = listed_pairs(splits, rule)
    digest = hashlib.sha256("".join(f"{i}\n" for i in ids).encode()).hexdigest()
    sequences = len({i.rsplit("_", 2)[0] for i in ids})
    summary = (
        f"davis: {len(ids)} pairs from {sequences} of {len(listed_frame_counts(splits))} sequences of "
        f"{','.join(splits)} "
        f"(official list; {rule.num_frames} frames, stride {rule.frame_stride}, num_pairs {rule.num_pairs}); "
        f"sha256 of the list {digest}"
    )
    return ids, summary
