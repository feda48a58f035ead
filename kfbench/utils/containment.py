"""Paths built from file contents or followed on disk stay inside the folder they belong to."""

from __future__ import annotations

from pathlib import Path

from kfbench.errors import KfbenchError


def leads_outside(path: Path, root: Path) -> bool:
    """True when ``path`` (after every symlink on the way) lies outside ``root`` (after its own)."""
    return not path.resolve().is_relative_to(root.resolve())


def contained(path: Path, root: Path, what: str) -> Path:
    """``path`` when it resolves inside ``root``; else a one-line error naming ``what`` and where it leads."""
    if leads_outside(path, root):
        raise KfbenchError(
            f"{what} {path} leads outside {root} (to {path.resolve()}, a symlink or '..'); "
            "kfbench reads and writes only inside that folder: replace the link with a real folder or move it away"
        )
    return path
