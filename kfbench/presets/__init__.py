"""Declarative presets: one TOML file per method (methods/) and per dataset (datasets/).

The preset files live beside this module, inside the package (``kfbench/presets/<kind>/``), in a
source checkout and in an installed wheel alike.
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
    folder = _PACKAGE_DIR / kind
    if not folder.is_dir():
        raise KfbenchError(f"kfbench installation is incomplete: no {kind} presets in {folder}")
    return folder


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
