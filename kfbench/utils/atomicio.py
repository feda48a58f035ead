"""Files and folders that appear whole or not at all, and the removal of what dead writers left.

Everything is written under a temporary name in the destination's own folder,
``.tmp-<pid>-<host>-<random>-<name>``, then renamed into place (``.old-...`` for a folder being
replaced). The name says which process wrote it, so a later run removes the leftovers of dead
processes of this host, and never those of a process still running or of another host.
Safe against a killed process; no fsync, so not against a power cut.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kfbench.store.owners import HOST, is_alive

_LEFTOVER = re.compile(r"^\.(?:tmp|old)-(\d+)-([A-Za-z0-9]+)-[0-9a-f]{8}-")


def temp_path(path: Path, kind: str = "tmp") -> Path:
    """A unique name beside ``path`` owned by this process (the suffix is kept: writers infer formats from it)."""
    name = path.name
    if len(name.encode()) > 150:
        name = hashlib.sha1(name.encode()).hexdigest()[:16] + "".join(path.suffixes)[-20:]
    return path.with_name(f".{kind}-{os.getpid()}-{HOST}-{uuid.uuid4().hex[:8]}-{name}")


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path to write; renamed onto ``path`` when the block succeeds, removed when it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def write_text(path: Path, text: str) -> Path:
    """Replace ``path`` with ``text`` atomically."""
    with replacing(path) as tmp:
        tmp.write_text(text)
    return path


@contextmanager
def staging_folder(beside: Path) -> Iterator[Path]:
    """An empty temporary folder beside ``beside`` (same file system, so renames out of it are atomic), removed
    after."""
    tmp = temp_path(beside)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    finally:
        _remove(tmp)


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files and folders that dead processes of this host left in ``folder``."""
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = _LEFTOVER.match(entry.name)
        if match is None or match[2] != HOST or int(match[1]) == os.getpid() or is_alive(int(match[1])):
            continue
        _remove(entry)
        removed.append(entry)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
