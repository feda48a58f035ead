"""Where feature-extractor weights come from: an explicit file, or the torch hub cache. Never a download.

Each metric declares the files it reads (``weights`` on its class); ``kfbench evaluate`` takes one
option per file, named by ``flag`` (``--inception-weights``), and keeps the paths by ``key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kfbench.errors import KfbenchError


@dataclass(frozen=True)
class WeightsFile:
    """A weights file a metric needs: what it is, its usual file names and where to get it."""

    what: str
    flag: str
    names: tuple[str, ...]
    source: str
    shipped_by: str = ""  # an installed package that ships the file (looked up there, not in the torch hub cache)

    @property
    def key(self) -> str:
        """Its name in ``EvalConfig.weights`` and as a Python parameter (``--i3d-weights`` -> ``i3d_weights``)."""
        return self.flag.removeprefix("--").replace("-", "_")

    def resolve(self, explicit: str | None) -> Path | str:
        """The file to load, or the reason it is missing (a str). A given path must exist."""
        if explicit:
            path = Path(explicit).expanduser()
            if not path.is_file():
                problem = "is a folder, not a file" if path.is_dir() else "does not exist"
                raise KfbenchError(
                    f"{self.what} file '{path}' given with {self.flag} {problem}; it is {self.source}; "
                    f"pass an existing file with {self.flag}"
                )
            return path
        if self.shipped_by:
            folder, where = shipped_folder(self.shipped_by), f"the installed package {self.shipped_by}"
        else:
            folder, where = hub_checkpoints(), "the torch hub cache"
        for name in self.names:
            if folder is not None and (folder / name).is_file():
                return folder / name
        return (
            f"no {self.what}: {self.flag} not given and {' / '.join(self.names)} not in {where} "
            f"({folder or 'not installed'}); get {self.source} and pass it with {self.flag}"
        )


def shipped_folder(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (None: not installed)."""
    from importlib.util import find_spec

    spec = find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def hub_checkpoints() -> Path:
    """The folder torch.hub (and so torchmetrics/torchvision) caches downloaded weights in."""
    import torch  # here, not at the top: listing metrics and their files must not import torch

    return Path(torch.hub.get_dir()) / "checkpoints"
