"""Declarative presets: one TOML file per method (methods/) and per dataset (datasets/).

In a source checkout the presets are the repository's top-level ``methods/`` and ``datasets/``
folders; an installed wheel carries the same files under ``kfbench/presets/``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from kfbench.errors import KfbenchError

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(kind: str) -> Path:
    """Folder holding the presets of ``kind`` ("methods", "datasets" or "reports")."""
    installed = _PACKAGE_DIR / "presets" / kind
    if installed.is_dir():
        return installed
    source = _PACKAGE_DIR.parent / ("reports/reference" if kind == "reports" else kind)
    if source.is_dir():
        return source
    raise KfbenchError(f"kfbench installation is incomplete: no {kind} presets in {installed} or {source}")


@dataclass(frozen=True)
class Preset:
    """A registered name: the factory that builds it, its description and default options."""

    name: str
    factory: str
    description: str
    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def load_presets(kind: str) -> dict[str, Preset]:
    presets: dict[str, Preset] = {}
    for path in sorted(resource_dir(kind).glob("*.toml")):
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        missing = {"name", "factory", "description"} - data.keys()
        if missing:
            raise KfbenchError(f"preset {path} lacks {', '.join(sorted(missing))}")
        presets[data["name"]] = Preset(
            name=data["name"],
            factory=data["factory"],
            description=data["description"],
            options=dict(data.get("options", {})),
            path=path,
        )
    return presets
