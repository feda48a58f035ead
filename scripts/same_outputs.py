"""Before/after check of a change that must not change outputs: every method's frames and a run store's results.csv.

With each of two checkouts in turn (the same absolute paths both times, so that recorded options match):
`kfbench make-tiny-models`, `kfbench run` of every method at a tiny size on two synthetic pairs, and
`kfbench evaluate` with the weight-free metrics. Then compares the tiny model files (sha256), every
method's PNG frames (largest difference in uint8 levels) and results.csv (byte for byte, then by value
with the columns that hold times left out).

    python scripts/same_outputs.py OLD_CHECKOUT NEW_CHECKOUT WORK_FOLDER [--reuse-old]

e.g. with the old code exported from git: ``git archive 64c104d | tar -x -C /tmp/kf-old``. ``--reuse-old``
keeps WORK_FOLDER/old from an earlier comparison (the old checkout's outputs do not change); ``--compare-only``
compares WORK_FOLDER/old and WORK_FOLDER/new as they are.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

SVD = ["--model", "{m}/svd", "--height", "64", "--width", "96", "--num-inference-steps", "2"]
VIDEO = ["--height", "32", "--width", "32", "--num-inference-steps", "2"]
METHODS = {
    "linear": [],
    "flow": [],
    "film": ["--checkpoint", "{m}/film/film_net_random.safetensors"],
    "svd": SVD,
    "trf": SVD,
    "vibid": SVD,
    "ours-wo-ft": [*SVD, "--recurrence", "1"],
    "ours": [
        *SVD,
        "--recurrence",
        "1",
        "--checkpoint",
        "{m}/ours-delta.safetensors",
        "--checkpoint-base",
        "{m}/svd-img2vid",
    ],
    "ours-wo-ra": [
        *SVD,
        "--recurrence",
        "1",
        "--checkpoint",
        "{m}/ours-wo-ra-delta.safetensors",
        "--checkpoint-base",
        "{m}/svd-img2vid",
    ],
    "dynamicrafter": [
        "--checkpoint",
        "{m}/dynamicrafter",
        "--height",
        "64",
        "--width",
        "64",
        "--num-inference-steps",
        "2",
    ],
    "wan-flf2v": ["--model", "{m}/wan-flf2v", *VIDEO, "--video-frames", "5"],
    "wan22-flf2v": ["--model", "{m}/wan22-flf2v", *VIDEO, "--video-frames", "5"],
    "ltx-video": ["--model", "{m}/ltx-video", *VIDEO, "--video-frames", "9"],
    "ltx-video-distilled": ["--model", "{m}/ltx-video", "--height", "32", "--width", "32", "--video-frames", "9"],
    "framepack": ["--model", "{m}/framepack", *VIDEO, "--video-frames", "9"],
}
DATASET = ["--dataset", "synthetic", "--limit", "2", "--num-frames", "8", "--num-pairs", "2", "--quiet"]
METRICS = "psnr,ssim,keyframe_psnr,warp_error,flicker"
TIME_COLUMNS = ("wall_time_s", "created", "evaluated")


def kfbench(checkout: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "kfbench", *args], check=True, env=env, cwd=checkout, stdout=subprocess.DEVNULL
    )


def produce(checkout: Path, work: Path) -> None:
    """Tiny models, every method's run and the evaluation, under ``work`` (models/ and runs/)."""
    models, runs = work / "models", work / "runs"
    kfbench(checkout, "make-tiny-models", str(models))
    for method, options in METHODS.items():
        kfbench(
            checkout, "run", "--method", method, *DATASET, "--out", str(runs), *(o.format(m=models) for o in options)
        )
    kfbench(checkout, "evaluate", "--out", str(runs), "--metrics", METRICS, "--bootstrap", "0", "--quiet")


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def same_safetensors(a: Path, b: Path) -> bool:
    """Equal tensors and metadata (safetensors may write the metadata in another order from one process to the next)."""
    import torch
    from safetensors import safe_open

    with safe_open(str(a), "pt") as x, safe_open(str(b), "pt") as y:
        if x.metadata() != y.metadata() or set(x.keys()) != set(y.keys()):
            return False
        return all(torch.equal(x.get_tensor(k), y.get_tensor(k)) for k in x.keys())


def compare(old: Path, new: Path) -> bool:
    same = True
    a, b = digests(old / "models"), digests(new / "models")
    differing = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    print(f"tiny model files: {len(a)} vs {len(b)}, differing bytes: {differing or 'none'}")
    for name in differing:
        if name not in a or name not in b:
            print(f"  {name}: only in {'new' if name not in a else 'old'} (a model the other checkout does not write)")
            continue
        equal = name.endswith(".safetensors") and same_safetensors(old / "models" / name, new / "models" / name)
        print(f"  {name}: {'same tensors and metadata (header order differs)' if equal else 'DIFFERENT'}")
        same &= equal
    for method in METHODS:
        frames_a = sorted((old / "runs" / "synthetic" / method).rglob("*.png"))
        frames_b = sorted((new / "runs" / "synthetic" / method).rglob("*.png"))
        if [p.relative_to(old) for p in frames_a] != [p.relative_to(new) for p in frames_b] or not frames_a:
            print(f"{method}: frame files differ ({len(frames_a)} vs {len(frames_b)})")
            same = False
            continue
        levels = max(
            int(np.abs(np.asarray(Image.open(x), np.int16) - np.asarray(Image.open(y), np.int16)).max())
            for x, y in zip(frames_a, frames_b)
        )
        print(f"{method}: {len(frames_a)} frames, largest difference {levels} levels")
        same &= levels == 0
    csv_a, csv_b = (old / "runs" / "results.csv").read_bytes(), (new / "runs" / "results.csv").read_bytes()
    table_a, table_b = (pd.read_csv(p / "runs" / "results.csv") for p in (old, new))
    keep = [c for c in table_a.columns if c not in TIME_COLUMNS]
    by_value = list(table_a.columns) == list(table_b.columns) and table_a[keep].equals(table_b[keep])
    print(
        f"results.csv: {len(table_a)} rows; identical bytes: {csv_a == csv_b}; "
        f"identical without time columns: {by_value}"
    )
    return same and by_value


def main() -> int:
    old_checkout, new_checkout, work = (Path(a).resolve() for a in sys.argv[1:4])
    scratch = work / "scratch"
    if "--compare-only" in sys.argv[4:]:
        return 0 if compare(work / "old", work / "new") else 1
    reuse_old = "--reuse-old" in sys.argv[4:] and (work / "old").is_dir()
    for tag, checkout in (("new", new_checkout), *(() if reuse_old else (("old", old_checkout),))):
        shutil.rmtree(scratch, ignore_errors=True)
        produce(checkout, scratch)
        shutil.rmtree(work / tag, ignore_errors=True)
        scratch.rename(work / tag)
    return 0 if compare(work / "old", work / "new") else 1


if __name__ == "__main__":
    sys.exit(main())
