"""Keyframe image pairs listed in a CSV, without ground truth.

Columns: ``first`` and ``last`` (image paths, relative to the CSV's folder), and optionally ``id``
(default '<first stem>__<last stem>'), ``num_frames`` (frames to generate, keyframes included;
default: the dataset option), ``fps`` and ``prompt`` (the text prompt of methods that take one). Metrics that need a
ground-truth clip are skipped for
these pairs, with the reason recorded in each pair's meta.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from PIL import UnidentifiedImageError

from kfbench.datasets.clips import resolve_root
from kfbench.datasets.sources import source_name
from kfbench.errors import BadSourceError, KfbenchError
from kfbench.interfaces import Pair, PairDataset
from kfbench.registry import SIZE_LIMITS
from kfbench.store.pairids import check_pair_id
from kfbench.utils.imageops import read_rgb
from kfbench.utils.userfiles import read_text
from kfbench.utils.videoio import check_fps

NO_GROUND_TRUTH = "keyframe pairs from a CSV have no ground-truth clip"


class PairsDataset(PairDataset):
    """Keyframe pairs from a CSV file (ROOT itself, or ROOT/pairs.csv when ROOT is a folder)."""

    def __init__(self, *, root: str | None = None, num_frames: int = 25) -> None:
        path = resolve_root(root, "pairs")
        self.csv_path = path / "pairs.csv" if path.is_dir() else path
        if not self.csv_path.is_file():
            raise KfbenchError(
                f"pairs: no {self.csv_path}; pass --root FILE.csv (columns: id, first, last[, num_frames, fps, prompt])"
            )
        if num_frames < 2:
            raise KfbenchError(f"pairs: num_frames must be at least 2, got {num_frames}")
        self.rows: dict[str, dict[str, object]] = {}
        reader = csv.DictReader(io.StringIO(read_text(self.csv_path, "pairs: CSV file"), newline=""))
        absent = {"first", "last"} - set(reader.fieldnames or [])
        if absent:
            raise KfbenchError(f"pairs: {self.csv_path} lacks column(s) {', '.join(sorted(absent))} (need first, last)")
        for row in reader:
            self._add(reader.line_num, row, num_frames)
        if not self.rows:
            raise KfbenchError(f"pairs: {self.csv_path} lists no pairs")
        missing = sorted({str(p) for r in self.rows.values() for p in (r["first"], r["last"]) if not p.is_file()})
        if missing:
            raise KfbenchError(
                f"pairs: {len(missing)} image(s) listed in {self.csv_path} do not exist: {', '.join(missing)}"
            )

    def _add(self, line: int, row: dict[str, str], default_frames: int) -> None:
        where = f"pairs: line {line} of {self.csv_path}"
        if None in row:
            raise KfbenchError(f"{where}: more values than the header has columns; quote values that contain commas")
        if any(not (row[c] or "").strip() for c in ("first", "last")):
            raise KfbenchError(f"{where}: 'first' and 'last' need an image path each")
        base = self.csv_path.parent
        first, last = base / row["first"].strip(), base / row["last"].strip()
        pair_id = (row.get("id") or "").strip() or source_name(Path(f"{first.stem}__{last.stem}"))
        check_pair_id(pair_id, f"line {line} of {self.csv_path}")
        if pair_id in self.rows:
            raise KfbenchError(f"pairs: id '{pair_id}' appears twice in {self.csv_path} (line {line})")
        try:
            num_frames = int(row.get("num_frames") or default_frames)
            fps = float(row["fps"]) if (row.get("fps") or "").strip() else None
        except ValueError:
            raise KfbenchError(f"{where}: num_frames must be an integer, fps a number") from None
        low, high = SIZE_LIMITS["num_frames"]
        if not low <= num_frames <= high:
            raise KfbenchError(f"{where}: num_frames must be within {low}..{high}, got {num_frames}")
        if fps is not None:
            check_fps(fps, f"{where}: fps")
        prompt = (row.get("prompt") or "").strip() or None
        self.rows[pair_id] = {"first": first, "last": last, "num_frames": num_frames, "fps": fps, "prompt": prompt}

    def pair_ids(self) -> list[str]:
        return list(self.rows)

    def load(self, pair_id: str) -> Pair:
        if pair_id not in self.rows:
            raise KfbenchError(f"pairs: no pair '{pair_id}' in {self.csv_path}")
        row = self.rows[pair_id]
        first, last = _read(row["first"]), _read(row["last"])
        meta = {
            "source": "pairs",
            "first": str(row["first"]),
            "last": str(row["last"]),
            "frame_indices": None,
            "fps": row["fps"],
            "num_frames": row["num_frames"],
            "ground_truth_missing": NO_GROUND_TRUTH,
        }
        if row["prompt"]:
            meta["prompt"] = row["prompt"]
        return Pair(pair_id, first, last, None, meta)


def _read(path: Path) -> np.ndarray:
    try:
        return read_rgb(path)
    except (OSError, UnidentifiedImageError) as exc:
        raise BadSourceError(f"{path}: cannot decode image ({exc})") from None
