"""results.{csv,parquet} and per_frame.{csv,parquet}: read checked, merged under a lock, written atomically.

A merge keeps every saved row that was not recomputed: results rows are keyed by (dataset, method,
metric), per-frame rows by (dataset, method, pair, frame) with one column per metric, so
``evaluate --metrics ssim`` after ``--metrics psnr`` keeps the psnr rows. Two evaluates on one store
merge one after the other: each holds the store's lock file ``.claim-results`` (kfbench.store.claims:
a lock whose process died is taken over) while it reads, merges and replaces the tables. Text cells
are written spreadsheet-safe (kfbench.utils.escaping.csv_cell) and read back unescaped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from kfbench.errors import KfbenchError
from kfbench.metrics.registry import metric_names
from kfbench.metrics.tidy import COLUMNS, LATER_COLUMNS
from kfbench.store.claims import Held, try_claim
from kfbench.store.pairids import check_folder_name
from kfbench.utils.atomicio import remove_leftovers, replacing
from kfbench.utils.escaping import csv_frame

RESULTS = "results"
PER_FRAME = "per_frame"
LOCK = "results"
LOCK_WAIT_S = 600.0
FRAME_KEYS = ["dataset", "method", "pair", "frame"]
FRAME_COLUMNS = [*FRAME_KEYS, "generated_frame", "truth_frame", "truth_frames", "time"]


@contextmanager
def results_lock(out: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the store's results lock (waiting while another live evaluate holds it)."""
    deadline = time.monotonic() + wait_s
    while isinstance(claim := try_claim(out, LOCK), Held):
        if time.monotonic() > deadline:
            raise KfbenchError(f"results of {out} are locked: {claim}")
        time.sleep(0.1)
    try:
        yield
    finally:
        claim.release()


def merge_saved(out: Path, new: pd.DataFrame, name: str, recomputed: set[tuple[str, ...]]) -> pd.DataFrame:
    """Merge ``new`` into the saved table ``name`` (replacing only the rows or cells recomputed) and write it."""
    remove_leftovers(out)
    if name == RESULTS:
        old = read_table(out / f"{name}.csv", COLUMNS)
        if not old.empty:
            keys = zip(old["dataset"], old["method"], old["metric"])
            old = old[[k not in recomputed for k in keys]]
            new = pd.concat([old, new], ignore_index=True) if not old.empty else new
        for column in ("missing_reason", "extractor", "fingerprint"):
            new[column] = text_column(new[column])
        order = {m: i for i, m in enumerate(metric_names())}
        new = new.sort_values(
            ["dataset", "method", "metric"], key=lambda c: c.map(order) if c.name == "metric" else c, kind="stable"
        ).reset_index(drop=True)
    else:
        new = _merge_frames(read_table(out / f"{name}.csv", FRAME_COLUMNS), new, recomputed)
    write_table(out, name, new)
    return new


def _merge_frames(old: pd.DataFrame, new: pd.DataFrame, recomputed: set[tuple[str, ...]]) -> pd.DataFrame:
    """Per-frame rows: a recomputed (dataset, method, metric) replaces that metric's column on those rows only."""
    if old.empty:
        return new
    if new.empty:
        new = pd.DataFrame(columns=FRAME_COLUMNS)
    old = old.copy()
    for dataset, method, metric in recomputed:
        if metric in old.columns:
            old.loc[(old["dataset"] == dataset) & (old["method"] == method), metric] = float("nan")
    metrics = [c for c in old.columns if c not in FRAME_COLUMNS]
    kept = old[old[metrics].notna().any(axis=1)] if metrics else old.iloc[:0]
    merged = pd.concat([kept, new], ignore_index=True)
    merged = merged.groupby(FRAME_KEYS, sort=False, dropna=False).last().reset_index()
    order = FRAME_COLUMNS + [c for c in merged.columns if c not in FRAME_COLUMNS]
    return merged[order].sort_values(FRAME_KEYS[:3] + ["frame"], kind="stable").reset_index(drop=True)


def write_table(out: Path, name: str, table: pd.DataFrame) -> None:
    with replacing(out / f"{name}.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    with replacing(out / f"{name}.csv") as tmp:
        csv_frame(table).to_csv(tmp, index=False)


def read_table(csv: Path, columns: list[str]) -> pd.DataFrame:
    """A saved table (empty when absent); a damaged one (cut short, columns, keys or names wrong) is an error."""
    if not csv.is_file():
        return pd.DataFrame()
    text = csv.read_bytes()
    if text.strip() == b"":  # a table without rows or columns, as pandas writes it
        return pd.DataFrame()
    try:
        table = pd.read_csv(csv, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except ValueError as exc:  # pandas ParserError, EmptyDataError and UnicodeDecodeError are ValueErrors
        problem = f"cannot be parsed ({str(exc).splitlines()[0]})"
    else:
        table = csv_frame(table, undo=True)
        for column, value in LATER_COLUMNS.items():
            if column in columns and column not in table.columns:
                table[column] = value
        problem = _table_problem(table, text, columns)
    if problem:
        raise KfbenchError(
            f"{csv} is damaged: {problem}; kfbench never merges it: restore it, or delete it "
            f"(and {csv.with_suffix('.parquet').name}) and run `kfbench evaluate` again"
        )
    return table


def _table_problem(table: pd.DataFrame, text: bytes, columns: list[str]) -> str | None:
    if not text.endswith(b"\n"):
        return "it does not end with a newline (cut short)"
    absent = [c for c in columns if c not in table.columns]
    if absent:
        return f"column(s) {', '.join(absent)} missing"
    names = [c for c in ("dataset", "method", "method_a", "method_b", "pair") if c in columns]
    keys = table[names + (["metric"] if "metric" in columns else [])]
    if keys.isna().any().any():
        return f"{int(keys.isna().any(axis=1).sum())} row(s) lack their dataset, method, pair or metric"
    for column in names:
        for value in table[column].unique():
            try:
                check_folder_name(value, column, "a name in this table")
            except KfbenchError as exc:
                return str(exc).split(";")[0]
    if "metric" in columns and not table["metric"].isin(metric_names()).all():
        return f"unknown metric(s) {', '.join(sorted(set(map(str, table['metric'])) - set(metric_names())))}"
    numeric = [c for c in ("value", "ci_low", "ci_high", "n") if c in columns]
    numeric += [c for c in ("frame", "time", "truth_frames") if c in columns]
    if len(table) and not all(pd.api.types.is_numeric_dtype(table[c]) for c in numeric):  # header only: no values
        return f"{', '.join(numeric)} must be numbers"
    if "settings" in columns:
        for settings in table["settings"]:
            if not _json_object(settings):
                return f"settings {str(settings)[:40]!r} is not a JSON object"
    return None


def _json_object(text: object) -> bool:
    if isinstance(text, float) and pd.isna(text):
        return True
    try:
        return isinstance(json.loads(str(text)), dict)
    except ValueError:
        return False


def text_column(column: pd.Series) -> pd.Series:
    """A text column with empty strings where pandas read no value (an all-empty column reads as float NaN)."""
    return column.astype(object).where(column.notna(), "").astype(str)


def load_results(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The saved results and per-frame tables of a run store (each checked as it is read)."""
    if not (out / f"{RESULTS}.csv").is_file():
        raise KfbenchError(f"no results in '{out}'; run `kfbench evaluate --out {out}` first")
    results = read_table(out / f"{RESULTS}.csv", COLUMNS)
    if results.empty:
        raise KfbenchError(f"{out / f'{RESULTS}.csv'} holds no results; run `kfbench evaluate --out {out}` again")
    results["missing_reason"] = text_column(results["missing_reason"])
    results["settings"] = text_column(results["settings"])
    return results, read_table(out / f"{PER_FRAME}.csv", FRAME_COLUMNS)
