"""The run store: OUT/<dataset>/<run>/<pair_id>/ with frames/, preview.mp4 and meta.json.

A run folder holds one method under one settings fingerprint (``run.json``; kfbench.store.fingerprint):
the first fingerprint of a method is ``<method>``, another one ``<method>@<short digest>`` or the
``--run-name`` chosen. A pair directory exists only once complete: it is written under a temporary
name and renamed into place, so a killed run never leaves a pair that a later run takes as done.
A pair counts as complete only when its meta.json parses, carries the required fields, and its
frames are all there with the recorded count and byte sizes (a cheap check); their content hash is
recorded too and checked by ``verify_pair`` (`kfbench verify`). Pair ids are checked before they
name a folder, a pair folder must lie inside its run folder, a dataset or run folder inside the store
(no symlink leading out), and only a folder holding meta.json (one kfbench wrote) is ever replaced.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.store.fingerprint import SHORT, differences
from kfbench.store.metacheck import checked_meta
from kfbench.store.pairids import check_folder_name, check_pair_id
from kfbench.utils.atomicio import remove_leftovers, temp_path, write_text
from kfbench.utils.containment import contained
from kfbench.utils.digests import file_sha256, json_sha256
from kfbench.utils.videoio import read_png_frames, write_mp4, write_png_frames

META = "meta.json"
FRAMES = "frames"
PREVIEW = "preview.mp4"
RUN = "run.json"
REQUIRED = ("dataset", "method", "seed", "num_frames", "frames")


class RunStore:
    """Read and write the runs of one output folder."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def dataset_dir(self, dataset: str) -> Path:
        """OUT/<dataset>; a name that is not one folder, or a folder symlinked out of OUT, is an error."""
        folder = self.root / check_folder_name(dataset, "dataset name", f"run store {self.root}")
        return contained(folder, self.root, "dataset folder")

    def method_dir(self, dataset: str, method: str) -> Path:
        """OUT/<dataset>/<method>, checked as :meth:`dataset_dir`."""
        folder = self.dataset_dir(dataset) / check_folder_name(method, "method name", f"run store {self.root}")
        return contained(folder, self.root, "method folder")

    def pair_dir(self, dataset: str, method: str, pair_id: str) -> Path:
        """OUT/<dataset>/<method>/<pair_id>; an id or symlink that would lead elsewhere is an error."""
        folder = self.method_dir(dataset, method)
        path = folder / check_pair_id(pair_id, f"run store {folder}")
        if path.is_symlink() or (path.exists() and path.resolve().parent != folder.resolve()):
            raise KfbenchError(f"pair folder {path} leads outside {folder} (a symlink); move it away")
        return path

    def remove_leftovers(self, dataset: str, method: str) -> list[Path]:
        """Remove the temporary folders that dead runs left in the method folder."""
        return remove_leftovers(self.method_dir(dataset, method))

    def completed_since(self, dataset: str, method: str, pair_id: str, since: float) -> bool:
        """True when the pair was completed at or after time ``since`` (seconds since the epoch)."""
        meta = self.pair_dir(dataset, method, pair_id) / META
        try:
            return meta.stat().st_mtime >= since
        except FileNotFoundError:
            return False

    def is_complete(self, dataset: str, method: str, pair_id: str) -> bool:
        """meta.json parses with its required fields and every recorded frame is there at its size."""
        return self.pair_problem(dataset, method, pair_id) is None

    def pair_problem(self, dataset: str, method: str, pair_id: str) -> str | None:
        """Why the pair is not complete (absent, damaged meta.json, frames missing or of another size), or None."""
        folder = self.pair_dir(dataset, method, pair_id)
        try:
            meta = _read_meta(folder / META)
        except FileNotFoundError:
            return "not computed"
        except KfbenchError as exc:
            return str(exc)
        return _frames_problem(folder / FRAMES, meta)

    def verify_pair(self, dataset: str, method: str, pair_id: str) -> str | None:
        """The cheap check, then the frames' content against the recorded hash; the problem, or None."""
        problem = self.pair_problem(dataset, method, pair_id)
        if problem is not None:
            return problem
        folder = self.pair_dir(dataset, method, pair_id)
        meta = _read_meta(folder / META)
        if "frames_sha256" not in meta:
            return "no content hash recorded (made before kfbench recorded one); `kfbench run --overwrite` remakes it"
        if _frames_digest(folder / FRAMES, meta["frames"]) != meta["frames_sha256"]:
            return "frame content differs from the recorded hash (frames_sha256)"
        return None

    def save(
        self, dataset: str, method: str, pair_id: str, frames: np.ndarray, meta: dict[str, Any], fps: float
    ) -> Path:
        """Atomically write one pair's frames, preview and meta.json (replacing an older result)."""
        final = self.pair_dir(dataset, method, pair_id)
        if final.exists() and not (final / META).is_file():
            raise KfbenchError(
                f"{final} exists but is not a kfbench pair folder (no {META}); move it away, kfbench will not delete it"
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(final)
        tmp.mkdir()
        try:
            names = write_png_frames(frames, tmp / FRAMES)
            meta = {
                **meta,
                "frames": names,
                "frame_bytes": [(tmp / FRAMES / n).stat().st_size for n in names],
                "frames_sha256": _frames_digest(tmp / FRAMES, names),
            }
            write_mp4(frames, tmp / PREVIEW, fps=fps)
            (tmp / META).write_text(json.dumps(meta, indent=2, default=_json_default) + "\n")
            if final.exists():
                stale = temp_path(final, "old")
                final.rename(stale)
                shutil.rmtree(stale)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        return final

    def load_meta(self, dataset: str, method: str, pair_id: str) -> dict[str, Any]:
        """A pair's meta.json, its fields checked as untrusted input; a damaged one is a one-line error naming it."""
        path = self.pair_dir(dataset, method, pair_id) / META
        _read_meta(path)
        return checked_meta(path)

    def load_frames(self, dataset: str, method: str, pair_id: str) -> np.ndarray:
        return read_png_frames(self.pair_dir(dataset, method, pair_id) / FRAMES)

    def datasets(self) -> list[str]:
        return (
            sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
            if self.root.is_dir()
            else []
        )

    def methods(self, dataset: str) -> list[str]:
        folder = self.dataset_dir(dataset)
        return (
            sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
            if folder.is_dir()
            else []
        )

    def written_pairs(self, dataset: str, method: str) -> list[str]:
        """Pairs whose folder holds a meta.json (complete or damaged)."""
        folder = self.method_dir(dataset, method)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and (p / META).is_file())

    def completed_pairs(self, dataset: str, method: str) -> list[str]:
        """Pairs that pass the cheap completeness check."""
        return [p for p in self.written_pairs(dataset, method) if self._problem_of_listed(dataset, method, p) is None]

    def damaged_pairs(self, dataset: str, method: str) -> dict[str, str]:
        """Pairs with a meta.json that fail the cheap check: pair id -> the problem."""
        found = {p: self._problem_of_listed(dataset, method, p) for p in self.written_pairs(dataset, method)}
        return {p: problem for p, problem in found.items() if problem is not None}

    def _problem_of_listed(self, dataset: str, method: str, pair_id: str) -> str | None:
        try:
            return self.pair_problem(dataset, method, pair_id)
        except KfbenchError as exc:  # an id or symlink leading elsewhere
            return str(exc)

    # -- runs: one method under one settings fingerprint -------------------------------------------------

    def run_record(self, dataset: str, run: str) -> dict[str, Any] | None:
        """A run folder's run.json, or None when it has none (made before fingerprints, or not yet started)."""
        path = self.method_dir(dataset, run) / RUN
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            problem = str(exc).splitlines()[0]
            raise KfbenchError(f"{path} is damaged ({problem}); restore it or move the run folder away") from None
        if not isinstance(record, dict) or not isinstance(record.get("fingerprint"), str):
            raise KfbenchError(f"{path} is damaged (no fingerprint); restore it or move the run folder away")
        return record

    def choose_run(
        self, dataset: str, method: str, record: dict[str, Any], run_name: str | None = None
    ) -> tuple[str, str]:
        """The run folder for ``record`` (a new one is claimed) and a line saying why, when it is not ``method``.

        Named (``run_name``): that folder, refused when it holds other settings. Else ``method`` when it
        holds these settings or nothing yet, else ``method@<short digest>``.
        """
        if run_name is not None:
            check_pair_id(run_name, "--run-name")
            if self._claim_run(dataset, run_name, record):
                return run_name, ""
            raise KfbenchError(
                f"run '{run_name}' in {self.root / dataset} holds other settings "
                f"({self._changes(dataset, run_name, record)}); choose another --run-name"
            )
        if self._claim_run(dataset, method, record):
            return method, ""
        named = f"{method}@{record['fingerprint'][:SHORT]}"
        if not self._claim_run(dataset, named, record):
            raise KfbenchError(
                f"run folder {self.method_dir(dataset, named)} holds other settings with the same short "
                "digest; pass --run-name NAME"
            )
        return named, (
            f"settings differ from run '{method}' ({self._changes(dataset, method, record)}): "
            f"writing run '{named}' (--run-name NAME names it)"
        )

    def _changes(self, dataset: str, run: str, record: dict[str, Any]) -> str:
        old = self.run_record(dataset, run)
        if old is None:
            return "it has pairs made before kfbench recorded settings"
        return differences(old.get("settings", {}), record["settings"])

    def _claim_run(self, dataset: str, run: str, record: dict[str, Any]) -> bool:
        """True when ``run`` holds ``record``'s fingerprint, or held nothing and now does (created exclusively)."""
        folder = self.method_dir(dataset, run)
        existing = self.run_record(dataset, run)
        if existing is None:
            if self.written_pairs(dataset, run):
                return False  # pairs of unknown settings
            folder.mkdir(parents=True, exist_ok=True)
            tmp = temp_path(folder / RUN)
            write_text(tmp, json.dumps(record, indent=2, sort_keys=True) + "\n")
            try:
                os.link(tmp, folder / RUN)  # fails when another run created it first
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
            existing = self.run_record(dataset, run)
        return existing is not None and existing["fingerprint"] == record["fingerprint"]


def _read_meta(path: Path) -> dict[str, Any]:
    """meta.json, parsed and with its required fields; else a one-line KfbenchError (FileNotFoundError when absent)."""
    text = path.read_text(errors="replace")
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise KfbenchError(f"{path.name} does not parse ({str(exc).splitlines()[0]})") from None
    if not isinstance(meta, dict):
        raise KfbenchError(f"{path.name} is not a JSON object")
    absent = [k for k in REQUIRED if k not in meta]
    if absent:
        raise KfbenchError(f"{path.name} lacks {', '.join(absent)}")
    if not isinstance(meta["frames"], list) or not all(isinstance(n, str) and "/" not in n for n in meta["frames"]):
        raise KfbenchError(f"{path.name}: frames is not a list of file names")
    return meta


def _frames_problem(folder: Path, meta: dict[str, Any]) -> str | None:
    """Frames missing, extra or of another size than recorded (stat only; no decoding)."""
    names = meta["frames"]
    times = meta.get("frame_times")
    if isinstance(times, list) and len(times) != len(names):
        return f"meta.json records {len(names)} frames and {len(times)} frame_times"
    present = {p.name: p for p in folder.glob("*.png")} if folder.is_dir() else {}
    missing = [n for n in names if n not in present]
    if missing:
        return f"frame(s) {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} missing of {len(names)}"
    if len(present) != len(names):
        return f"{len(present)} frame files for {len(names)} recorded"
    sizes = meta.get("frame_bytes")
    if isinstance(sizes, list):
        wrong = [n for n, size in zip(names, sizes) if present[n].stat().st_size != size]
        if wrong or len(sizes) != len(names):
            return f"frame(s) {', '.join(wrong[:3]) or '?'} differ in size from meta.json"
    return None


def _frames_digest(folder: Path, names: list[str]) -> str:
    return json_sha256([[n, file_sha256(folder / n, memo=False)] for n in names])


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)
