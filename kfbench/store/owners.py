"""Which process wrote a file: its pid, host and start time, and whether that process still runs."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path


def _pid_namespace() -> str:
    """The inode of this process's pid namespace (containers sharing a host name see different pids)."""
    try:
        return re.sub(r"\D", "", os.readlink("/proc/self/ns/pid"))
    except OSError:
        return ""


HOST = (re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:40] or "host") + _pid_namespace()
"""Where pids mean something: the machine's name (letters and digits, to sit in a file name) and pid namespace."""


def start_time(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), or None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def is_alive(pid: int, started: int | None = None) -> bool:
    """True while process ``pid`` of this host runs (and, with ``started``, is still the same process)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return True
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    return started is None or int(fields[19]) == started
