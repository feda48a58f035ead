"""Zip archives whose bytes depend only on their entries (no clock time stamped on them)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

# The earliest time a zip entry can carry; zipfile.writestr with a name stamps the current time instead.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def write_zip(path: Path, entries: Iterable[tuple[str, bytes | str]], compression: int = zipfile.ZIP_STORED) -> Path:
    """Write ``entries`` (name, content) in order to the zip ``path``: the same entries always give the same bytes."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return path
