"""Table 1's layout (rows: runs; columns: dataset x metric) as Markdown, CSV and LaTeX.

One table, one ground truth: rows are grouped by (dataset, protocol, real set) and each group is its
own table, whose caption states the real set every row shares and whose header lists the settings
and versions the rows share and those that differ. Every cell carries its confidence interval and
sample size n; the paper's published FID/FVD sit beside ours in columns marked "(paper)" only on the
dataset and protocol they were measured on, and in a separate table of the published numbers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from kfbench.metrics.registry import metric_class, metric_names
from kfbench.presets import resource_dir
from kfbench.store.fingerprint import flatten
from kfbench.utils.atomicio import replacing, write_text
from kfbench.utils.escaping import csv_frame, latex

PAPER_FILE = "paper_table1.csv"
PAPER_METRICS = ("fid", "fvd")
PAPER_PROTOCOL = "paper"  # the published numbers sit beside ours only under this protocol, on their own datasets
# metrics whose ideal is the ground truth's own value: shown as the distance to it (the raw figures beside)
DISTANCE_LABELS = {"warp_error": "warp error (distance to GT)", "flicker": "flicker (abs log ratio to GT)"}


def arrow(metric: str) -> str:
    """The metric's direction: ↑ (higher is better) or ↓."""
    return "↑" if metric_class(metric).higher_is_better else "↓"


def label(metric: str, between: str = "") -> str:
    """The metric's label with its direction: 'FID↓' (``between`` goes between the two)."""
    return f"{metric_class(metric).label}{between}{arrow(metric)}"


def table_metrics(table: str) -> list[str]:
    """The metrics reported in ``table`` ("table1" or "newer"), in registry order."""
    return [m for m in metric_names() if metric_class(m).table == table]


def paper_table() -> pd.DataFrame:
    """The paper's Table 1 (published numbers): method, <dataset>_fid, <dataset>_fvd."""
    return pd.read_csv(resource_dir("reports") / PAPER_FILE)


def paper_datasets(paper: pd.DataFrame) -> list[str]:
    return sorted({c.rsplit("_", 1)[0] for c in paper.columns if c != "method"})


class MissingCell(NamedTuple):
    """A table cell left empty: its dataset, run and metric label (each may hold spaces or slashes)."""

    dataset: str
    run: str
    metric: str

    def __str__(self) -> str:
        return f"{self.dataset}/{self.run} {self.metric}"


@dataclass
class Table:
    """Header row and body rows of formatted cells, plus the notes below the table."""

    header: list[str]
    rows: list[list[str]]
    caption: str
    notes: list[str]
    provenance: list[str] = field(default_factory=list)  # settings and versions shared by the rows, and what differs
    missing: dict[str, list[MissingCell]] = field(default_factory=dict)  # reason -> the cells it leaves empty

    def missing_notes(self) -> list[str]:
        return [f"missing ({', '.join(map(str, cells))}): {reason}" for reason, cells in self.missing.items()]


def format_value(metric: str, value: float) -> str:
    return (
        "—"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{metric_class(metric).digits}f}"
    )


def cell(row: pd.Series) -> str:
    """'12.34 [11.02, 13.70] n=92' (with the generated and ground-truth figures beside a relative one), or '—
    (missing)'."""
    if row["missing_reason"] or pd.isna(row["value"]):
        return "— (missing)"
    metric = row["metric"]
    interval = (
        ""
        if pd.isna(row["ci_low"])
        else f" [{format_value(metric, row['ci_low'])}, {format_value(metric, row['ci_high'])}]"
    )
    figures = json.loads(row["settings"] or "{}").get("figures", {})
    beside = [
        f"{part.replace('_', ' ')} {format_value(metric, figures[f'{metric}_{part}'])}"
        for part in ("generated", "ground_truth")
        if f"{metric}_{part}" in figures
    ]
    return f"{format_value(metric, row['value'])}{interval} n={int(row['n'])}" + (
        f" ({', '.join(beside)})" if beside else ""
    )


def table1(
    results: pd.DataFrame, paper: pd.DataFrame, confidence: float = 0.95, columns: list[str] | None = None
) -> Table:
    """Rows: every evaluated method, then the paper's other methods; columns per dataset and metric."""
    datasets = sorted(results["dataset"].unique())
    metrics = [m for m in (table_metrics("table1") if columns is None else columns) if m in set(results["metric"])]
    settings = [_settings_of(r) for r in results.itertuples()]
    measured_as_paper = {s.get("protocol") for s in settings} == {PAPER_PROTOCOL} and not any(
        "reference_run" in s for s in settings
    )
    with_paper = [d for d in datasets if d in paper_datasets(paper)] if measured_as_paper else []
    labels = column_labels(results)
    methods = list(dict.fromkeys(list(results["method"].unique()) + (list(paper["method"]) if with_paper else [])))
    header = ["method"]
    for dataset in datasets:
        header += [f"{dataset} {labels[m]}" for m in metrics]
        if dataset in with_paper:
            header += [f"{dataset} {label(m)} (paper)" for m in PAPER_METRICS]
    index = {(r.dataset, r.method, r.metric): r for r in results.itertuples(index=False)}
    published = paper.set_index("method")
    mapped = mapped_notes(results)
    rows, missing = [], {}
    for method in methods:
        line = [f"{method} †" if method in mapped else method]
        for dataset in datasets:
            for metric in metrics:
                found = index.get((dataset, method, metric))
                line.append(cell(pd.Series(found._asdict())) if found is not None else "")
                if found is not None and found.missing_reason:
                    missing.setdefault(found.missing_reason, []).append(
                        MissingCell(dataset, method, metric_class(metric).label)
                    )
            if dataset in with_paper:
                for metric in PAPER_METRICS:
                    value = published[f"{dataset}_{metric}"].get(method) if method in published.index else None
                    line.append(format_value(metric, value) if value is not None else "")
        rows.append(line)
    sizes = sorted(
        {
            f"{r.dataset}: {metric_class(r.metric).label} n={int(r.n)}"
            for r in results.itertuples()
            if r.n and not r.missing_reason and r.metric in metrics
        }
    )
    caption = (
        f"Table 1 layout. Each cell: value [{confidence:.0%} bootstrap interval over pairs] n = sample size "
        "(frames for FID, KID, PSNR, SSIM, LPIPS; clips for FVD). Columns marked (paper) are the published "
        "numbers of Wang et al. 2024, Table 1, copied, not computed by kfbench, shown only under the paper protocol on "
        "DAVIS and Pexels; they use 25 frames at 1024x576, "
        "117 DAVIS and 45 Pexels pairs, and an unpublished evaluation protocol, so they compare only loosely. "
        f"{real_set_text(results)} "
        f"Sample sizes: {'; '.join(sizes) or 'none computed'}. {conventions_text(results)}"
    )
    notes = [note for notes in mapped.values() for note in notes]
    notes += [
        f"damaged pairs of {method} left out (run `kfbench run` again to recompute them): {', '.join(damaged)}"
        for method, damaged in damaged_pairs(results).items()
    ]
    return Table(header, rows, caption, notes, provenance_lines(results), missing)


def _settings_of(row: Any) -> dict[str, Any]:
    return json.loads(row.settings) if row.settings else {}


def damaged_pairs(results: pd.DataFrame) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for r in results.itertuples():
        damaged = (_settings_of(r).get("run") or {}).get("damaged_pairs")
        if damaged:
            found[r.method] = sorted(damaged)
    return found


def column_labels(results: pd.DataFrame) -> dict[str, str]:
    """Label and arrow per metric; warp error and flicker as distance to the ground truth, or raw without one."""
    raw = {
        r.metric
        for r in results.itertuples()
        if _settings_of(r).get("quantity", "").startswith("the generated clips' raw")
    }
    labels = {m: label(m) for m in metric_names()}
    labels.update({m: f"{text}{arrow(m)}" for m, text in DISTANCE_LABELS.items()})
    labels.update({m: f"{metric_class(m).label} (raw, no ground truth)" for m in raw})
    return labels


def real_set_text(results: pd.DataFrame) -> str:
    """The real set every row of the table is scored against (tables hold one; see table_groups)."""
    described = next((s for s in map(_settings_of, results.itertuples()) if "real_set" in s), None)
    if described is None:
        return "Real set: not recorded (results evaluated before kfbench recorded it)."
    if "reference_run" in described:
        return _reference_text(described)
    if not described["real_set"]:
        return (
            f"No ground truth: {described.get('ground_truth', 'keyframes-only pairs')}; every row is scored "
            "without "
            "one (keyframe fidelity against the input keyframes, raw temporal figures)."
        )
    ids = described.get("pair_ids") or []
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    indices = described["ground_truth_indices"]
    return (
        f"Real set {described['real_set']} (every row of this table is scored against it): "
        f"{described['pairs']} pair(s)"
        + (f" ({shown})" if shown else "")
        + f", ground-truth frames {indices[0]}-{indices[-1]} of "
        f"{described['ground_truth_frames_per_pair']} per pair, "
        f"compared at {described['compared_at'].split(' ')[0]}, protocol {described['protocol']}."
    )


def _reference_text(described: dict[str, Any]) -> str:
    """The caption's real set when it is another run's frames (``kfbench evaluate --reference-run``)."""
    reference = described["reference_run"]
    shown = ", ".join(described.get("pair_ids", [])[:5])
    frames = (
        f", its frames {reference['indices'][0]}-{reference['indices'][-1]} of {reference['frames_per_pair']} per "
        f"pair, compared at {described['compared_at'].split(' ')[0]}"
        if reference.get("indices")
        else ""
    )
    return (
        f"Reference set {described['real_set']} (not ground truth; every row of this table is scored against it): "
        f"the frames of run {reference['run']} (fingerprint {_short(reference['fingerprint'])}), "
        f"{described['pairs']} pair(s)" + (f" ({shown})" if shown else "") + f"{frames}, protocol "
        f"{described['protocol']}. Its distances measure how far each run is from that run's videos, not from real "
        "video."
    )


def _short(digest: str) -> str:
    return digest[:12] + "…" if len(digest) > 16 else digest


def provenance_lines(results: pd.DataFrame) -> list[str]:
    """'Shared by every row: ...' and, per run, 'run: what differs' (settings and versions, from the rows' records)."""
    runs: dict[str, dict[str, Any]] = {}
    for r in results.itertuples():
        recorded = _settings_of(r).get("run")
        if r.method not in runs or recorded:
            runs[r.method] = flatten(
                {"settings": recorded.get("settings") or {}, "versions": recorded.get("versions")} if recorded else {}
            )
    if not any(runs.values()):
        return ["Settings: not recorded (runs or results from before kfbench recorded them)."]
    keys = sorted({k for flat in runs.values() for k in flat})
    shared = [k for k in keys if len({json.dumps(flat.get(k)) for flat in runs.values()}) == 1]
    lines = ["Shared by every row: " + "; ".join(f"{_key(k)} {_value(runs[next(iter(runs))].get(k))}" for k in shared)]
    for run, flat in runs.items():
        own = [f"{_key(k)} {_value(flat[k])}" for k in keys if k not in shared and k in flat]
        if flat and not own:
            continue
        lines.append(f"{run}: " + ("; ".join(own) if flat else "settings not recorded (made before kfbench kept them)"))
    return lines


def _key(key: str) -> str:
    return key.removeprefix("settings.")


def _value(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "/".join(value) + " (mixed within the run)"
    text = str(value)
    return text[:19] + "…" if text.startswith("sha256:") and len(text) > 20 else text


def table_groups(results: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The rows split by (dataset, protocol, real set), each with a file-name stem: one table per ground truth."""
    keys = [
        (r.dataset, s.get("protocol", ""), s.get("real_set", "unrecorded"))
        for r, s in ((r, _settings_of(r)) for r in results.itertuples())
    ]
    order = sorted(set(keys))
    per_dataset = {d: sum(1 for k in order if k[0] == d) for d, _, _ in order}
    protocols = {(d, rs) for d, _, rs in order}
    groups = []
    for key in order:
        dataset, protocol, real_set = key
        rows = results[[k == key for k in keys]].reset_index(drop=True)
        reference = "reference_run" in _settings_of(next(rows.itertuples()))
        kind = "ref-" if reference else ""
        stem = dataset if per_dataset[dataset] == 1 else f"{dataset}-{kind}{real_set[:8] or 'no-ground-truth'}"
        groups.append((stem + (f"-{protocol}" if len(protocols) < len(order) else ""), rows))
    return groups


def newer_table(results: pd.DataFrame, confidence: float = 0.95) -> Table:
    """The newer metrics (content-debiased FVD, JEDi, keyframe fidelity, temporal consistency) in Table 1's layout."""
    table = table1(results, pd.DataFrame(columns=["method"]), confidence, table_metrics("newer"))
    table.caption = (
        f"Newer metrics in Table 1's layout. Each cell: value [{confidence:.0%} bootstrap interval over pairs] n = "
        "sample "
        "size (clips for FVD-VideoMAE and JEDi, pairs for the others). FVD-VideoMAE is FVD on VideoMAE-v2 features "
        "(cd-fvd) and JEDi on V-JEPA features (videojedi), both on 16-frame clips: neither compares with I3D FVD. "
        "Keyframe "
        "PSNR/LPIPS: the generated first and last frames against the input keyframes (PSNR capped at 100 dB, an exact "
        "copy). Warp error and flicker (0: as steady as the "
        "real video) are shown as the distance to the ground truth's own value (the raw figures beside); "
        "without ground truth, raw. " + real_set_text(results)
    )
    return table


def _settings(results: pd.DataFrame) -> list[tuple[str, str, str, dict]]:
    return [
        (r.dataset, r.method, r.metric, json.loads(r.settings))
        for r in results.itertuples()
        if r.settings and r.settings != "{}"
    ]


def mapped_notes(results: pd.DataFrame) -> dict[str, list[str]]:
    """Per method whose native frames are not the grid: '† method on dataset: native N frames mapped ... by <rule>'."""
    notes: dict[str, list[str]] = {}
    for dataset, method, _, s in _settings(results):
        if s.get("mapped_to_grid"):
            note = (
                f"† {method} on {dataset}: native {s['generated_frames_per_pair']} frames per pair, mapped onto the "
                f"{s['grid_frames']}-frame grid: {s['frame_matching']}"
            )
            notes.setdefault(method, [])
            if note not in notes[method]:
                notes[method].append(note)
    return notes


def conventions_text(results: pd.DataFrame) -> str:
    """Per dataset: protocol, grid, FID covariance, FVD clip length, window and covariance, from the recorded
    settings."""
    parts: dict[str, dict[str, str]] = {}
    for dataset, _, metric, s in _settings(results):
        seen = parts.setdefault(dataset, {})
        if "protocol" in s:
            seen.setdefault("protocol", f"protocol {s['protocol']}")
        if "grid_frames" in s:
            seen.setdefault(
                "grid", f"{s['grid_frames']}-frame grid, {s['frames']}, compared at {s['compared_at'].split(' ')[0]}"
            )
        if metric == "fid" and "covariance" in s:
            seen.setdefault("fid", f"FID covariance {s['covariance']}")
        if metric == "fvd" and "window" in s:
            seen.setdefault("fvd", f"FVD on {s['window'].split(';')[0]}), covariance {s['covariance']}")
    return " ".join(f"{d}: {'; '.join(v.values())}." for d, v in sorted(parts.items()))


def published_table(paper: pd.DataFrame) -> Table:
    """The paper's Table 1 as published."""
    header = ["method"] + [
        f"{c.rsplit('_', 1)[0]} {label(c.rsplit('_', 1)[1])} (paper)" for c in paper.columns if c != "method"
    ]
    rows = [
        [r["method"]] + [format_value(c.rsplit("_", 1)[1], r[c]) for c in paper.columns if c != "method"]
        for _, r in paper.iterrows()
    ]
    caption = (
        "Published numbers (Wang et al. 2024, Table 1), copied verbatim: not computed by kfbench. "
        "n: 45 Pexels and 117 DAVIS pairs."
    )
    return Table(header, rows, caption, [])


def to_markdown(table: Table) -> str:
    lines = [f"**{table.caption}**", ""] + [f"{line}  " for line in table.provenance]
    lines += [""] if table.provenance else []
    lines += ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(c.replace("|", r"\|") for c in row) + " |" for row in table.rows]
    if table.notes or table.missing:
        lines += [""] + [f"- {note}" for note in table.notes + table.missing_notes()]
    return "\n".join(lines) + "\n"


def to_csv(table: Table, path: Path) -> None:
    with replacing(path) as tmp:
        csv_frame(pd.DataFrame(table.rows, columns=table.header)).to_csv(tmp, index=False)


def to_latex(table: Table) -> str:
    lines = ["% " + latex(line) for line in table.provenance]
    lines += [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        r"\begin{tabular}{l" + "c" * (len(table.header) - 1) + "}",
        r"\toprule",
    ]
    lines.append(" & ".join(latex(h) for h in table.header) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(latex(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\caption{" + latex(table.caption) + "}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_tables(results: pd.DataFrame, folder: Path, confidence: float = 0.95) -> dict[str, Table]:
    """table1 and (when any newer metric was evaluated) table_newer per ground truth (``table1-<dataset>-<real set>``
    when there are several), and paper_table1, each .{md,csv,tex}, in ``folder``."""
    paper = paper_table()
    groups = table_groups(results)
    tables: dict[str, Table] = {}
    for stem, rows in groups:
        suffix = f"-{stem}" if len(groups) > 1 else ""
        tables[f"table1{suffix}"] = table1(rows, paper, confidence)
        if set(table_metrics("newer")) & set(rows["metric"]):
            tables[f"table_newer{suffix}"] = newer_table(rows, confidence)
    tables["paper_table1"] = published_table(paper)
    for name, table in tables.items():
        write_text(folder / f"{name}.md", to_markdown(table))
        to_csv(table, folder / f"{name}.csv")
        write_text(folder / f"{name}.tex", to_latex(table))
    return tables
