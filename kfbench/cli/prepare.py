"""`kfbench prepare`: download and verify a dataset, write or check its manifest."""

from __future__ import annotations

from pathlib import Path

import typer

from kfbench.cli.app import EXTRA_ARGS, app
from kfbench.cli.options import parse_extra_flags
from kfbench.registry import coerce_option, dataset_presets, lookup
from kfbench.utils.userfiles import output_file


@app.command(context_settings=EXTRA_ARGS)
def prepare(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="davis, pexels or folder."),
    root: str | None = typer.Option(
        None, "--root", help="Data folder (default: $KFBENCH_DATA/NAME or ~/.cache/kfbench/NAME)."
    ),
    manifest: str | None = typer.Option(
        None, "--manifest", help="Existing manifest: fetch and check against it. New path: write the manifest there."
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Download nothing (also KFBENCH_OFFLINE=1); list what is missing."
    ),
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
