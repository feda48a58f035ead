"""`kfbench report`: tables, figures and an HTML page from a run store's results."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from kfbench.errors import KfbenchError
from kfbench.metrics.evaluate import load_results
from kfbench.report.compare import comparison_sections
from kfbench.report.html import VideoCell, render_page
from kfbench.report.plots import metric_bars, per_frame_curves, qualitative_strip, strip_frame_numbers
from kfbench.report.sources import PairView, pair_view
from kfbench.report.tables import real_set_text, table_groups, write_tables
from kfbench.store.runstore import PREVIEW, RunStore
from kfbench.store.sourcedata import SourceData
from kfbench.utils.atomicio import remove_leftovers, replacing, write_text
from kfbench.utils.progress import track
from kfbench.utils.videoio import write_mp4

EMBED_LIMIT_BYTES = 64 * 1024 * 1024
VideoMode = Literal["auto", "embed", "link"]


@dataclass
class Report:
    folder: Path
    html: Path
    files: list[Path]


def write_report(
    out: Path,
    to: Path,
    *,
    pairs: list[str] | None = None,
    videos: VideoMode = "auto",
    root: str | None = None,
    difficulty_bins: dict[str, list[float]] | None = None,
) -> Report:
    """Write table1.{md,csv,tex} (one per ground truth), figures/*.{png,svg}, videos/ and index.html into ``to``;
    with the store's comparisons and per-pair results, comparisons and by_difficulty tables and their figures
    (``report.compare``).

    ``root``: where the dataset lies now, when it moved since the runs (checked to be the same data).
    """
    results, per_frame = load_results(out)
    store = RunStore(out)
    sources = SourceData(root)
    to.mkdir(parents=True, exist_ok=True)
    (to / "figures").mkdir(exist_ok=True)
    for folder in [to, to / "figures", *(to / "videos").glob("*/*")]:
        remove_leftovers(folder)
    confidence = _confidence(results)
    tables = write_tables(results, to, confidence)
    files = [to / f"{name}.{ext}" for name in tables for ext in ("md", "csv", "tex")]
    figures: list[tuple[str, Path]] = []
    video_cells: dict[str, list[VideoCell]] = {}
    datasets = sorted(results["dataset"].unique())
    methods = {d: sorted(results.loc[results["dataset"] == d, "method"].unique()) for d in datasets}
    completed = {d: sorted({p for m in methods[d] for p in store.completed_pairs(d, m)}) for d in datasets}
    unknown = [p for p in pairs or [] if not any(p in ids for ids in completed.values())]
    if unknown:
        raise KfbenchError(f"--pairs: no evaluated run has pair(s) {', '.join(unknown)}")
    for stem, rows in table_groups(results):
        dataset, runs = rows["dataset"].iloc[0], set(rows["method"])
        frames = per_frame[per_frame["method"].isin(runs)] if not per_frame.empty else per_frame
        bars = metric_bars(rows, dataset, to / "figures" / f"{stem}-metrics")
        curves = per_frame_curves(frames, dataset, to / "figures" / f"{stem}-per-frame")
        for made in (bars, curves):
            if made:
                figures.append((f"{stem}: {made[0]}", made[1][0]))
                files += made[1]
    for dataset in datasets:
        strip_pairs = [p for p in pairs if p in completed[dataset]] if pairs else completed[dataset][:1]
        for pair_id in track(completed[dataset], f"report {dataset}"):
            view = pair_view(store, sources, dataset, pair_id, methods[dataset])
            if pair_id in strip_pairs:
                strip = qualitative_strip(view, to / "figures" / f"{dataset}-{pair_id}-strip")
                if strip:
                    numbers = ", ".join(map(str, strip_frame_numbers(view)))
                    shown = "ground truth and methods" if view.truth is not None else "methods"
                    figures.append((f"{dataset} / {pair_id}: {shown} at frames {numbers} (nearest in time)", strip[0]))
                    files += strip
            video_cells[f"{dataset} / {pair_id}"] = _videos(store, to, dataset, pair_id, view)
    boot = json.loads(next((s for s in results["settings"] if s and "bootstrap" in s), "{}")).get("bootstrap")
    sections = comparison_sections(out, to, datasets, difficulty_bins, boot)
    figures += sections.figures
    files += sections.files
    total = sum(c.path.stat().st_size for cells in video_cells.values() for c in cells)
    embed = videos == "embed" or (videos == "auto" and total <= EMBED_LIMIT_BYTES)
    intro = _intro(results, embed)
    page = render_page(
        to, f"kfbench report: {out}", intro, list(tables.values()) + sections.tables, figures, video_cells, embed
    )
    html_path = write_text(to / "index.html", page)
    return Report(to, html_path, files + [html_path])


def _videos(store: RunStore, to: Path, dataset: str, pair_id: str, view: PairView) -> list[VideoCell]:
    folder = to / "videos" / dataset / pair_id
    folder.mkdir(parents=True, exist_ok=True)
    cells = []
    if view.truth is not None:
        with replacing(folder / "ground_truth.mp4") as tmp:
            write_mp4(view.truth, tmp, fps=view.fps)
        cells.append(VideoCell("ground truth", folder / "ground_truth.mp4"))
    for method in view.frames:
        with replacing(folder / f"{method}.mp4") as tmp:
            shutil.copyfile(store.pair_dir(dataset, method, pair_id) / PREVIEW, tmp)
        cells.append(VideoCell(method, folder / f"{method}.mp4"))
    return cells


def _confidence(results: pd.DataFrame) -> float:
    for settings in results["settings"]:
        boot = json.loads(settings or "{}").get("bootstrap")
        if boot:
            return float(boot["confidence"])
    return 0.95


def _interval_text(boot: dict | None) -> str:
    if not boot or not boot.get("resamples"):
        return "no intervals"
    return (
        f"{boot['confidence']:.0%} intervals from {boot['resamples']} bootstrap resamples of the {boot['unit']}s "
        f"(seed {boot['seed']})"
    )


def _intro(results: pd.DataFrame, embedded: bool) -> list[str]:
    """How the numbers were computed, from the settings recorded with them."""
    lines = []
    for dataset, rows in table_groups(results):
        computed = [json.loads(s) for s in rows["settings"] if s and s != "{}"]
        if not computed:
            continue
        first = next((s for s in computed if "frames" in s), computed[0])
        fvd = next(
            (json.loads(s) for m, s in zip(rows["metric"], rows["settings"]) if m == "fvd" and s and "window" in s),
            None,
        )
        covs = {
            m: json.loads(s).get("covariance")
            for m, s in zip(rows["metric"], rows["settings"])
            if m in ("fid", "fvd") and s
        }
        lines.append(
            f"{dataset}: protocol {first.get('protocol')}; {first.get('frames')}; {first.get('frame_matching')}; "
            f"compared at {first.get('compared_at')}; "
            f"{first.get('pairs')} pair(s); {_interval_text(first.get('bootstrap'))}. {real_set_text(rows)}"
            + "".join(f" {m.upper()} covariance convention: {c}." for m, c in covs.items() if c)
            + (f" FVD window: {fvd['window']}." if fvd else "")
        )
    lines.append(
        "Videos are " + ("embedded in this page." if embedded else "linked from the videos/ folder beside this page.")
    )
    return lines
