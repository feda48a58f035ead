"""`kfbench evaluate --reference-run DATASET/RUN`: another run of the same store as the real set of the
distribution metrics (``Metric.reference_set``: FID, KID, FVD, FVD-VideoMAE, JEDi).

For those metrics only, the reference run's frames take the ground truth's place: each scored pair's
frames and the reference run's frames of the same pair id are mapped onto the protocol's grid (without a
protocol frame count, the reference's own frames), each by its recorded frame times, at the protocol's
size or else the reference's. Per-pair metrics against ground truth (PSNR, SSIM, LPIPS, ...) never use
it: another method's frames are not aligned ground truth. Rows scored this way record the reference's
identity and fingerprint (``settings.reference_run``) and a real-set digest of their own, so that no
table holds them beside rows scored against ground truth.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.cache import FeatureCache
from kfbench.metrics.loaded import Features, weights_digests
from kfbench.metrics.protocol import Protocol
from kfbench.metrics.timegrid import MAPPING_RULE, PairFrames, grid_times, on_grid
from kfbench.store.runstore import RunStore

ASPECT_TOLERANCE = 0.01  # relative difference of width / height beyond which two runs' frames show other crops


@dataclass
class ReferenceRun:
    """A run folder of the store whose complete pairs are the real set; its frames read pair by pair."""

    store: RunStore
    dataset: str
    run: str
    fingerprint: str  # the run's settings fingerprint (run.json), or "none recorded"
    pairs: list[str]  # its complete pairs
    damaged: dict[str, str]  # its pairs left out, and why
    content: dict[str, str] = field(default_factory=dict)  # pair -> sha1 of its frames as read

    @property
    def label(self) -> str:
        return f"{self.dataset}/{self.run}"

    def grid(
        self, pair_id: str, generated: np.ndarray, times: list[float], protocol: Protocol, where: str
    ) -> PairFrames | None:
        """The scored frames and this run's frames of ``pair_id`` on one grid, or None when it has no such pair.

        Frames of another aspect ratio than the reference's are refused (a centre crop would compare other
        parts of the scene)."""
        if pair_id not in self.pairs:
            return None
        frames = self.store.load_frames(self.dataset, self.run, pair_id)
        self.content[pair_id] = hashlib.sha1(frames.tobytes() + str(frames.shape).encode()).hexdigest()
        (height, width), (ref_height, ref_width) = generated.shape[1:3], frames.shape[1:3]
        if abs((width / height) / (ref_width / ref_height) - 1) > ASPECT_TOLERANCE:
            raise KfbenchError(
                f"{where}: frames of {width}x{height} cannot be compared with the reference run {self.label}'s "
                f"{ref_width}x{ref_height} (another aspect ratio: a crop would show other parts of the scene); "
                "choose a reference run made at the same aspect ratio"
            )
        meta = self.store.load_meta(self.dataset, self.run, pair_id)
        own_times = meta.get("frame_times") or grid_times(len(frames))
        size = protocol.size or (ref_width, ref_height)
        return on_grid(
            pair_id, generated, times, frames, protocol.frames, size, protocol.include_keyframes, list(own_times)
        )

    def describe(self, grids: list[PairFrames], base: dict[str, Any]) -> dict[str, Any]:
        """The settings of rows scored against this run: ``base`` (how the frames were compared) with this run in
        the ground truth's place and a real-set digest of its identity, fingerprint and the frames compared."""
        compared = [[p.pair_id, p.truth_indices] for p in grids] + [list(p.truth.shape[1:3]) for p in grids[:1]]
        reference = {
            "run": self.label,
            "fingerprint": self.fingerprint,
            "store": "this run store",
            "pairs_left_out": self.damaged,
        }
        described = {k: v for k, v in base.items() if not k.startswith("ground_truth_")}
        if grids:
            first = grids[0]
            reference.update(frames_per_pair=first.num_truth, indices=first.truth_indices)
            described.update(
                frame_matching=f"scored and reference frames: {MAPPING_RULE}",
                compared_at=f"{first.truth.shape[2]}x{first.truth.shape[1]} (scored and reference frames resized, "
                "centre-cropped)",
            )
        digest = hashlib.sha1(json.dumps([self.label, self.fingerprint, *compared]).encode()).hexdigest()[:16]
        return {
            **described,
            "real_set": digest,
            "ground_truth": f"none used: the frames of run {self.label} are the reference set",
            "reference_run": reference,
        }

    def features(self, method: str, cache: FeatureCache, size: tuple[int, int]) -> ReferenceFeatures:
        """``method``'s cached features with this run's frames as the real set (cached by their content)."""
        return ReferenceFeatures(self.dataset, method, cache, self.label, size, reference=self)


@dataclass
class ReferenceFeatures(Features):
    """Cached features with a reference run's frames as the real set: keyed by that run, the pair's frame content
    and the frames compared."""

    reference: ReferenceRun | None = None

    def real(self, tag: str, weights: tuple[Path, ...], pair_id: str, indices: list[int], compute: Any) -> np.ndarray:
        key = {
            "reference_run": self.dataset_key,
            "pair": pair_id,
            "frames_sha1": self.reference.content[pair_id],
            "reference_indices": indices,
            "size": self.size,
            "extractor": tag,
            "weights": weights_digests(weights),
        }
        return self._get(tag, f"{self.reference.run}--{pair_id}", key, compute)


def resolve_reference(store: RunStore, text: str) -> ReferenceRun:
    """``DATASET/RUN`` as a run folder inside ``store`` with complete pairs; else a one-line error."""
    dataset, _, run = text.partition("/")
    if not dataset or not run:
        raise KfbenchError(
            f"--reference-run takes DATASET/RUN, a run folder of the store {store.root} (e.g. synthetic/linear), "
            f"got '{text}'"
        )
    folder = store.method_dir(dataset, run)  # one folder name each, inside the store (no '..', no symlink out)
    if not folder.is_dir():
        runs = store.methods(dataset) if store.dataset_dir(dataset).is_dir() else []
        known = f"runs of {dataset}: {', '.join(runs)}" if runs else f"the store has no runs of '{dataset}'"
        raise KfbenchError(f"--reference-run {text}: no run folder {folder} ({known})")
    damaged = store.damaged_pairs(dataset, run)
    pairs = [p for p in store.written_pairs(dataset, run) if p not in damaged]
    if not pairs:
        why = f" (damaged: {', '.join(f'{p} ({w})' for p, w in damaged.items())})" if damaged else ""
        raise KfbenchError(
            f"--reference-run {text} has no complete pair{why}; `kfbench run` it first or choose another run"
        )
    record = store.run_record(dataset, run)
    fingerprint = record["fingerprint"] if record else "none recorded"
    return ReferenceRun(store, dataset, run, fingerprint, pairs, damaged)
