"""Report figures (matplotlib, PNG and SVG): metric bars with intervals, per-frame curves, a qualitative strip."""

from __future__ import annotations

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


def metric_bars(results: pd.DataFrame, dataset: str, stem: Path) -> list[Path] | None:
    """One panel per computed metric: a bar per method with its bootstrap interval."""
    rows = results[(results["dataset"] == dataset) & (results["missing_reason"] == "") & results["value"].notna()]
    metrics = [m for m in metric_names() if m in set(rows["metric"])]
    if not metrics:
        return None
    methods = sorted(rows["method"].unique())
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(2.6 * len(metrics) + 0.6, 3.0), squeeze=False, layout="constrained"
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics):
        part = rows[rows["metric"] == metric].set_index("method").reindex(methods)
        values = part["value"].to_numpy(float)
        errors = np.vstack([values - part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float) - values])
        ax.bar(
            range(len(methods)),
            values,
            yerr=np.nan_to_num(np.clip(errors, 0, None)),
            capsize=3,
            color=[colors[i % len(colors)] for i in range(len(methods))],
        )
        ax.set_xticks(range(len(methods)), [plain_text(m) for m in methods], rotation=30, ha="right")
        n = part["n"].dropna().astype(int).unique()
        ax.set_title(f"{metric_label(metric, ' ')}  (n={', '.join(map(str, n))})", fontsize=9)
    fig.suptitle(plain_text(f"{dataset}: metrics with bootstrap intervals"), fontsize=10)
    return save(fig, stem)


def per_frame_curves(per_frame: pd.DataFrame, dataset: str, stem: Path) -> list[Path] | None:
    """PSNR and LPIPS (where computed) against the frame index on the ground-truth clip, mean over pairs."""
    rows = per_frame[per_frame["dataset"] == dataset] if not per_frame.empty else per_frame
    metrics = [m for m in ("psnr", "lpips") if m in rows.columns and rows[m].notna().any()]
    if rows.empty or not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.0), squeeze=False, layout="constrained")
    for ax, metric in zip(axes[0], metrics):
        for method, part in rows.groupby("method"):
            x = part["time"] * (part["truth_frames"] - 1)
            curve = part.assign(x=x.round(3)).groupby("x")[metric].mean()
            ax.plot(curve.index, curve.to_numpy(), marker=".", label=plain_text(str(method)))
        ax.set_xlabel("frame index (ground-truth clip)")
        ax.set_ylabel(metric_label(metric, " "))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(plain_text(f"{dataset}: per-frame fidelity, mean over pairs"), fontsize=10)
    return save(fig, stem)


def qualitative_strip(view: PairView, stem: Path) -> list[Path] | None:
    """Rows: ground truth, then each method; columns: the frames nearest times 0, 1/4, 1/2, 3/4, 1."""
    rows: list[tuple[str, np.ndarray, list[float]]] = []
    if view.truth is not None:
        rows.append(("ground truth", view.truth, list(np.linspace(0, 1, len(view.truth)))))
    rows += [(m, view.frames[m], view.times[m]) for m in view.frames]
    if not rows:
        return None
    num_truth = len(view.truth) if view.truth is not None else 25
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
                ax.set_title(f"frame {round(t * (num_truth - 1))}", fontsize=8)
            if c == 0:
                ax.set_ylabel(plain_text(label), fontsize=8)
    fig.suptitle(plain_text(f"{view.pair_id}: frames nearest in time"), fontsize=9)
    return save(fig, stem)
