"""`kfbench run`: a method over a dataset's pairs into the run store.

The method and the dataset are resolved from the registries (presets + options given as extra flags);
the chosen pairs go to :func:`kfbench.run.runner.run_benchmark`, which writes the run store. Method and
dataset options are their keyword names in kebab case (`--num-inference-steps 25`); each goes to whichever
of the two accepts it (:func:`kfbench.cli.options.split_options`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from kfbench.cli.app import DEFAULT_OUT, EXTRA_ARGS, app
from kfbench.cli.options import PresetHelpCommand, command_flags, parse_extra_flags, parse_pairs, split_options
from kfbench.errors import KfbenchError
from kfbench.registry import (
    create_dataset,
    create_method,
    dataset_presets,
    lookup,
    method_presets,
    option_names,
)
from kfbench.run.distributed import (
    default_device,
    launch_info,
    process_group,
    total_over_ranks,
)
from kfbench.run.prompts import read_prompts
from kfbench.run.runner import parse_shard, run_benchmark, select_pairs
from kfbench.store.runstore import RunStore
from kfbench.utils import progress
from kfbench.utils.userfiles import output_folder


@app.command(context_settings=EXTRA_ARGS, cls=PresetHelpCommand)
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
    prompts: Path | None = typer.Option(
        None, "--prompts", help="CSV of pair id, prompt: per-pair prompts for text-conditioned methods."
    ),
    run_name: str | None = typer.Option(
        None,
        "--run-name",
        help="Run folder name (default: the method's, or METHOD@DIGEST when that holds other settings).",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Run a method on a dataset's keyframe pairs and save frames, an mp4 preview and meta.json.

    Method and dataset options follow as --name value (e.g. --num-inference-steps 25).
    Checkpoints are read as data; `--method film --allow-torchscript-code` instead torch.jit.loads a
    TorchScript checkpoint, which RUNS the code inside the file.

    Frames made with other settings are never reused: each settings fingerprint (method, options,
    seed, weights content, keyframes; docs/provenance.md) has its own run folder OUT/DATASET/RUN.

    Examples:

      kfbench run --method flow --dataset synthetic --limit 3 --out runs

      kfbench run --method ours --dataset davis --root ~/data/DAVIS --shard 0/4
    """
    progress.enabled = not quiet
    lookup(method_presets(), method, "method")
    lookup(dataset_presets(), dataset, "dataset")
    method_opts, dataset_opts = split_options(method, dataset, parse_extra_flags(ctx.args), command_flags(ctx))
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
            interpolator,
            data,
            RunStore(out),
            pair_ids,
            seed=seed,
            overwrite=overwrite,
            prompts=prompt_map,
            run_name=run_name,
        )
        done, skipped, held = total_over_ranks(len(summary.done), len(summary.skipped), len(summary.held))
    for line in summary.notes:
        typer.echo(f"note: {line}")
    if summary.redone:
        typer.echo(f"recomputed {len(summary.redone)} damaged or outdated pair(s): {'; '.join(summary.redone)}")
    if launch is None or launch.rank == 0:
        ranks = f" over {launch.world_size} ranks" if launch else ""
        elsewhere = f", {held} being computed by another run" if held else ""
        typer.echo(
            f"{method} on {dataset}: {done} pair(s) written, {skipped} already complete{elsewhere}{ranks} "
            f"-> {out / dataset / summary.run}"
        )
    for line in summary.held:
        typer.echo(f"  not computed here: {line}")
    unreadable = list(getattr(data, "bad", [])) + summary.bad
    if unreadable:
        typer.echo(f"skipped (--skip-bad), unreadable: {len(unreadable)}")
        for line in unreadable:
            typer.echo(f"  {line}")
