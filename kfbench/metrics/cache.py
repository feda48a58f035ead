"""Real-data features cached on disk per dataset, pair, resolution, extractor, frame list and weights content.

Each file is written under a unique temporary name and renamed into place; a file that cannot be
read back (damaged outside kfbench) is computed again and replaced.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.utils.atomicio import remove_leftovers, replacing
from kfbench.utils.digests import file_sha256


def weights_digest(path: Path) -> str:
    """sha256 of a weights file's content (the shared memo of kfbench.utils.digests)."""
    return file_sha256(path)


class FeatureCache:
    """``root/<dataset>/<extractor>/<H>x<W>/<pair>-<hash>.npy``; the hash covers everything else."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits = 0
        self.misses = 0
        self._tidied: set[Path] = set()

    def path(self, dataset: str, extractor: str, size: tuple[int, int], pair_id: str, key: dict[str, Any]) -> Path:
        digest = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
        safe = re.sub(r"[^\w.-]+", "_", extractor)
        return self.root / dataset / safe / f"{size[0]}x{size[1]}" / f"{pair_id}-{digest}.npy"

    def get(
        self,
        dataset: str,
        extractor: str,
        size: tuple[int, int],
        pair_id: str,
        key: dict[str, Any],
        compute: Callable[[], np.ndarray],
    ) -> np.ndarray:
        """The cached array, or ``compute()`` saved for next time."""
        path = self.path(dataset, extractor, size, pair_id, key)
        if path.is_file():
            try:
                value = np.load(path)
            except (OSError, ValueError, EOFError):
                pass
            else:
                self.hits += 1
                return value
        self.misses += 1
        value = compute()
        if path.parent not in self._tidied:
            remove_leftovers(path.parent)
            self._tidied.add(path.parent)
        with replacing(path) as tmp:
            np.save(tmp, value)
        return value
