"""Time `kfbench evaluate` per metric on a synthetic run store: seconds per pair, peak RSS, cores used.

    python scripts/bench_evaluate.py --height 576 --width 1024 --pairs 2 --metrics psnr,ssim,flicker
    python scripts/bench_evaluate.py ... --reference   # also the plain reference packages on the same frames

The store (the synthetic set at the size asked, run by the ``linear`` and ``flow`` methods) is built once
under ``--store`` and reused. Each metric is evaluated in its own process, so that its peak RSS is its own;
``cpu/wall`` is the process's CPU time over its wall time (1.0: one core busy). ``--reference`` times
skimage's SSIM and torchmetrics' PSNR and SSIM on the same frames (one call per pair's frames, the
threads torch has here), and prints kfbench's time over theirs. ``--scaling`` evaluates psnr and ssim at 1
and 2 pairs and at the size and half its sides, to show how cost grows in pairs and pixels.
Timings depend on the machine's load: quote them with it (``uptime``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

WEIGHT_FREE = "psnr,ssim,warp_error,flicker,keyframe_psnr"
METHODS = ("linear", "flow")


def build_store(store: Path, height: int, width: int, pairs: int, frames: int) -> None:
    """The synthetic set at this size, run by every method of METHODS (skipped when already there)."""
    from kfbench import create_dataset, create_method
    from kfbench.run.runner import run_benchmark
    from kfbench.store.runstore import RunStore

    data = create_dataset("synthetic", num_pairs=pairs, num_frames=frames, height=height, width=width)
    for name in METHODS:
        run_benchmark(create_method(name), data, RunStore(store), data.pair_ids())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(store: Path, metric: str) -> dict[str, float]:
    """Evaluate one metric over the whole store in this process; its figures."""
    import torchmetrics.functional.image  # noqa: F401 (imported before the clock starts)

    from kfbench.metrics.evaluate import EvalConfig, evaluate_store

    config = EvalConfig(metrics=(metric,), bootstrap=10)
    before_rss = peak_rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    results, _ = evaluate_store(store, config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": before_rss,
        "values": {r.method: r.value for r in results.itertuples() if r.metric == metric},
    }


def reference(store: Path) -> dict[str, float]:
    """Seconds for the plain reference packages on every pair's compared frames (loaded as evaluate loads them)."""
    import numpy as np
    import torch
    from skimage.metrics import structural_similarity
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    from kfbench.metrics.config import EvalConfig
    from kfbench.metrics.evaluate import RunPairs, load_pairs
    from kfbench.store.runstore import RunStore
    from kfbench.store.sourcedata import SourceData

    runs, config = RunStore(store), EvalConfig()
    start = time.perf_counter()
    grids = [
        p.grid
        for d in runs.datasets()
        for m in runs.methods(d)
        for p, _ in load_pairs(runs, d, m, config, SourceData(None), RunPairs())
    ]
    load = time.perf_counter() - start

    def timed(fn) -> float:
        start = time.perf_counter()
        for g in grids:
            fn(g.generated, g.truth)
        return time.perf_counter() - start

    def as_tensor(frames: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(frames).permute(0, 3, 1, 2).float()

    def tm_ssim(a: np.ndarray, b: np.ndarray) -> None:
        for i in range(len(a)):  # frame by frame: the whole clip at once does not fit at 1080p
            structural_similarity_index_measure(as_tensor(a[i : i + 1]), as_tensor(b[i : i + 1]), data_range=255.0)

    def tm_psnr(a: np.ndarray, b: np.ndarray) -> None:
        peak_signal_noise_ratio(as_tensor(a).double(), as_tensor(b).double(), data_range=255.0, dim=(1, 2, 3))

    def sk_ssim(a: np.ndarray, b: np.ndarray) -> None:
        for x, y in zip(a, b):
            structural_similarity(x, y, channel_axis=2, data_range=255, gaussian_weights=True, sigma=1.5)

    return {
        "pairs": len(grids),
        "load_s": load,
        "torchmetrics_psnr_s": timed(tm_psnr),
        "torchmetrics_ssim_s": timed(tm_ssim),
        "skimage_ssim_s": timed(sk_ssim),
        "peak_rss_mb": peak_rss_mb(),
    }


def child(args: argparse.Namespace, *extra: str) -> dict:
    command = [sys.executable, __file__, "--store", str(args.store), *extra]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "KFBENCH_QUIET": "1"})
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(args: argparse.Namespace) -> dict[str, dict]:
    pairs_run = args.pairs * len(METHODS)
    figures = {}
    print(f"{args.height}x{args.width}, {args.pairs} pair(s) x {len(METHODS)} methods, {args.frames} frames")
    print(f"{'metric':<14}{'s/pair':>9}{'cpu/wall':>10}{'peak RSS MB':>13}  values")
    for metric in args.metrics.split(","):
        f = child(args, "--one", metric)
        figures[metric] = f
        values = ", ".join(f"{k} {v:.6g}" for k, v in f["values"].items())
        print(
            f"{metric:<14}{f['wall_s'] / pairs_run:>9.2f}{f['cpu_s'] / f['wall_s']:>10.2f}"
            f"{f['peak_rss_mb']:>13.0f}  {values}"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=576)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--frames", type=int, default=25)
    parser.add_argument("--metrics", default=WEIGHT_FREE)
    parser.add_argument("--store", type=Path, default=None, help="where the synthetic store is built (reused)")
    parser.add_argument("--reference", action="store_true", help="also time the reference packages")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--reference-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.store, args.one)))
        return
    if args.reference_only:
        print(json.dumps(reference(args.store)))
        return
    args.store = args.store or Path(f"/tmp/kfbench-bench-{args.height}x{args.width}-{args.pairs}x{args.frames}")
    if not (args.store / "synthetic").is_dir():
        build_store(args.store, args.height, args.width, args.pairs, args.frames)
    import torch

    print(f"cores {os.cpu_count()}, torch threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}")
    figures = {"size": [args.height, args.width], "pairs": args.pairs, "metrics": table(args)}
    if args.reference:
        ref = child(args, "--reference-only")
        figures["reference"] = ref
        ours = figures["metrics"]
        print(f"reference packages on the same {ref['pairs']} pair-runs (s; loading them took {ref['load_s']:.2f} s):")
        for name, key, metric in (
            ("torchmetrics PSNR", "torchmetrics_psnr_s", "psnr"),
            ("torchmetrics SSIM", "torchmetrics_ssim_s", "ssim"),
            ("skimage SSIM", "skimage_ssim_s", "ssim"),
        ):
            if metric in ours:
                ratio = ours[metric]["wall_s"] / ref[key]
                print(f"  {name:<18}{ref[key]:>8.2f}  kfbench {ours[metric]['wall_s']:.2f}  ratio {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
