"""Report figures (matplotlib, PNG and SVG): metric bars with intervals, per-frame curves, a qualitative strip."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from kfbench.metrics.registry import metric_names
from kfbench.report.sources import PairView, nearest_frame
from kfbench.report.tables import label as metric_label
from kfbench.utils.atomicio import replacing
from kfbench.utils.escaping import plain_text

STRIP_TIMES = (0.0, 0.25, 0.5, 0.75, 1.0)


# SVG without the date matplotlib stamps and with fixed element ids (random salt by default): same figure, same bytes.
_SVG_METADATA = {"Date": None}
_SVG_HASHSALT = "kfbench"


def save(fig: plt.Figure, stem: Path) -> list[Path]:
    """``stem``.png and ``stem``.svg of ``fig`` (closed after); the same figure always gives the same bytes."""
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    with plt.rc_context({"svg.hashsalt": _SVG_HASHSALT}):
        for path, dpi, metadata in zip(paths, (110, "figure"), (None, _SVG_METADATA)):
            with replacing(path) as tmp:
                fig.savefig(tmp, dpi=dpi, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return paths


LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def method_styles(methods: list[str]) -> dict[str, dict[str, str]]:
    """A distinct colour per method (tab10 up to 10, tab20 dark shades then light ones up to 20), with a line
    style and marker that also differ between methods sharing a hue; the same method keeps its style in every figure.
    """
    if len(methods) <= 10:
        colours = list(plt.get_cmap("tab10").colors)
    else:
        tab20 = list(plt.get_cmap("tab20").colors)
        colours = tab20[0::2] + tab20[1::2]  # the ten dark shades, then their light partners
    styles = {}
    for i, method in enumerate(methods):
        hue_round = i // len(colours)
        styles[method] = {
            "color": matplotlib.colors.to_hex(colours[i % len(colours)]),
            "linestyle": LINE_STYLES[(i // 10 + hue_round) % len(LINE_STYLES)],
            "marker": MARKERS[i % len(MARKERS)],
        }
    return styles


def legend_below(fig: plt.Figure, ax: plt.Axes, fontsize: float = 8) -> None:
    """``ax``'s legend entries under the whole figure, outside every axes, in as many columns as its width holds;
    the figure grows by the legend's rows so the panels keep their size."""
    handles, labels = ax.get_legend_handles_labels()
    if not labels:
        return
    width, height = fig.get_size_inches()
    column = 0.6 + 0.0075 * fontsize * max(map(len, labels))  # handle and gaps, then the longest label (inches)
    ncols = max(1, min(len(labels), int(width // column)))
    fig.set_size_inches(width, height + 0.03 * fontsize * -(-len(labels) // ncols))
    fig.legend(handles, labels, loc="outside lower center", fontsize=fontsize, ncols=ncols, frameon=False)


def _grid(count: int, panel_width: float, max_width: float = 15.0) -> tuple[int, int]:
    """(rows, columns) of ``count`` panels, wrapped so the figure stays within ``max_width`` inches."""
    columns = max(1, min(count, int(max_width // panel_width)))
    return -(-count // columns), columns


def metric_bars(results: pd.DataFrame, dataset: str, stem: Path) -> tuple[str, list[Path]] | None:
    """One panel per computed metric: a bar per method with its bootstrap interval; (caption, files)."""
    rows = results[(results["dataset"] == dataset) & (results["missing_reason"] == "") & results["value"].notna()]
    metrics = [m for m in metric_names() if m in set(rows["metric"])]
    if not metrics:
        return None
    methods = sorted(rows["method"].unique())
    styles = method_styles(methods)
    panel_width = max(2.6, 0.28 * len(methods) + 0.8)
    nrows, ncols = _grid(len(metrics), panel_width)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(panel_width * ncols + 0.6, 3.4 * nrows), squeeze=False, layout="constrained"
    )
    intervals = rows["ci_low"].notna().any()
    for ax, metric in zip(axes.flat, metrics):
        part = rows[rows["metric"] == metric].set_index("method").reindex(methods)
        values = part["value"].to_numpy(float)
        errors = np.vstack([values - part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float) - values])
        ax.bar(
            range(len(methods)),
            values,
            yerr=np.nan_to_num(np.clip(errors, 0, None)),
            capsize=3,
            color=[styles[m]["color"] for m in methods],
        )
        ax.set_xticks(range(len(methods)), [plain_text(m) for m in methods], rotation=60, ha="right", fontsize=8)
        ax.set_xlim(-0.6, len(methods) - 0.4)
        n = part["n"].dropna().astype(int).unique()
        ax.set_title(f"{metric_label(metric, ' ')}  (n={', '.join(map(str, n))})", fontsize=9)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    what = "metrics with bootstrap intervals" if intervals else "metrics (no intervals computed)"
    fig.suptitle(plain_text(f"{dataset}: {what}"), fontsize=10)
    return f"{', '.join(metric_label(m, ' ') for m in metrics)}: {what}", save(fig, stem)


PER_FRAME_METRICS = ("psnr", "lpips")


def per_frame_curves(per_frame: pd.DataFrame, dataset: str, stem: Path) -> tuple[str, list[Path]] | None:
    """PSNR and LPIPS (where computed) against normalised time, mean over pairs; (caption, files).

    Time t in [0, 1] (0: first keyframe, 1: last) puts clips of different lengths on one axis.
    """
    rows = per_frame[per_frame["dataset"] == dataset] if not per_frame.empty else per_frame
    metrics = [m for m in PER_FRAME_METRICS if m in rows.columns and rows[m].notna().any()]
    if rows.empty or not metrics:
        return None
    methods = sorted(rows["method"].unique())
    styles = method_styles(methods)
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(max(6.0, 4.8 * len(metrics)), 3.4), squeeze=False, layout="constrained"
    )
    for ax, metric in zip(axes[0], metrics):
        for method in methods:
            part = rows[rows["method"] == method]
            curve = part.assign(t=part["time"].round(4)).groupby("t")[metric].mean().dropna()
            ax.plot(curve.index, curve.to_numpy(), markersize=3, label=plain_text(str(method)), **styles[method])
        ax.set_xlabel("normalised time t (0: first keyframe, 1: last)")
        ax.set_xlim(0, 1)
        ax.set_ylabel(metric_label(metric, " "))
        ax.grid(alpha=0.3)
    legend_below(fig, axes[0][0])
    fig.suptitle(plain_text(f"{dataset}: per-frame fidelity, mean over pairs"), fontsize=10)
    names = "/".join(metric_label(m, " ") for m in metrics)
    return f"per-frame {names} against normalised time, mean over pairs", save(fig, stem)


def strip_frame_numbers(view: PairView) -> list[int]:
    """The ground-truth frame numbers the strip's columns show."""
    num_truth = len(view.truth) if view.truth is not None else 25
    return [round(t * (num_truth - 1)) for t in STRIP_TIMES]


STRIP_LABEL_WIDTH = 16  # characters per line of a row label (wrapped at hyphens and spaces beyond)


def qualitative_strip(view: PairView, stem: Path) -> list[Path] | None:
    """Rows: ground truth, then each method; columns: the frames nearest times 0, 1/4, 1/2, 3/4, 1.

    Row labels read horizontally in a column left of the frames, sized to the longest (wrapped) label.
    """
    rows: list[tuple[str, np.ndarray, list[float]]] = []
    if view.truth is not None:
        rows.append(("ground truth", view.truth, list(np.linspace(0, 1, len(view.truth)))))
    rows += [(m, view.frames[m], view.times[m]) for m in view.frames]
    if not rows:
        return None
    numbers = strip_frame_numbers(view)
    fig, axes = plt.subplots(
        len(rows),
        len(STRIP_TIMES),
        figsize=(2.0 * len(STRIP_TIMES), 1.3 * len(rows) + 0.4),
        squeeze=False,
        layout="constrained",
    )
    for r, (label, frames, times) in enumerate(rows):
        for c, t in enumerate(STRIP_TIMES):
            ax = axes[r][c]
            ax.imshow(frames[nearest_frame(times, t)])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"frame {numbers[c]}", fontsize=8)
            if c == 0:
                wrapped = textwrap.fill(label, STRIP_LABEL_WIDTH, break_on_hyphens=True)
                ax.set_ylabel(plain_text(wrapped), fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(plain_text(f"{view.pair_id}: frames nearest in time"), fontsize=9)
    return save(fig, stem)
