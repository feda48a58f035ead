"""The report's comparison sections: paired differences, results by pair difficulty, and the gap-length sweep.

Read from the run store's ``comparisons``, ``per_pair`` and ``by_gap`` tables (`kfbench compare`,
`kfbench evaluate`); the difficulty breakdown is recomputed here with the report's bins (terciles by default).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from kfbench.compare.comparison import COMPARISON_COLUMNS, COMPARISONS
from kfbench.compare.strata import breakdown
from kfbench.compare.sweep import BY_GAP, BY_GAP_COLUMNS
from kfbench.metrics.difficulty import LABELS as FACTOR_LABELS
from kfbench.metrics.difficulty import RULES as FACTOR_RULES
from kfbench.metrics.perpair import PER_PAIR, PER_PAIR_COLUMNS
from kfbench.metrics.registry import metric_class, metric_names
from kfbench.metrics.resultsfile import read_table, text_column
from kfbench.report.plots import legend_below, method_styles, save
from kfbench.report.tables import Table, format_value, label, to_csv, to_latex, to_markdown
from kfbench.utils.atomicio import write_text
from kfbench.utils.escaping import plain_text


@dataclass
class Sections:
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def interval_text(metric: str, value: float, low: float, high: float, sign: str = "+") -> str:
    """'+1.23 [0.45, 2.01]' in the metric's digits (the interval left out when there is none)."""
    if value is None or math.isnan(value):
        return "—"
    shown = f"{value:{sign}.{metric_class(metric).digits}f}"
    return shown if math.isnan(low) else f"{shown} [{format_value(metric, low)}, {format_value(metric, high)}]"


def comparison_table(comparisons: pd.DataFrame) -> Table:
    """One row per (dataset, A - B, metric): the paired difference, the unpaired interval, the test and the verdict."""
    header = [
        "dataset",
        "A - B",
        "metric",
        "difference [paired interval]",
        "unpaired interval",
        "signed-rank p",
        "pairs",
        "verdict",
    ]
    rows = []
    for r in comparisons.itertuples(index=False):
        shown = label(r.metric)
        if r.missing_reason:
            rows.append(
                [r.dataset, f"{r.method_a} - {r.method_b}", shown, "—", "—", "", "", f"missing: {r.missing_reason}"]
            )
            continue
        verdict = (
            f"resolved: {r.better} better"
            if r.resolved
            else "unresolved" + ("" if pd.isna(r.pairs_needed) else f": ~{int(r.pairs_needed)} pairs needed (estimate)")
        )
        unpaired = (
            "—"
            if pd.isna(r.unpaired_ci_low)
            else f"[{format_value(r.metric, r.unpaired_ci_low)}, {format_value(r.metric, r.unpaired_ci_high)}]"
        )
        rows.append(
            [
                r.dataset,
                f"{r.method_a} - {r.method_b}",
                shown,
                interval_text(r.metric, r.difference, r.ci_low, r.ci_high),
                unpaired,
                "" if pd.isna(r.p_value) else f"{r.p_value:.3g}",
                str(int(r.n)),
                verdict,
            ]
        )
    settings = json.loads(comparisons["settings"].iloc[0]) if len(comparisons) else {}
    caption = (
        f"Paired comparisons. Difference A - B on the same pairs with its {settings.get('confidence', 0.95):.0%} "
        f"paired bootstrap interval ({settings.get('resamples')} resamples of the pairs, seed {settings.get('seed')}); "
        "beside it the interval when A's and B's pairs are drawn independently. Per-pair metrics: mean of the pairs' "
        "own differences and a two-sided Wilcoxon signed-rank test; set metrics (FID, KID, FVD, JEDi): recomputed on "
        f"the same resampled pairs. Resolved: {settings.get('resolved_if', '')}. Pairs needed: "
        f"{settings.get('pairs_needed', '')}."
    )
    return Table(header, rows, caption, [])


def difficulty_table(table: pd.DataFrame) -> Table:
    """Rows: dataset, metric, method; columns: each factor's bins (value [interval] n)."""
    columns = list(dict.fromkeys(zip(table["factor"], table["bin"], table["label"])))
    columns.sort(key=lambda c: (list(FACTOR_LABELS).index(c[0]), c[1]))
    header = ["dataset", "metric", "method"] + [f"{FACTOR_LABELS[f]}: {bin_name}" for f, _, bin_name in columns]
    cells = {(r.dataset, r.metric, r.method, r.factor, r.label): r for r in table.itertuples(index=False)}
    rows = []
    for dataset, metric, method in dict.fromkeys(zip(table["dataset"], table["metric"], table["method"])):
        line = [dataset, label(metric), method]
        for factor, _, bin_name in columns:
            r = cells.get((dataset, metric, method, factor, bin_name))
            line.append(
                "" if r is None else f"{interval_text(metric, r.value, r.ci_low, r.ci_high, sign='')} n={int(r.n)}"
            )
        rows.append(line)
    rules = "; ".join(f"{FACTOR_LABELS[f]}: {FACTOR_RULES[f]}" for f in dict.fromkeys(table["factor"]))
    cut = "; ".join(sorted(set(table["cut_rule"])))
    caption = (
        f"Per-pair metrics by pair difficulty (bins: {cut}; n = pairs). Each cell: mean of the pairs' own values "
        f"[bootstrap interval over those pairs]. Factors, computed once per pair from the ground truth and the "
        f"keyframes without weights: {rules}."
    )
    return Table(header, rows, caption, [])


def _spread(centre: pd.Series, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Error bar lengths [2, N] below and above each centre (0 where there is no interval)."""
    values = centre.to_numpy(float)
    return np.nan_to_num(np.clip(np.vstack([values - low.to_numpy(float), high.to_numpy(float) - values]), 0, None))


def _errors(part: pd.DataFrame) -> np.ndarray:
    return _spread(part["value"], part["ci_low"], part["ci_high"])


def comparison_figure(comparisons: pd.DataFrame, dataset: str, stem: Path) -> list[Path] | None:
    """One panel per metric: each A - B difference with its paired (thick) and unpaired (thin) interval, 0 marked."""
    rows = comparisons[(comparisons["dataset"] == dataset) & (comparisons["missing_reason"] == "")]
    metrics = [m for m in metric_names() if m in set(rows["metric"])]
    if not metrics:
        return None
    height = 0.5 * rows.groupby("metric").size().max() + 1.6
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(2.4 * len(metrics) + 0.8, height), squeeze=False, layout="constrained"
    )
    for ax, metric in zip(axes[0], metrics):
        part = rows[rows["metric"] == metric].reset_index(drop=True)
        y = np.arange(len(part))
        ax.errorbar(
            part["difference"],
            y + 0.2,
            xerr=_spread(part["difference"], part["unpaired_ci_low"], part["unpaired_ci_high"]),
            fmt="none",
            ecolor="#999",
            capsize=2,
            lw=1,
            label="unpaired",
        )
        paired = _spread(part["difference"], part["ci_low"], part["ci_high"])
        for k, resolved in enumerate(part["resolved"].astype(bool)):
            ax.errorbar(
                part["difference"].iloc[k],
                y[k],
                xerr=paired[:, k : k + 1],
                fmt="o",
                ms=4,
                capsize=3,
                lw=2.5,
                color="#1a7f37" if resolved else "#555",
                label="paired" if k == 0 else None,
            )
        ax.axvline(0, color="#b00", lw=0.8)
        names = [plain_text(f"{a} - {b}") for a, b in zip(part["method_a"], part["method_b"])]
        ax.set_yticks(y, names, fontsize=8)
        ax.set_title(label(metric, " "), fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    legend_below(fig, axes[0][0], fontsize=7)
    fig.suptitle(
        plain_text(f"{dataset}: paired differences (green: resolved), unpaired intervals in grey"), fontsize=10
    )
    return save(fig, stem)


def difficulty_figure(table: pd.DataFrame, dataset: str, stem: Path) -> list[Path] | None:
    """Rows: difficulty factors; columns: per-pair metrics; a line per method over the bins with intervals."""
    rows = table[table["dataset"] == dataset]
    factors = [f for f in FACTOR_LABELS if f in set(rows["factor"])]
    metrics = [m for m in metric_names() if m in set(rows["metric"])]
    if not factors or not metrics:
        return None
    methods = sorted(rows["method"].unique())
    styles = method_styles(methods)
    step = min(0.08, 0.5 / len(methods))  # methods side by side within a bin, centred on it
    fig, axes = plt.subplots(
        len(factors),
        len(metrics),
        figsize=(2.5 * len(metrics) + 0.6, 2.1 * len(factors) + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for i, factor in enumerate(factors):
        for j, metric in enumerate(metrics):
            ax = axes[i][j]
            part = rows[(rows["factor"] == factor) & (rows["metric"] == metric)]
            labels = list(dict.fromkeys(part.sort_values("bin")["label"]))
            for method, line in part.groupby("method", sort=True):
                line = line.sort_values("bin")
                x = (
                    np.array([labels.index(b) for b in line["label"]])
                    + (methods.index(method) - (len(methods) - 1) / 2) * step
                )
                ax.errorbar(
                    x, line["value"], yerr=_errors(line), ms=3, capsize=2, label=plain_text(method), **styles[method]
                )
            ax.set_xticks(range(len(labels)), [plain_text(b) for b in labels], fontsize=6, rotation=20)
            ax.tick_params(axis="y", labelsize=7)
            if i == 0:
                ax.set_title(label(metric, " "), fontsize=9)
            if j == 0:
                ax.set_ylabel(FACTOR_LABELS[factor], fontsize=8)
    legend_below(fig, axes[0][0])
    fig.suptitle(
        plain_text(f"{dataset}: per-pair metrics by pair difficulty (bins left to right: low to high)"), fontsize=10
    )
    return save(fig, stem)


def gap_figure(table: pd.DataFrame, dataset: str, stem: Path) -> list[Path] | None:
    """One panel per per-pair metric: its mean against the gap length (frames), a line per method, with intervals."""
    rows = table[table["dataset"] == dataset]
    metrics = [m for m in metric_names() if m in set(rows["metric"])]
    if rows.empty or not metrics:
        return None
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(2.8 * len(metrics) + 0.6, 2.8), squeeze=False, layout="constrained"
    )
    styles = method_styles(sorted(rows["method"].unique()))
    for ax, metric in zip(axes[0], metrics):
        for method, line in rows[rows["metric"] == metric].groupby("method", sort=True):
            line = line.sort_values("gap_frames")
            ax.errorbar(
                line["gap_frames"],
                line["value"],
                yerr=_errors(line),
                ms=3,
                capsize=2,
                label=plain_text(method),
                **styles[method],
            )
        ax.set_xlabel("gap (frames, keyframes included)", fontsize=8)
        ax.set_title(label(metric, " "), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    legend_below(fig, axes[0][0])
    fig.suptitle(
        plain_text(f"{dataset}: metric against gap length (mean over pairs, bootstrap intervals)"), fontsize=10
    )
    return save(fig, stem)


def _write(table: Table, folder: Path, name: str) -> list[Path]:
    paths = [
        write_text(folder / f"{name}.md", to_markdown(table)),
        folder / f"{name}.csv",
        write_text(folder / f"{name}.tex", to_latex(table)),
    ]
    to_csv(table, folder / f"{name}.csv")
    return paths


def comparison_sections(
    out: Path, to: Path, datasets: list[str], bins: dict[str, list[float]] | None, bootstrap: dict | None
) -> Sections:
    """Tables (comparisons, by difficulty) and figures (differences, difficulty, gap sweep) of what the store holds."""
    sections = Sections()
    comparisons = read_table(out / f"{COMPARISONS}.csv", COMPARISON_COLUMNS)
    if not comparisons.empty:
        comparisons["missing_reason"] = text_column(comparisons["missing_reason"])
        comparisons = comparisons[comparisons["dataset"].isin(datasets)]
        sections.tables.append(comparison_table(comparisons))
        sections.files += _write(sections.tables[-1], to, "comparisons")
    per_pair = read_table(out / f"{PER_PAIR}.csv", PER_PAIR_COLUMNS)
    boot = bootstrap or {}
    settings = {
        "confidence": boot.get("confidence", 0.95),
        "resamples": boot.get("resamples", 200),
        "seed": boot.get("seed", 0),
    }
    strata = (
        breakdown(per_pair[per_pair["dataset"].isin(datasets)], bins, **settings)
        if not per_pair.empty
        else pd.DataFrame()
    )
    if not strata.empty:
        sections.tables.append(difficulty_table(strata))
        sections.files += _write(sections.tables[-1], to, "by_difficulty")
    gaps = read_table(out / f"{BY_GAP}.csv", BY_GAP_COLUMNS)
    for dataset in datasets:
        for caption, make, source, name in (
            (f"{dataset}: paired differences with intervals", comparison_figure, comparisons, "comparisons"),
            (f"{dataset}: per-pair metrics by pair difficulty", difficulty_figure, strata, "by-difficulty"),
            (f"{dataset}: metric against gap length per method", gap_figure, gaps, "gap-sweep"),
        ):
            paths = None if source.empty else make(source, dataset, to / "figures" / f"{dataset}-{name}")
            if paths:
                sections.figures.append((caption, paths[0]))
                sections.files += paths
    return sections
