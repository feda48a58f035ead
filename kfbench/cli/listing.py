"""`kfbench list`: methods, datasets, metrics or the pairs of davis."""

from __future__ import annotations

import typer

from kfbench.cli.app import EXTRA_ARGS, app
from kfbench.cli.options import options_help, parse_extra_flags
from kfbench.errors import KfbenchError
from kfbench.registry import coerce_option, dataset_presets, method_presets


@app.command("list", context_settings=EXTRA_ARGS)
def list_command(
    ctx: typer.Context,
    what: str = typer.Argument(..., help="methods, datasets, metrics or pairs"),
    dataset: str | None = typer.Argument(
        None, help="With pairs: davis (the one dataset whose pairs are known without its data)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also each method's or dataset's options."),
) -> None:
    """List registered methods, datasets or metrics (with their weights files) with a one-line description, or the pairs
    of davis.

    `list pairs davis` prints the pair ids a run on a complete download evaluates (options
    --splits, --num-frames, --frame-stride, --num-pairs as for the dataset), then a summary with
    the list's sha256 on stderr.

    Examples: kfbench list methods -v; kfbench list pairs davis --splits val --num-pairs 20
    """
    if what == "pairs":
        list_pairs(dataset, parse_extra_flags(ctx.args))
        return
    if what not in ("methods", "datasets", "metrics") or dataset or ctx.args:
        raise KfbenchError(
            "kfbench list takes 'methods', 'datasets', 'metrics' or 'pairs davis', not "
            f"'{' '.join([what, *([dataset] if dataset else []), *ctx.args])}'"
        )
    if what == "metrics":
        from kfbench.metrics.registry import listing

        typer.echo("\n".join(listing()))
        return
    presets = method_presets() if what == "methods" else dataset_presets()
    width = max(len(n) for n in presets)
    for name in sorted(presets):
        typer.echo(f"{name:<{width}}  {presets[name].description}")
        if verbose:
            typer.echo("    " + options_help(what[:-1], name).replace("\n", "\n    ") + "\n")


def list_pairs(dataset: str | None, flags: dict[str, str]) -> None:
    from kfbench.datasets.davislist import pair_listing

    if dataset != "davis":
        raise KfbenchError(
            f"kfbench list pairs needs a dataset whose pairs are known without its data: davis, not '{dataset or ''}'"
        )
    options = {k: coerce_option("dataset", "davis", k, v) for k, v in flags.items()}
    ids, summary = pair_listing(dataset_presets()["davis"].options, options)
    typer.echo("\n".join(ids))
    typer.echo(summary, err=True)
