"""Per-pair text prompts: a `--prompts FILE` CSV (pair id, prompt), a pairs CSV's prompt column, or the method's own."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kfbench.errors import KfbenchError
from kfbench.interfaces import Pair
from kfbench.utils.userfiles import read_text

HEADER_IDS = ("id", "pair", "pair_id")


def read_prompts(path: str | Path, pair_ids: list[str]) -> dict[str, str]:
    """pair id -> prompt from a two-column CSV (an optional header row 'id,prompt'); every id must be a pair of the
    dataset."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise KfbenchError(f"--prompts: no file {path}; pass a CSV with two columns: pair id, prompt")
    prompts: dict[str, str] = {}
    text = read_text(path, "--prompts")
    for line, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not row or (line == 1 and row[0].strip().lower() in HEADER_IDS):
            continue
        if len(row) != 2:
            raise KfbenchError(
                f"--prompts {path}, line {line}: expected 2 columns (pair id, prompt), got {len(row)}; quote "
                "prompts that contain commas"
            )
        pair_id, prompt = row[0].strip(), row[1].strip()
        if pair_id in prompts:
            raise KfbenchError(f"--prompts {path}, line {line}: pair '{pair_id}' appears twice")
        prompts[pair_id] = prompt
    unknown = sorted(set(prompts) - set(pair_ids))
    if unknown:
        raise KfbenchError(f"--prompts {path} names pair(s) this dataset lacks: {', '.join(unknown[:5])}")
    return prompts


def pair_prompt(pair: Pair, prompts: dict[str, str] | None) -> tuple[str | None, str]:
    """The prompt of ``pair`` and where it came from; None means the method's own ``prompt`` option."""
    if prompts and pair.id in prompts:
        return prompts[pair.id], "prompts file"
    if pair.meta.get("prompt"):
        return str(pair.meta["prompt"]), "pairs csv"
    return None, "method option"
