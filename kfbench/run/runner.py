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
from kfbench.store import fingerprint
from kfbench.store.claims import Held, try_claim
from kfbench.store.runstore import RunStore
from kfbench.utils import digests
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
    run: str = ""  # the run folder the pairs went to: the method's name, method@<digest> or --run-name
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    redone: list[str] = field(default_factory=list)  # "pair: why" for damaged or outdated pairs computed again
    notes: list[str] = field(default_factory=list)  # a new run id, other versions than the run's first pairs


@dataclass
class RunPlan:
    """One method's run: its folder, settings record and what each pair must match to be reused."""

    method: Interpolator
    dataset: PairDataset
    store: RunStore
    run: str
    record: dict[str, Any]
    seed: int
    prompts: dict[str, str] | None

    @property
    def digest(self) -> str:
        return self.record["fingerprint"]


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
    run_name: str | None = None,
) -> RunSummary:
    """Run ``method`` on each pair not yet complete under these settings in ``store`` (all of them with ``overwrite``).

    The run's settings fingerprint (kfbench.store.fingerprint) chooses its folder (``RunStore.choose_run``):
    frames made with other settings are never reused. A pair is reused only when it is complete
    (meta.json and frames intact) and its fingerprint matches, keyframes included; a damaged or
    outdated one is computed again and listed in ``redone``.

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
    plan = plan_run(method, dataset, store, seed, prompts, run_name, summary)
    store.remove_leftovers(dataset.name, plan.run)

    for pair_id in track(pair_ids, f"{plan.run} on {dataset.name}"):
        try:
            pair = dataset.load(pair_id)
        except BadSourceError as exc:
            if not getattr(dataset, "skip_bad", False):
                raise
            summary.bad.append(f"{pair_id}: {exc}")
            continue
        meta = pair_meta(plan, pair)
        if _reusable(plan, pair_id, meta, overwrite, started) is None:
            summary.skipped.append(pair_id)
            set_status(f"skipped {len(summary.skipped)} done")
            continue
        claim = try_claim(store.method_dir(dataset.name, plan.run), pair_id)
        if isinstance(claim, Held):
            summary.held.append(f"{pair_id}: {claim}")
            continue
        try:
            why = _reusable(plan, pair_id, meta, overwrite, started)
            if why is None:  # another run finished it between the check and the claim
                summary.skipped.append(pair_id)
                continue
            if why != "not computed" and not overwrite:
                summary.redone.append(f"{pair_id} ({why})")
            _run_pair(plan, prepare_pair(pair, method), meta)
            summary.done.append(pair_id)
        finally:
            claim.release()
    return summary


def plan_run(
    method: Interpolator,
    dataset: PairDataset,
    store: RunStore,
    seed: int,
    prompts: dict[str, str] | None,
    run_name: str | None,
    summary: RunSummary,
) -> RunPlan:
    """The run's settings (weights hashed, memoised in OUT/.cache/digests.json) and the folder they choose."""
    memo = store.root / ".cache" / "digests.json"
    digests.load_memo(memo)
    settings = fingerprint.run_settings(method.name, method.options, seed, dataset.name, dataset.options)
    store.root.mkdir(parents=True, exist_ok=True)
    digests.save_memo(memo)
    record = {
        "kfbench_run": 1,
        "fingerprint": fingerprint.digest(settings),
        "settings": settings,
        "versions": fingerprint.versions(),
        "created": _now(),
    }
    run, note = store.choose_run(dataset.name, method.name, record, run_name)
    summary.run = run
    summary.notes += [note] if note else []
    first = store.run_record(dataset.name, run) or record
    changed = fingerprint.differences(first.get("versions", {}), record["versions"])
    if changed != "nothing":
        summary.notes.append(
            f"run '{run}' was started with other versions ({changed}); its pairs made before "
            "keep theirs and evaluate reports the mix (--overwrite remakes them, --run-name NEW "
            "starts apart)"
        )
    return RunPlan(method, dataset, store, run, record, seed, prompts)


def pair_meta(plan: RunPlan, pair: Pair) -> dict[str, Any]:
    """The settings part of a pair's meta.json: its fingerprint (run and pair) and the hashes of its data as loaded."""
    num_frames = pair_num_frames(pair)
    prompt, prompt_source = pair_prompt(pair, plan.prompts) if plan.method.takes_prompt else (None, "")
    settings = fingerprint.pair_settings(plan.digest, pair.first, pair.last, num_frames, plan.method.frame_size, prompt)
    data = {"keyframes_sha256": settings["keyframes_sha256"]}
    if pair.ground_truth is not None:
        data["ground_truth_sha256"] = digests.arrays_sha256(pair.ground_truth)
    return {
        "num_frames": num_frames,
        "prompt": prompt,
        "prompt_source": prompt_source,
        "data": data,
        "fingerprint": {
            "run": plan.digest,
            "pair": fingerprint.digest(settings),
            "settings": plan.record["settings"],
            "pair_settings": settings,
        },
    }


def _reusable(plan: RunPlan, pair_id: str, meta: dict[str, Any], overwrite: bool, started: float) -> str | None:
    """None when the stored pair can be kept, else why not ('not computed', damaged, other settings, --overwrite)."""
    store, dataset = plan.store, plan.dataset.name
    problem = store.pair_problem(dataset, plan.run, pair_id)
    if problem is not None:
        return problem
    stored = store.load_meta(dataset, plan.run, pair_id).get("fingerprint") or {}
    if stored.get("pair") != meta["fingerprint"]["pair"]:
        old = stored.get("pair_settings")
        return "made with other settings: " + (
            fingerprint.differences(old, meta["fingerprint"]["pair_settings"])
            if isinstance(old, dict)
            else "none recorded"
        )
    if overwrite and not store.completed_since(dataset, plan.run, pair_id, started):
        return "--overwrite"
    return None


def _run_pair(plan: RunPlan, pair: Pair, settings: dict[str, Any]) -> None:
    """Generate one prepared pair and save it with its meta."""
    method, num_frames, prompt = plan.method, settings["num_frames"], settings["prompt"]
    _reset_peak_memory()
    start = time.perf_counter()
    frames = method.interpolate(pair.first, pair.last, num_frames=num_frames, seed=plan.seed, prompt=prompt)
    wall = time.perf_counter() - start
    meta = {
        "dataset": plan.dataset.name,
        "dataset_options": plan.dataset.options,
        "method": method.name,
        "run": plan.run,
        "options": method.options,
        "pair": {"id": pair.id, **pair.meta},
        "seed": plan.seed,
        "num_frames": num_frames,
        "frame_times": method.output_times(num_frames),
        "size": {"height": int(frames.shape[1]), "width": int(frames.shape[2])},
        "stats": method.stats,
        "wall_time_s": round(wall, 4),
        "peak_memory": _peak_memory(),
        "device": method.device_name,
        "environment": environment(),
        "created": _now(),
        "data": settings["data"],
        "fingerprint": settings["fingerprint"],
    }
    if method.takes_prompt:
        meta["prompt"], meta["prompt_source"] = method.stats.get("prompt", prompt), settings["prompt_source"]
    fps = output_fps(method.options, pair.meta)
    plan.store.save(plan.dataset.name, plan.run, pair.id, frames, meta, fps=fps)


def output_fps(options: dict[str, Any], pair_meta: dict[str, Any]) -> float:
    """The frame rate of a run's preview: the method's ``fps`` option, else the pair's, else 7."""
    return float(options.get("fps") or pair_meta.get("fps") or 7)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
