"""Declarative presets: one TOML file per method (methods/), dataset (datasets/) and suite (suites/).

The preset files live beside this module, inside the package (``kfbench/presets/<kind>/``), in a
source checkout and in an installed wheel alike. Folders named in the ``KFBENCH_PLUGINS``
environment variable (separated as in PATH) add their own: ``<folder>/presets/<kind>/*.toml``, with
``<folder>`` importable so that their factories (``module:Name``) load from it. See
docs/adding-a-method.md.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from kfbench.errors import KfbenchError

_PACKAGE_DIR = Path(__file__).resolve().parent
PLUGINS_VARIABLE = "KFBENCH_PLUGINS"


def resource_dir(kind: str) -> Path:
    """Folder holding the built-in presets of ``kind`` ("methods", "datasets", "reports" or "suites")."""
    folder = _PACKAGE_DIR / kind
    if not folder.is_dir():
        raise KfbenchError(f"kfbench installation is incomplete: no {kind} presets in {folder}")
    return folder


@cache
def _plugin_folders(value: str) -> tuple[Path, ...]:
    folders = []
    for text in (t for t in value.split(os.pathsep) if t):
        folder = Path(text).expanduser().resolve()
        if not (folder / "presets").is_dir():
            raise KfbenchError(
                f"{PLUGINS_VARIABLE} names '{text}', which has no presets/ folder; "
                "give folders holding presets/<kind>/*.toml (see docs/adding-a-method.md)"
            )
        if str(folder) not in sys.path:
            sys.path.append(str(folder))  # after kfbench and the installed packages: a plugin cannot shadow them
        folders.append(folder)
    return tuple(folders)


def plugin_folders() -> tuple[Path, ...]:
    """The folders of ``KFBENCH_PLUGINS``, each made importable."""
    return _plugin_folders(os.environ.get(PLUGINS_VARIABLE, ""))


def preset_files(kind: str) -> list[Path]:
    """Every ``*.toml`` of ``kind``: the built-in ones, then each plugin folder's."""
    folders = [resource_dir(kind), *(f / "presets" / kind for f in plugin_folders())]
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.toml"))]


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise KfbenchError(f"preset {path} is not valid TOML: {exc}") from None


@dataclass(frozen=True)
class Preset:
    """A registered name: the factory that builds it, its description and default options.

    ``converter``: for methods, the ``module:function`` of ``kfbench convert-checkpoint --method NAME``.
    """

    name: str
    factory: str
    description: str
    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    converter: str | None = None


def load_presets(kind: str) -> list[Preset]:
    """The presets of ``kind`` in file order (built-in first); duplicates are left to the registry to refuse."""
    presets = []
    for path in preset_files(kind):
        data = read_toml(path)
        missing = {"name", "factory", "description"} - data.keys()
        if missing:
            raise KfbenchError(f"preset {path} lacks {', '.join(sorted(missing))}")
        presets.append(
            Preset(
                name=data["name"],
                factory=data["factory"],
                description=data["description"],
                options=dict(data.get("options", {})),
                path=path,
                converter=data.get("converter"),
            )
        )
    return presets
