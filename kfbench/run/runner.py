"""`kfbench run`: every selected pair of a dataset through one method into the run store."""

from __future__ import annotations

import platform
import resource
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from kfbench.errors import BadSourceError, KfbenchError
from kfbench.interfaces import Interpolator, Pair, PairDataset
from kfbench.run.prompts import pair_prompt
from kfbench.store.claims import Held, try_claim
from kfbench.store.runstore import RunStore
from kfbench.utils.imageops import resize_center_crop
from kfbench.utils.progress import set_status, track

_VERSIONED_PACKAGES = ("kfbench", "torch", "diffusers", "transformers", "numpy", "opencv-python-headless")


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N) with 0 <= I < N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise KfbenchError(f"--shard takes I/N (e.g. 0/4), got '{text}'") from None
    if count < 1 or not 0 <= index < count:
        raise KfbenchError(f"--shard {text}: need 0 <= I < N")
    return index, count


def select_pairs(
    ids: list[str], *, pairs: list[str] | None = None, limit: int | None = None, shard: tuple[int, int] | None = None
) -> list[str]:
    """The pairs to run: an explicit list, then the first ``limit``, then this shard's share (i mod N)."""
    selected = list(ids)
    if pairs:
        unknown = [p for p in pairs if p not in set(ids)]
        if unknown:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise KfbenchError(f"unknown pair id(s) {', '.join(unknown)}; this dataset has {shown}")
        selected = [p for p in ids if p in set(pairs)]
    if limit is not None:
        selected = selected[:limit]
    if shard is not None:
        index, count = shard
        selected = selected[index::count]
    return selected


def check_store_outside(store: RunStore, dataset: PairDataset) -> None:
    """A run store inside a clip dataset's root would be read back as clips by the next run: refused."""
    root = getattr(dataset, "root", None)
    if isinstance(root, Path) and store.root.resolve().is_relative_to(root.resolve()):
        raise KfbenchError(
            f"--out {store.root} lies inside the dataset root {root}: the next run would take its outputs "
            "as clips; pass an --out folder outside the dataset root"
        )


@dataclass
class RunSummary:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


def prepare_pair(pair: Pair, method: Interpolator) -> Pair:
    """Resize and centre-crop keyframes and ground truth to the method's working size."""
    if method.frame_size is None:
        return pair
    height, width = method.frame_size
    gt = None if pair.ground_truth is None else resize_center_crop(pair.ground_truth, height, width)
    return Pair(
        pair.id,
        resize_center_crop(pair.first, height, width),
        resize_center_crop(pair.last, height, width),
        gt,
        pair.meta,
    )


def pair_num_frames(pair: Pair) -> int:
    if pair.ground_truth is not None:
        return len(pair.ground_truth)
    return int(pair.meta.get("num_frames", 25))


def run_benchmark(
    method: Interpolator,
    dataset: PairDataset,
    store: RunStore,
    pair_ids: list[str],
    *,
    seed: int = 0,
    overwrite: bool = False,
    prompts: dict[str, str] | None = None,
) -> RunSummary:
    """Run ``method`` on each pair not yet complete in ``store`` (all of them with ``overwrite``).

    Methods that take a text prompt get each pair's from ``prompts`` (pair id -> prompt), else
    from the pair's own ``prompt`` (a pairs CSV column), else their ``prompt`` option.

    A pair whose source cannot be read stops the run, or is skipped and listed in ``bad`` when the
    dataset was opened with ``skip_bad``. Each pair is claimed first: a pair that another live run
    is computing is listed in ``held``, and one that another run completed after this run started
    is not recomputed, even with ``overwrite``.
    """
    summary = RunSummary()
    started = time.time()
    check_store_outside(store, dataset)
    store.remove_leftovers(dataset.name, method.name)

    def done(pair_id: str) -> bool:
        complete = store.is_complete(dataset.name, method.name, pair_id)
        return complete and (not overwrite or store.completed_since(dataset.name, method.name, pair_id, started))

    for pair_id in track(pair_ids, f"{method.name} on {dataset.name}"):
        if done(pair_id):
            summary.skipped.append(pair_id)
            set_status(f"skipped {len(summary.skipped)} done")
            continue
        claim = try_claim(store.method_dir(dataset.name, method.name), pair_id)
        if isinstance(claim, Held):
            summary.held.append(f"{pair_id}: {claim}")
            continue
        try:
            if done(pair_id):  # another run finished it between the check and the claim
                summary.skipped.append(pair_id)
                continue
            _run_pair(method, dataset, store, pair_id, seed, prompts, summary)
        finally:
            claim.release()
    return summary


def _run_pair(
    method: Interpolator,
    dataset: PairDataset,
    store: RunStore,
    pair_id: str,
    seed: int,
    prompts: dict[str, str] | None,
    summary: RunSummary,
) -> None:
    """Generate one pair and save it with its meta (a bad source is listed in ``summary.bad`` with skip_bad)."""
    try:
        pair = prepare_pair(dataset.load(pair_id), method)
    except BadSourceError as exc:
        if not getattr(dataset, "skip_bad", False):
            raise
        summary.bad.append(f"{pair_id}: {exc}")
        return
    num_frames = pair_num_frames(pair)
    prompt, prompt_source = pair_prompt(pair, prompts) if method.takes_prompt else (None, "")
    _reset_peak_memory()
    start = time.perf_counter()
    frames = method.interpolate(pair.first, pair.last, num_frames=num_frames, seed=seed, prompt=prompt)
    wall = time.perf_counter() - start
    meta = {
        "dataset": dataset.name,
        "dataset_options": dataset.options,
        "method": method.name,
        "options": method.options,
        "pair": {"id": pair.id, **pair.meta},
        "seed": seed,
        "num_frames": num_frames,
        "frame_times": method.output_times(num_frames),
        "size": {"height": int(frames.shape[1]), "width": int(frames.shape[2])},
        "stats": method.stats,
        "wall_time_s": round(wall, 4),
        "peak_memory": _peak_memory(),
        "device": method.device_name,
        "environment": environment(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if method.takes_prompt:
        meta["prompt"], meta["prompt_source"] = method.stats.get("prompt", prompt), prompt_source
    fps = float(method.options.get("fps") or pair.meta.get("fps") or 7)
    store.save(dataset.name, method.name, pair_id, frames, meta, fps=fps)
    summary.done.append(pair_id)


def environment() -> dict[str, Any]:
    versions = {}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": versions}


def _reset_peak_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def _peak_memory() -> dict[str, Any]:
    import torch

    peak = {"process_max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        peak["cuda_max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
    return peak
