"""`kfbench bench`: one video's calls, FLOPs, time and memory, a whole suite on random weights, or evaluate's cost."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer

from kfbench.cli.app import EXTRA_ARGS, app
from kfbench.cli.options import parse_extra_flags
from kfbench.errors import KfbenchError
from kfbench.registry import lookup, method_presets
from kfbench.utils import progress
from kfbench.utils.userfiles import output_file


@app.command(context_settings=EXTRA_ARGS)
def bench(
    ctx: typer.Context,
    method: str | None = typer.Option(
        None,
        "--method",
        "-m",
        help="A method (kfbench list methods); with --suite/--random-weights: that one method, "
        "taking its options as run does.",
    ),
    suite: str | None = typer.Option(
        None, "--suite", help="paper or tiny: every method on random weights, one video each."
    ),
    random_weights: bool = typer.Option(
        False, "--random-weights", help="Random full-size models (the paper suite unless --suite)."
    ),
    methods: str | None = typer.Option(None, "--methods", help="Comma-separated methods of the suite."),
    levers: bool = typer.Option(False, "--levers", help="Suite: also sweep the SVD family's GPU levers on ours."),
    compile_unet: bool = typer.Option(False, "--compile-unet", help="Suite: torch.compile the SVD family's UNet."),
    budget_s: float | None = typer.Option(
        None, "--budget-s", help="Suite: skip the methods not started within this many seconds."
    ),
    out: Path | None = typer.Option(None, "--out", help="Suite: folder for bench.json and bench.md."),
    num_frames: int | None = typer.Option(
        None, "--num-frames", help="Frames of the video (default 25; a suite: its entry's)."
    ),
    seed: int = typer.Option(0, "--seed"),
    compare_sequential: bool = typer.Option(
        False, "--compare-sequential", help="Also run the two-call path; report speedup and output difference."
    ),
    flops_only: bool = typer.Option(False, "--flops-only", help="Only count FLOPs (no weights are loaded)."),
    repeats: int = typer.Option(1, "--repeats", help="Timed videos per path (the fastest is reported)."),
    warmup: int = typer.Option(1, "--warmup", help="Untimed videos first."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the report to this JSON file."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    evaluate: bool = typer.Option(
        False,
        "--evaluate",
        help="Time `kfbench evaluate` per metric on a synthetic store: seconds per pair, peak RSS, cores used.",
    ),
    size: str = typer.Option("576p", "--size", help="Evaluate: 576p, 1080p or HxW (e.g. 270x480)."),
    pairs: int = typer.Option(2, "--pairs", help="Evaluate: synthetic pairs per method."),
    metrics: str | None = typer.Option(
        None, "--metrics", help="Evaluate: comma-separated metrics (default: the weight-free ones)."
    ),
    whole: bool = typer.Option(
        False, "--whole", help="Evaluate: only every metric in one process (a whole evaluate's peak), not each one."
    ),
    reference: bool = typer.Option(
        False, "--reference", help="Evaluate: also time PSNR/SSIM/LPIPS/FID features against the reference packages."
    ),
) -> None:
    """Measure one video: UNet calls, FLOPs, wall time, TFLOP/s, fraction of peak, peak memory.

    Method options follow as for run (e.g. --model DIR --num-inference-steps 3), also with
    --random-weights -m NAME (e.g. --height 320 --width 576 --num-inference-steps 10 --num-frames 14).

    Examples:

      kfbench bench --method ours --checkpoint ours.safetensors --dtype bfloat16 --compare-sequential --json ours.json

      kfbench bench --method ours --checkpoint unused --flops-only

      kfbench bench --suite paper --levers --out bench-h100      (random full-size weights, GPU)

      kfbench bench --random-weights --flops-only

      kfbench bench --random-weights --flops-only -m wan-flf2v      (14 B transformer FLOPs and parameters, no weights)

      kfbench bench --random-weights -m ours --height 320 --width 576 --num-frames 14 --out bench-ours      (GPU)

      kfbench bench --evaluate --size 1080p --num-frames 25 --out evalbench --json evalbench/1080p.json

      kfbench bench --evaluate --metrics psnr,ssim,lpips,fid --lpips-weights alexnet-owt-7be5be79.pth
      --inception-weights weights-inception-2015-12-05-6726825d.pth --reference      (evaluate's --*-weights flags)
    """
    from kfbench.bench.measure import (
        format_report,
        method_options,
        run_bench,
        write_json,
    )

    progress.enabled = not quiet
    if evaluate:
        from kfbench.bench.evalcost import run_from_cli as evaluate_from_cli

        frames, flags = 25 if num_frames is None else num_frames, parse_extra_flags(ctx.args)
        asked = {"repeats": repeats, "whole_only": whole, "reference": reference, "out": out, "json_path": json_path}
        progress_lines = partial(typer.echo, err=True)
        typer.echo(evaluate_from_cli(size, frames, pairs, methods, metrics, flags, echo=progress_lines, **asked))
        return
    if suite or random_weights:
        from kfbench.bench.suite import run_from_cli

        typer.echo(
            run_from_cli(
                suite or "paper",
                method,
                methods,
                parse_extra_flags(ctx.args),
                num_frames=num_frames,
                flops_only=flops_only,
                levers=levers,
                compile=compile_unet,
                budget_s=budget_s,
                out=out,
                json_path=json_path,
            )
        )
        return
    if method is None:
        raise KfbenchError("kfbench bench needs --method NAME, or --suite paper|tiny / --random-weights")
    lookup(method_presets(), method, "method")
    if json_path:
        output_file(json_path, "--json")
    report = run_bench(
        method,
        method_options(method, parse_extra_flags(ctx.args)),
        num_frames=25 if num_frames is None else num_frames,
        seed=seed,
        compare_sequential=compare_sequential,
        flops_only=flops_only,
        repeats=repeats,
        warmup=warmup,
    )
    typer.echo(format_report(report))
    if json_path:
        write_json(report, json_path)
        typer.echo(f"wrote {json_path}")
