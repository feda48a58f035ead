"""`kfbench evaluate`: score the completed runs of a run store.

Its weights options (``--inception-weights``, ``--i3d-weights``, ...) are not written here: there is one
per weights file a registered metric declares (``Metric.weights``), added to the command's signature.
Metric names and the protocol are checked before the evaluation stack (torch, pandas) is imported.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from kfbench.cli.app import DEFAULT_OUT, app
from kfbench.errors import KfbenchError
from kfbench.metrics.config import EvalConfig
from kfbench.metrics.registry import check_names, weights_files
from kfbench.run.distributed import launch_info, process_group, total_over_ranks
from kfbench.run.runner import parse_shard
from kfbench.utils import progress


def evaluate(
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Run store folder."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Only these datasets (comma-separated)."),
    methods: str | None = typer.Option(None, "--methods", "-m", help="Only these methods (comma-separated)."),
    metrics: str | None = typer.Option(
        None, "--metrics", help="Metrics to compute, comma-separated (default: all; kfbench list metrics)."
    ),
    protocol: str = typer.Option(
        "kfbench", "--protocol", help="Frames, window and conventions: kfbench, paper or stylegan-v."
    ),
    include_keyframes: bool | None = typer.Option(
        None, "--include-keyframes/--exclude-keyframes", help="Compare the two keyframes too (default: the protocol's)."
    ),
    inception_resize: str = typer.Option(
        "tensorflow", "--inception-resize", help="tensorflow (original FID) or antialias."
    ),
    allow_torchscript_code: bool = typer.Option(
        False,
        "--allow-torchscript-code",
        help="torch.jit.load a TorchScript --i3d-weights file, which RUNS the code inside it (default: read its "
        "tensors as data).",
    ),
    fid_covariance: str | None = typer.Option(
        None, "--fid-covariance", help="FID covariance: n-1 (torchmetrics) or n."
    ),
    fvd_covariance: str | None = typer.Option(
        None, "--fvd-covariance", help="FVD covariance: n (cd-fvd, StyleGAN-V) or n-1."
    ),
    fvd_window: int | None = typer.Option(
        None, "--fvd-window", min=1, help="Frames per FVD clip (default: the protocol's)."
    ),
    fvd_window_start: str | None = typer.Option(
        None, "--fvd-window-start", help="FVD clips: centre or first compared frames."
    ),
    i3d_bn_eps: str = typer.Option(
        "port", "--i3d-bn-eps", help="I3D BatchNorm epsilon: port (1e-5, cd-fvd) or tensorflow (1e-3)."
    ),
    bootstrap: int = typer.Option(200, "--bootstrap", min=0, help="Bootstrap resamples for intervals (0: none)."),
    confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999, help="Interval coverage."),
    kid_subset_size: int = typer.Option(1000, "--kid-subset-size", min=2, help="KID subset size (capped at n)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap and KID subsets."),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda when available)."),
    shard: str | None = typer.Option(
        None,
        "--shard",
        help="I/N: only cache this share's features (FID/KID/FVD and the other cached metrics); a final run without "
        "--shard scores.",
    ),
    root: str | None = typer.Option(
        None,
        "--root",
        help="Where the dataset lies now, when it moved since `kfbench run` (default: the recorded folder, "
        "else KFBENCH_DATA); checked to be the same data.",
    ),
    reference_run: str | None = typer.Option(
        None,
        "--reference-run",
        help="DATASET/RUN, a run folder of this store (e.g. pairs/svd): its frames are the real set of FID, KID, "
        "FVD, FVD-VideoMAE and JEDi instead of the ground truth (for datasets without one); the other metrics "
        "are unchanged.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    **weights: str | None,
) -> None:
    """Score completed runs against ground truth with bootstrap intervals: every metric of `kfbench list metrics`.

    Writes OUT/results.csv and .parquet (and per_frame.*). Missing weights make a metric missing, with the reason.
    With --shard I/N (or under torchrun/accelerate) it only extracts and caches the features of its
    share of the pairs; an unsharded `kfbench evaluate` afterwards merges them from the cache and scores.

    Damaged pairs (meta.json or frames broken) are left out and named, and the exit status is 1.
    Pairs without ground truth (keyframes only) get the metrics that need none; with --reference-run DATASET/RUN
    the distribution metrics compare each other run of DATASET with that run's frames of the same pairs.

    Example: kfbench evaluate --out runs --inception-weights ~/weights/weights-inception-2015-12-05-6726825d.pth
    """
    progress.enabled = not quiet
    if inception_resize not in ("tensorflow", "antialias") or i3d_bn_eps not in ("port", "tensorflow"):
        raise KfbenchError("--inception-resize takes tensorflow or antialias; --i3d-bn-eps takes port or tensorflow")
    if metrics is not None and not metrics.replace(",", "").strip():
        raise KfbenchError(f"--metrics '{metrics}' names no metric; pass e.g. --metrics psnr,ssim")
    chosen = {"metrics": tuple(m.strip() for m in metrics.split(",") if m.strip())} if metrics else {}
    check_names(chosen.get("metrics", ()))
    config = EvalConfig(
        protocol=protocol,
        include_keyframes=include_keyframes,
        fid_covariance=fid_covariance,
        fvd_covariance=fvd_covariance,
        fvd_window=fvd_window,
        fvd_window_start=fvd_window_start,
        i3d_bn_eps=i3d_bn_eps,
        weights={key: path for key, path in weights.items() if path},
        inception_resize=inception_resize,
        allow_torchscript_code=allow_torchscript_code,
        bootstrap=bootstrap,
        confidence=confidence,
        kid_subset_size=kid_subset_size,
        seed=seed,
        **chosen,
    )
    config.conventions()  # an unknown protocol or convention: one line, exit 2, before torch is imported
    from kfbench.metrics.evaluate import damaged_lines, evaluate_with_warnings, extract_features, summary_lines
    from kfbench.utils.devices import resolve_device

    config.device = resolve_device(device)
    selection = {
        "datasets": dataset.split(",") if dataset else None,
        "methods": methods.split(",") if methods else None,
        "root": root,
        "reference": reference_run,
    }
    launch = launch_info()
    chosen_shard = parse_shard(shard) if shard is not None else (launch.shard if launch else None)
    if chosen_shard is not None:
        with process_group(launch):
            (pairs,) = total_over_ranks(extract_features(out, config, chosen_shard, **selection))
        if launch is None or launch.rank == 0:
            typer.echo(
                f"cached FID/KID/FVD features of {pairs} pair(s) in {out / '.cache'} (and every other cached "
                "metric's); run `kfbench evaluate` without --shard to score"
            )
        return
    results, warnings = evaluate_with_warnings(out, config, **selection)
    for line in warnings:
        typer.echo(line, err=True)
    for line in summary_lines(results):
        typer.echo(line)
    typer.echo(f"results: {out / 'results.csv'} and {out / 'results.parquet'}")
    damaged = damaged_lines(results)
    for line in damaged:
        typer.echo(f"damaged: {line}", err=True)
    if damaged:
        raise typer.Exit(1)


def weights_options() -> list[inspect.Parameter]:
    """One ``--<name>-weights PATH`` option per weights file of the registered metrics, from their metadata."""
    return [
        inspect.Parameter(
            w.key,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=str | None,
            default=typer.Option(
                None,
                w.flag,
                help=f"{', '.join(readers)}: {w.what}, {' or '.join(w.names)} (default: the torch hub cache).",
            ),
        )
        for w, readers in weights_files().values()
    ]


_signature = inspect.signature(evaluate)
evaluate.__signature__ = _signature.replace(  # type: ignore[attr-defined]
    parameters=[p for p in _signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    + weights_options()
)
app.command()(evaluate)
