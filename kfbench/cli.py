"""The `kfbench` command line.

`kfbench run` resolves a method and a dataset from the registries (presets + options given as
extra flags), selects pairs, and hands them to :func:`kfbench.run.runner.run_benchmark`, which writes
the run store. Method and dataset options are their keyword names in kebab case
(`--num-inference-steps 25`); each goes to whichever of the two accepts it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from kfbench.utils import progress
from kfbench.run.distributed import (
    default_device,
    launch_info,
    process_group,
    total_over_ranks,
)
from kfbench.errors import KfbenchError, one_line
from kfbench.registry import (
    coerce_option,
    create_dataset,
    create_method,
    dataset_presets,
    lookup,
    method_presets,
    option_names,
)
from kfbench.run.prompts import read_prompts
from kfbench.run.runner import parse_shard, run_benchmark, select_pairs
from kfbench.store.runstore import RunStore
from kfbench.utils.userfiles import output_file, output_folder

DEFAULT_TRAIN_MODEL = "stabilityai/stable-video-diffusion-img2vid"

app = typer.Typer(
    help="kfbench: keyframe interpolation benchmark. Run methods on keyframe pairs, score them, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}
DEFAULT_OUT = Path("runs")


def parse_extra_flags(args: list[str]) -> dict[str, str]:
    """['--num-steps', '5', '--fusion=weighted', '--cpu-offload'] -> {'num_steps': '5', ...}."""
    flags: dict[str, str] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or len(token) < 3:
            raise KfbenchError(f"unexpected argument '{token}'; options are written --name value")
        name, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            else:
                value = "true"
        flags[name.replace("-", "_")] = value
        i += 1
    return flags


def parse_pairs(text: str | None) -> list[str] | None:
    """'a,b' -> ['a', 'b']; None when --pairs was not given."""
    if text is None:
        return None
    ids = [p.strip() for p in text.split(",") if p.strip()]
    if not ids:
        raise KfbenchError(f"--pairs '{text}' names no pair; pass comma-separated pair ids")
    return ids


def split_options(method: str, dataset: str, flags: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route each extra flag to the method or the dataset, typed by the factory's annotations.

    A name both accept (e.g. height) goes to the method; ``--dataset.NAME`` reaches the dataset's.
    """
    method_names, dataset_names = option_names("method", method), option_names("dataset", dataset)
    method_opts: dict[str, Any] = {}
    dataset_opts: dict[str, Any] = {}
    for name, text in flags.items():
        if name.startswith("dataset.") and name[8:] in dataset_names:
            dataset_opts[name[8:]] = coerce_option("dataset", dataset, name[8:], text)
        elif name in method_names:
            method_opts[name] = coerce_option("method", method, name, text)
        elif name in dataset_names:
            dataset_opts[name] = coerce_option("dataset", dataset, name, text)
        else:
            valid = sorted(method_names | dataset_names)
            raise KfbenchError(
                f"unknown option --{name.replace('_', '-')} for method '{method}' and dataset '{dataset}'; "
                f"valid: {', '.join('--' + v.replace('_', '-') for v in valid)}"
            )
    return method_opts, dataset_opts


@app.command("list", context_settings=EXTRA_ARGS)
def list_command(
    ctx: typer.Context,
    what: str = typer.Argument(..., help="methods, datasets, metrics or pairs"),
    dataset: str | None = typer.Argument(None, help="With pairs: davis (the one dataset whose pairs are known without its data)."),
) -> None:
    """List registered methods, datasets or metrics (with their weights files) with a one-line description, or the pairs of davis.

    `list pairs davis` prints the pair ids a run on a complete download evaluates (options
    --splits, --num-frames, --frame-stride, --num-pairs as for the dataset), then a summary with
    the list's sha256 on stderr.

    Examples: kfbench list methods; kfbench list pairs davis --splits val --num-pairs 20
    """
    if what == "pairs":
        list_pairs(dataset, parse_extra_flags(ctx.args))
        return
    if what not in ("methods", "datasets", "metrics") or dataset or ctx.args:
        raise KfbenchError(f"kfbench list takes 'methods', 'datasets', 'metrics' or 'pairs davis', not '{' '.join([what, *([dataset] if dataset else []), *ctx.args])}'")
    if what == "metrics":
        from kfbench.metrics.registry import listing

        typer.echo("\n".join(listing()))
        return
    presets = method_presets() if what == "methods" else dataset_presets()
    width = max(len(n) for n in presets)
    for name in sorted(presets):
        typer.echo(f"{name:<{width}}  {presets[name].description}")


def list_pairs(dataset: str | None, flags: dict[str, str]) -> None:
    from kfbench.datasets.davislist import pair_listing

    if dataset != "davis":
        raise KfbenchError(f"kfbench list pairs needs a dataset whose pairs are known without its data: davis, not '{dataset or ''}'")
    ids, summary = pair_listing({k: coerce_option("dataset", "davis", k, v) for k, v in flags.items()})
    typer.echo("\n".join(ids))
    typer.echo(summary, err=True)


@app.command(context_settings=EXTRA_ARGS)
def run(
    ctx: typer.Context,
    method: str = typer.Option(..., "--method", "-m", help="Method name (kfbench list methods)."),
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset name (kfbench list datasets)."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Run store folder."),
    root: str | None = typer.Option(None, "--root", help="Dataset folder (default: its preset or KFBENCH_DATA)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N pairs."),
    pairs: str | None = typer.Option(None, "--pairs", help="Comma-separated pair ids."),
    shard: str | None = typer.Option(None, "--shard", help="I/N: this job's share of the pairs (i mod N)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random draw."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Recompute pairs that are already complete."),
    prompts: Path | None = typer.Option(None, "--prompts", help="CSV of pair id, prompt: per-pair prompts for text-conditioned methods."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Run a method on a dataset's keyframe pairs and save frames, an mp4 preview and meta.json.

    Method and dataset options follow as --name value (e.g. --num-inference-steps 25).
    Checkpoints are read as data; `--method film --allow-torchscript-code` instead torch.jit.loads a
    TorchScript checkpoint, which RUNS the code inside the file.

    Examples:

      kfbench run --method flow --dataset synthetic --limit 3 --out runs

      kfbench run --method ours --dataset davis --root ~/data/DAVIS --shard 0/4
    """
    progress.enabled = not quiet
    lookup(method_presets(), method, "method")
    lookup(dataset_presets(), dataset, "dataset")
    method_opts, dataset_opts = split_options(method, dataset, parse_extra_flags(ctx.args))
    data = create_dataset(dataset, root=root, **dataset_opts)
    typer.echo(data.summary())
    if not data.pair_ids():
        raise KfbenchError(f"dataset '{dataset}' has no pairs to run ({data.summary()})")
    launch = launch_info()
    chosen_shard = parse_shard(shard) if shard is not None else (launch.shard if launch else None)
    pair_ids = select_pairs(data.pair_ids(), pairs=parse_pairs(pairs), limit=limit, shard=chosen_shard)
    output_folder(out, "--out")
    if "device" in option_names("method", method) and "device" not in method_opts and default_device(launch):
        method_opts["device"] = default_device(launch)
    interpolator = create_method(method, **method_opts)
    if prompts is not None and not interpolator.takes_prompt:
        raise KfbenchError(f"method '{method}' takes no text prompt; drop --prompts")
    prompt_map = read_prompts(prompts, data.pair_ids()) if prompts is not None else None
    with process_group(launch):
        summary = run_benchmark(
            interpolator, data, RunStore(out), pair_ids, seed=seed, overwrite=overwrite, prompts=prompt_map
        )
        done, skipped, held = total_over_ranks(len(summary.done), len(summary.skipped), len(summary.held))
    if launch is None or launch.rank == 0:
        ranks = f" over {launch.world_size} ranks" if launch else ""
        elsewhere = f", {held} being computed by another run" if held else ""
        typer.echo(
            f"{method} on {dataset}: {done} pair(s) written, {skipped} already complete{elsewhere}{ranks} "
            f"-> {out / dataset / method}"
        )
    for line in summary.held:
        typer.echo(f"  not computed here: {line}")
    unreadable = list(getattr(data, "bad", [])) + summary.bad
    if unreadable:
        typer.echo(f"skipped (--skip-bad), unreadable: {len(unreadable)}")
        for line in unreadable:
            typer.echo(f"  {line}")


@app.command(context_settings=EXTRA_ARGS)
def prepare(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="davis, pexels or folder."),
    root: str | None = typer.Option(None, "--root", help="Data folder (default: $KFBENCH_DATA/NAME or ~/.cache/kfbench/NAME)."),
    manifest: str | None = typer.Option(
        None, "--manifest", help="Existing manifest: fetch and check against it. New path: write the manifest there."
    ),
    offline: bool = typer.Option(False, "--offline", help="Download nothing (also KFBENCH_OFFLINE=1); list what is missing."),
) -> None:
    """Download and verify a dataset's files, then write its manifest (or check the data against one).

    Dataset options follow as --name value (e.g. --resolution 480p --num-frames 25).

    Examples:

      kfbench prepare davis --root ~/data/davis

      kfbench prepare pexels --root ~/data/pexels --manifest pexels.json
    """
    from kfbench.datasets.prepare import MissingFiles
    from kfbench.datasets.prepare import prepare as prepare_dataset

    lookup(dataset_presets(), name, "dataset")
    options = {k: coerce_option("dataset", name, k, v) for k, v in parse_extra_flags(ctx.args).items()}
    if manifest and not Path(manifest).expanduser().is_file():
        output_file(Path(manifest).expanduser(), "--manifest")
    try:
        lines = prepare_dataset(name, root=root, manifest=manifest, offline=offline, options=options)
    except MissingFiles as exc:
        typer.echo("\n".join(exc.listing()), err=True)
        raise
    typer.echo("\n".join(lines))


@app.command()
def evaluate(
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Run store folder."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Only these datasets (comma-separated)."),
    methods: str | None = typer.Option(None, "--methods", "-m", help="Only these methods (comma-separated)."),
    metrics: str | None = typer.Option(None, "--metrics", help="Metrics to compute, comma-separated (default: all; kfbench list metrics)."),
    protocol: str = typer.Option("kfbench", "--protocol", help="Frames, window and conventions: kfbench, paper or stylegan-v."),
    include_keyframes: bool | None = typer.Option(
        None, "--include-keyframes/--exclude-keyframes", help="Compare the two keyframes too (default: the protocol's)."
    ),
    inception_weights: str | None = typer.Option(None, "--inception-weights", help="FID/KID InceptionV3 file (torch-fidelity .pth)."),
    inception_resize: str = typer.Option("tensorflow", "--inception-resize", help="tensorflow (original FID) or antialias."),
    i3d_weights: str | None = typer.Option(None, "--i3d-weights", help="FVD I3D file: i3d_pretrained_400.pt or i3d_torchscript.pt."),
    lpips_weights: str | None = typer.Option(None, "--lpips-weights", help="LPIPS backbone: torchvision alexnet .pth."),
    videomae_weights: str | None = typer.Option(None, "--videomae-weights", help="fvd_videomae: vit_g_hybrid_pt_1200e_ssv2_ft.pth."),
    vjepa_weights: str | None = typer.Option(None, "--vjepa-weights", help="jedi: V-JEPA encoder vith16.pth.tar."),
    vjepa_probe_weights: str | None = typer.Option(None, "--vjepa-probe-weights", help="jedi: V-JEPA probe ssv2-probe.pth.tar."),
    allow_torchscript_code: bool = typer.Option(
        False, "--allow-torchscript-code",
        help="torch.jit.load a TorchScript --i3d-weights file, which RUNS the code inside it (default: read its tensors as data).",
    ),
    fid_covariance: str | None = typer.Option(None, "--fid-covariance", help="FID covariance: n-1 (torchmetrics) or n."),
    fvd_covariance: str | None = typer.Option(None, "--fvd-covariance", help="FVD covariance: n (cd-fvd, StyleGAN-V) or n-1."),
    fvd_window: int | None = typer.Option(None, "--fvd-window", min=1, help="Frames per FVD clip (default: the protocol's)."),
    fvd_window_start: str | None = typer.Option(None, "--fvd-window-start", help="FVD clips: centre or first compared frames."),
    i3d_bn_eps: str = typer.Option("port", "--i3d-bn-eps", help="I3D BatchNorm epsilon: port (1e-5, cd-fvd) or tensorflow (1e-3)."),
    bootstrap: int = typer.Option(200, "--bootstrap", min=0, help="Bootstrap resamples for intervals (0: none)."),
    confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999, help="Interval coverage."),
    kid_subset_size: int = typer.Option(1000, "--kid-subset-size", min=2, help="KID subset size (capped at n)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap and KID subsets."),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda when available)."),
    shard: str | None = typer.Option(
        None, "--shard", help="I/N: only cache this share's features (FID/KID/FVD and the other cached metrics); a final run without --shard scores."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Score completed runs against ground truth with bootstrap intervals: every metric of `kfbench list metrics`.

    Writes OUT/results.csv and .parquet (and per_frame.*). Missing weights make a metric missing, with the reason.
    With --shard I/N (or under torchrun/accelerate) it only extracts and caches the features of its
    share of the pairs; an unsharded `kfbench evaluate` afterwards merges them from the cache and scores.

    Example: kfbench evaluate --out runs --inception-weights ~/weights/weights-inception-2015-12-05-6726825d.pth
    """
    from kfbench.utils.devices import resolve_device
    from kfbench.metrics.evaluate import (
        EvalConfig,
        evaluate_with_warnings,
        extract_features,
        summary_lines,
    )

    progress.enabled = not quiet
    if inception_resize not in ("tensorflow", "antialias") or i3d_bn_eps not in ("port", "tensorflow"):
        raise KfbenchError("--inception-resize takes tensorflow or antialias; --i3d-bn-eps takes port or tensorflow")
    if metrics is not None and not metrics.replace(",", "").strip():
        raise KfbenchError(f"--metrics '{metrics}' names no metric; pass e.g. --metrics psnr,ssim")
    config = EvalConfig(
        protocol=protocol, include_keyframes=include_keyframes, fid_covariance=fid_covariance, fvd_covariance=fvd_covariance,
        fvd_window=fvd_window, fvd_window_start=fvd_window_start, i3d_bn_eps=i3d_bn_eps,
        inception_weights=inception_weights, inception_resize=inception_resize, i3d_weights=i3d_weights,
        lpips_weights=lpips_weights, videomae_weights=videomae_weights, vjepa_weights=vjepa_weights,
        vjepa_probe_weights=vjepa_probe_weights, allow_torchscript_code=allow_torchscript_code,
        bootstrap=bootstrap, confidence=confidence, kid_subset_size=kid_subset_size,
        seed=seed, device=resolve_device(device),
        **({"metrics": tuple(m.strip() for m in metrics.split(",") if m.strip())} if metrics else {}),
    )
    config.conventions()  # an unknown protocol or convention: one line, exit 2
    selection = {"datasets": dataset.split(",") if dataset else None, "methods": methods.split(",") if methods else None}
    launch = launch_info()
    chosen_shard = parse_shard(shard) if shard is not None else (launch.shard if launch else None)
    if chosen_shard is not None:
        with process_group(launch):
            (pairs,) = total_over_ranks(extract_features(out, config, chosen_shard, **selection))
        if launch is None or launch.rank == 0:
            typer.echo(f"cached FID/KID/FVD features of {pairs} pair(s) in {out / '.cache'} (and every other cached "
                       "metric's); run `kfbench evaluate` without --shard to score")
        return
    results, warnings = evaluate_with_warnings(out, config, **selection)
    for line in warnings:
        typer.echo(line, err=True)
    for line in summary_lines(results):
        typer.echo(line)
    typer.echo(f"results: {out / 'results.csv'} and {out / 'results.parquet'}")


@app.command()
def report(
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Run store folder (evaluated)."),
    to: Path | None = typer.Option(None, "--to", help="Report folder (default: reports/<OUT name>)."),
    pairs: str | None = typer.Option(None, "--pairs", help="Pairs for the qualitative strip (default: the first)."),
    videos: str = typer.Option("auto", "--videos", help="auto, embed (in the HTML) or link (files beside it)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Write Table 1 (Markdown, CSV, LaTeX), plots (PNG, SVG) and a self-contained HTML page.

    Example: kfbench report --out runs --to reports/runs
    """
    from kfbench.report import write_report

    progress.enabled = not quiet
    if videos not in ("auto", "embed", "link"):
        raise KfbenchError(f"--videos takes auto, embed or link, not '{videos}'")
    folder = output_folder(to or Path("reports") / out.resolve().name, "--to")
    result = write_report(out, folder, pairs=parse_pairs(pairs), videos=videos)
    typer.echo(f"report: {result.html}")


@app.command()
def check(
    baseline: Path = typer.Option(..., "--baseline", help="Baseline JSON (e.g. tests/data/check_baseline.json)."),
    tolerance: str | None = typer.Option(None, "--tolerance", help="Allowed relative worsening: 0.02 or psnr=0.01,ssim=0.02."),
    update: bool = typer.Option(False, "--update", help="Write the baseline from this machine's values."),
) -> None:
    """Evaluate a small subset (synthetic, classical methods) and fail naming each metric that regressed.

    Example: kfbench check --baseline tests/data/check_baseline.json
    """
    from kfbench.report.check import run_check

    progress.enabled = False
    if update:
        output_file(baseline, "--baseline")
    outcome = run_check(baseline, tolerance, update)
    for line in outcome.lines:
        typer.echo(line)
    for line in outcome.regressions:
        typer.echo(f"REGRESSED {line}", err=True)
    if outcome.regressions:
        sys.exit(1)  # typer.Exit would be swallowed by main()'s standalone_mode=False


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Where the demo's runs go."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Run, evaluate and report the weight-free baselines on the embedded synthetic dataset (no downloads).

    Example: kfbench demo
    """
    from kfbench.utils.devices import resolve_device
    from kfbench.metrics.evaluate import (
        EvalConfig,
        evaluate_with_warnings,
        summary_lines,
    )
    from kfbench.report import write_report

    progress.enabled = not quiet
    data = create_dataset("synthetic")
    store = RunStore(output_folder(out, "--out"))
    for name in ("linear", "flow"):
        summary = run_benchmark(create_method(name), data, store, data.pair_ids())
        typer.echo(f"{name}: {len(summary.done)} written, {len(summary.skipped)} already complete")
    typer.echo(f"demo runs are in {out / data.name}")
    results, warnings = evaluate_with_warnings(out, EvalConfig(device=resolve_device()), datasets=[data.name])
    for line in warnings + summary_lines(results):
        typer.echo(line)
    typer.echo(f"report: {write_report(out, out.with_name(out.name + '-report')).html}")


@app.command("convert-checkpoint", context_settings=EXTRA_ARGS)
def convert_checkpoint_command(
    ctx: typer.Context,
    method: str = typer.Option(..., "--method", "-m", help="Method whose released checkpoint SRC is."),
    src: str = typer.Argument(..., help="Released checkpoint (file, folder or hub id)."),
    dst: Path = typer.Argument(..., help="Output safetensors file."),
) -> None:
    """Convert a released checkpoint into the compact safetensors form kfbench loads.

    Example: kfbench convert-checkpoint --method ours ./released/unet ours_backward.safetensors
    """
    from kfbench.methods.convert import convert_checkpoint

    typer.echo(f"wrote {convert_checkpoint(method, src, dst, parse_extra_flags(ctx.args))}")


@app.command(context_settings=EXTRA_ARGS)
def bench(
    ctx: typer.Context,
    method: str | None = typer.Option(None, "--method", "-m", help="An SVD-family method (kfbench list methods); with --suite/--random-weights: as --methods."),
    suite: str | None = typer.Option(None, "--suite", help="paper or tiny: every method on random weights, one video each."),
    random_weights: bool = typer.Option(False, "--random-weights", help="Random full-size models (the paper suite unless --suite)."),
    methods: str | None = typer.Option(None, "--methods", help="Comma-separated methods of the suite."),
    levers: bool = typer.Option(False, "--levers", help="Suite: also sweep the SVD family's GPU levers on ours."),
    compile_unet: bool = typer.Option(False, "--compile-unet", help="Suite: torch.compile the SVD family's UNet."),
    budget_s: float | None = typer.Option(None, "--budget-s", help="Suite: skip the methods not started within this many seconds."),
    out: Path | None = typer.Option(None, "--out", help="Suite: folder for bench.json and bench.md."),
    num_frames: int = typer.Option(25, "--num-frames", help="Frames of the video."),
    seed: int = typer.Option(0, "--seed"),
    compare_sequential: bool = typer.Option(False, "--compare-sequential", help="Also run the two-call path; report speedup and output difference."),
    flops_only: bool = typer.Option(False, "--flops-only", help="Only count FLOPs (no weights are loaded)."),
    repeats: int = typer.Option(1, "--repeats", help="Timed videos per path (the fastest is reported)."),
    warmup: int = typer.Option(1, "--warmup", help="Untimed videos first."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the report to this JSON file."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Measure one video: UNet calls, FLOPs, wall time, TFLOP/s, fraction of peak, peak memory.

    Method options follow as for run (e.g. --model DIR --num-inference-steps 3).

    Examples:

      kfbench bench --method ours --checkpoint ours.safetensors --dtype bfloat16 --compare-sequential --json ours.json

      kfbench bench --method ours --checkpoint unused --flops-only

      kfbench bench --suite paper --levers --out bench-h100      (random full-size weights, GPU)

      kfbench bench --random-weights --flops-only

      kfbench bench --random-weights --flops-only -m wan-flf2v      (14 B transformer FLOPs and parameters, no weights)
    """
    from kfbench.bench.measure import format_report, method_options, run_bench, write_json

    progress.enabled = not quiet
    if suite or random_weights:
        from kfbench.bench.suite import run_from_cli

        typer.echo(run_from_cli(suite or "paper", methods or method, parse_extra_flags(ctx.args), flops_only=flops_only, levers=levers,
                                compile=compile_unet, budget_s=budget_s, out=out, json_path=json_path))  # fmt: skip
        return
    if method is None:
        raise KfbenchError("kfbench bench needs --method NAME, or --suite paper|tiny / --random-weights")
    lookup(method_presets(), method, "method")
    if json_path:
        output_file(json_path, "--json")
    report = run_bench(
        method, method_options(method, parse_extra_flags(ctx.args)), num_frames=num_frames, seed=seed,
        compare_sequential=compare_sequential, flops_only=flops_only, repeats=repeats, warmup=warmup,
    )
    typer.echo(format_report(report))
    if json_path:
        write_json(report, json_path)
        typer.echo(f"wrote {json_path}")
@app.command()
def train(
    variant: str = typer.Option(..., "--variant", help="ours (W_v, W_o with rotated maps) or wo-ra (W_q, W_k, W_v, W_o, no maps)."),
    videos: Path = typer.Option(..., "--videos", help="Folder of mp4 files or frame folders."),
    out: Path = typer.Option(..., "--out", help="Checkpoint folder (CKPT_DIR)."),
    model: str = typer.Option(DEFAULT_TRAIN_MODEL, "--model", help="SVD img2vid diffusers pipeline (folder or hub id) to fine-tune."),
    max_steps: int = typer.Option(15000, "--max-steps", help="Optimiser steps."),
    height: int = typer.Option(576, "--height"),
    width: int = typer.Option(1024, "--width"),
    num_frames: int = typer.Option(14, "--num-frames", help="Frames per training clip."),
    stride: int = typer.Option(2, "--stride", help="Source frames between clip frames."),
    batch_size: int = typer.Option(1, "--batch-size", help="Clips per process and micro-step."),
    gradient_accumulation: int = typer.Option(1, "--gradient-accumulation", help="Micro-steps per optimiser step."),
    learning_rate: float = typer.Option(1e-4, "--learning-rate"),
    mixed_precision: str = typer.Option("auto", "--mixed-precision", help="auto (fp16 on GPU, none on CPU), no, fp16, bf16."),
    gradient_checkpointing: bool = typer.Option(True, "--gradient-checkpointing/--no-gradient-checkpointing"),
    checkpoint_every: int = typer.Option(500, "--checkpoint-every", help="Write a checkpoint every K steps (and at the end)."),
    validate_every: int = typer.Option(500, "--validate-every", help="Sample the held-out pairs every K steps."),
    holdout: int = typer.Option(0, "--holdout", help="Videos (last in name order) kept out of training for validation samples."),
    validation_steps: int = typer.Option(25, "--validation-steps", help="Sampling steps of the validation samples."),
    seed: int = typer.Option(0, "--seed"),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda or cuda:N (default: accelerate's choice)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its latest checkpoint."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Fine-tune SVD's backward model (paper Algorithm 1) and write checkpoints `ours` / `ours-wo-ra` load.

    Examples:

      kfbench train --variant ours --videos ~/data/train_clips --out ckpt/ours

      accelerate launch -m kfbench train --variant wo-ra --videos ~/data/train_clips --out ckpt/wo-ra
    """
    if variant not in ("ours", "wo-ra"):
        raise KfbenchError(f"--variant must be 'ours' or 'wo-ra', not '{variant}'")
    if mixed_precision not in ("auto", "no", "fp16", "bf16"):
        raise KfbenchError(f"--mixed-precision must be auto, no, fp16 or bf16, not '{mixed_precision}'")
    options = {k: v for k, v in locals().items() if k not in ("resume", "quiet")}
    from kfbench.training.config import TrainConfig
    from kfbench.training.trainer import train as run_training

    progress.enabled = not quiet
    config = TrainConfig(**{**options, "videos": str(videos), "out": str(out)})
    config.check()
    output_folder(out, "--out")
    result = run_training(config, resume=resume)
    if launch_info() is None or launch_info().rank == 0:
        clips = result.clips
        loss = "no step left to run" if result.last_loss is None else f"last loss {result.last_loss:.5f}"
        typer.echo(
            f"trained {variant} to step {result.steps} on {len(clips.videos)} video(s) ({len(clips.too_short)} shorter than "
            f"the {clips.span}-frame clip span and {len(clips.unreadable)} unreadable skipped); {loss}; checkpoint {result.checkpoint}"
        )


@app.command("make-tiny-models")
def make_tiny_models_command(folder: Path = typer.Argument(..., help="Output folder.")) -> None:
    """Write tiny randomly initialised models in the real formats (for tests and offline trials).

    Example: kfbench make-tiny-models /tmp/tiny && kfbench run --method svd --dataset synthetic --model /tmp/tiny/svd
    """
    from kfbench.methods.tiny import make_tiny_models

    for name, path in make_tiny_models(output_folder(folder, "FOLDER")).items():
        typer.echo(f"{name}: {path}")


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit status 2."""
    try:
        code = app(standalone_mode=False)  # returns the code of a typer.Exit
        if isinstance(code, int) and code:
            sys.exit(code)
    except KfbenchError as exc:
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors of typer's bundled click: its short usage message
        exc.show()
        sys.exit(2)
    except OSError as exc:  # a path the user named is missing, of the wrong kind or not writable
        if exc.filename is None:
            raise
        typer.echo(f"error: {one_line(str(exc.filename))}: {exc.strerror}; check that this path exists, is a file or folder as needed, "
                   "and can be written", err=True)
        sys.exit(2)
