"""The data a run was made from, found again for evaluate and report: under ``--root``, the recorded
root, or ``$KFBENCH_DATA/<dataset>``, and checked to be the same data (the keyframes' and ground
truth's hashes recorded in each pair's meta.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kfbench.errors import KfbenchError
from kfbench.interfaces import Pair
from kfbench.registry import create_dataset
from kfbench.store.fingerprint import keyframes_sha256
from kfbench.utils.digests import arrays_sha256


class SourceData:
    """Datasets opened once per recorded (name, options), with ``root`` (when given) in place of the recorded root."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root
        self._open: dict[str, Any] = {}

    def options(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The recorded dataset options, moved to ``root`` or to the default root when the recorded one is gone."""
        options = dict(meta.get("dataset_options") or {})
        if "root" not in options:
            return options
        recorded = options["root"]
        if self.root is not None:
            moved: str | None = str(Path(self.root).expanduser())
        elif recorded is not None and not Path(recorded).expanduser().exists():
            moved = None  # the dataset's default root ($KFBENCH_DATA/<name> or the user cache), as `run` takes it
        else:
            return options
        manifest = options.get("manifest")
        if manifest and recorded and _inside(Path(manifest), Path(recorded)):
            base = Path(moved) if moved else None
            inside = Path(manifest).expanduser().relative_to(Path(recorded).expanduser())
            options["manifest"] = str(base / inside) if base else None
        options["root"] = moved
        return options

    def load(self, meta: dict[str, Any], pair_id: str, where: str) -> Pair:
        """The pair ``meta`` was made from, checked against its recorded hashes (``where`` names it in errors)."""
        options = self.options(meta)
        key = json.dumps([meta["dataset"], options], sort_keys=True, default=str)
        if key not in self._open:
            self._open[key] = create_dataset(meta["dataset"], **options)
        dataset = self._open[key]
        pair = dataset.load(pair_id)
        data = meta.get("data") or {}
        changed = [
            what
            for what, recorded, actual in (
                ("keyframes", data.get("keyframes_sha256"), lambda: keyframes_sha256(pair.first, pair.last)),
                (
                    "ground truth",
                    data.get("ground_truth_sha256"),
                    lambda: arrays_sha256(pair.ground_truth) if pair.ground_truth is not None else None,
                ),
            )
            if recorded is not None and actual() != recorded
        ]
        if changed:
            found = options.get("root") or "the default data folder"
            raise KfbenchError(
                f"{where}: the {' and '.join(changed)} found under {found} differ from those the run "
                "was made from (sha256 in meta.json); pass --root with the data the run used, "
                "or run again"
            )
        return pair


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.expanduser().relative_to(folder.expanduser())
    except ValueError:
        return False
    return True
