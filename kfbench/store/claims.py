"""Per-pair claims: two runs on one run store (or two torchrun ranks) never compute a pair at once.

A claim is the file ``.claim-<pair id>`` in the method folder, created with O_EXCL and holding its
owner (pid, host, process start time, a random token). A claim whose owner died on this host is
taken over; one held by a live process, or by a process on another host, is left alone.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from kfbench.store.owners import HOST, is_alive, start_time
from kfbench.utils.atomicio import temp_path

PREFIX = ".claim-"
UNWRITTEN_GRACE_S = 60.0
"""An empty claim (its creator died between creating and writing it) counts as stale after this long."""


@dataclass(frozen=True)
class Owner:
    pid: int
    host: str
    started: int | None
    token: str

    def alive(self) -> bool:
        """False only when the owner is known to be dead (same host, process gone or pid reused)."""
        return self.host != HOST or is_alive(self.pid, self.started)

    def __str__(self) -> str:
        return f"pid {self.pid} on host {self.host}"


@dataclass(frozen=True)
class Claim:
    """A pair this process holds until :meth:`release`."""

    path: Path
    owner: Owner

    def release(self) -> None:
        if _read(self.path) == self.owner:
            self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Held:
    """A pair another live process is computing."""

    path: Path
    owner: Owner | None

    def __str__(self) -> str:
        holder = str(self.owner) if self.owner else "a process that is starting"
        return f"being computed by {holder} (claim {self.path}; delete it if that run is dead)"


def try_claim(folder: Path, pair_id: str) -> Claim | Held:
    """Claim ``pair_id`` in ``folder``, taking over a claim whose owner is dead."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{PREFIX}{pair_id}"
    me = Owner(os.getpid(), HOST, start_time(os.getpid()), uuid.uuid4().hex)
    for _ in range(5):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _read(path)
            if holder is None and not path.exists():
                continue  # released meanwhile
            if not _stale(path, holder):
                return Held(path, holder)
            _break(path, holder)
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(asdict(me)))
        return Claim(path, me)
    return Held(path, _read(path))


def _read(path: Path) -> Owner | None:
    try:
        return Owner(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _stale(path: Path, holder: Owner | None) -> bool:
    if holder is not None:
        return not holder.alive()
    try:
        return time.time() - path.stat().st_mtime > UNWRITTEN_GRACE_S
    except FileNotFoundError:
        return False


def _break(path: Path, stale: Owner | None) -> None:
    """Remove the stale claim at ``path``, putting back a fresh one taken by mistake (a racing takeover)."""
    grave = temp_path(path, "old")
    try:
        os.rename(path, grave)
    except FileNotFoundError:
        return
    if _read(grave) != stale:
        try:
            os.link(grave, path)
        except FileExistsError:
            pass
    grave.unlink(missing_ok=True)
