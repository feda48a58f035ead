"""`kfbench report`: tables, plots and the HTML page of an evaluated run store."""

from __future__ import annotations

from pathlib import Path

import typer

from kfbench.cli.app import DEFAULT_OUT, app
from kfbench.cli.options import parse_pairs
from kfbench.errors import KfbenchError
from kfbench.utils import progress
from kfbench.utils.userfiles import output_folder


@app.command()
def report(
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Run store folder (evaluated)."),
    to: Path | None = typer.Option(None, "--to", help="Report folder (default: reports/<OUT name>)."),
    pairs: str | None = typer.Option(None, "--pairs", help="Pairs for the qualitative strip (default: the first)."),
    videos: str = typer.Option("auto", "--videos", help="auto, embed (in the HTML) or link (files beside it)."),
    root: str | None = typer.Option(
        None,
        "--root",
        help="Where the dataset lies now, when it moved since `kfbench run` (strips, videos; checked to be the same).",
    ),
    difficulty_bins: str | None = typer.Option(
        None,
        "--difficulty-bins",
        help="Cut points per difficulty factor, e.g. 'motion=1,3;gap_frames=17' (default: terciles).",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Write Table 1 (Markdown, CSV, LaTeX), plots (PNG, SVG) and a self-contained HTML page.

    One table per ground truth (dataset, protocol, real set), its caption naming the real set and its
    header the settings and versions its rows share and those that differ.

    Example: kfbench report --out runs --to reports/runs
    """
    from kfbench.compare.strata import parse_bins
    from kfbench.report import write_report

    progress.enabled = not quiet
    if videos not in ("auto", "embed", "link"):
        raise KfbenchError(f"--videos takes auto, embed or link, not '{videos}'")
    folder = output_folder(to or Path("reports") / out.resolve().name, "--to")
    bins = parse_bins(difficulty_bins)
    result = write_report(out, folder, pairs=parse_pairs(pairs), videos=videos, root=root, difficulty_bins=bins)
    typer.echo(f"report: {result.html}")
