"""Training log: one CSV row per step (loss, learning rate, gradient norm), mirrored to TensorBoard when installed."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

COLUMNS = ("step", "loss", "lr", "grad_norm")


def tensorboard_available() -> bool:
    return importlib.util.find_spec("tensorboard") is not None or importlib.util.find_spec("tensorboardX") is not None


class CsvLog:
    """Appends rows to ``path``; on resume, rows past the resumed step (written after the last checkpoint) are
    dropped."""

    def __init__(self, path: Path, *, resume_step: int | None) -> None:
        self.path = path
        kept: list[dict[str, str]] = []
        if resume_step is not None and path.is_file():
            with open(path, newline="") as fh:
                kept = [row for row in csv.DictReader(fh) if int(row["step"]) <= resume_step]
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, COLUMNS)
            writer.writeheader()
            writer.writerows(kept)

    def write(self, **row: float) -> None:
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, COLUMNS).writerow(row)
