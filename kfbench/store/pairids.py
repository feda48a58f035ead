"""Pair ids (and the dataset and method names of results files) name folders, so each is checked before it names one."""

from __future__ import annotations

import unicodedata

from kfbench.errors import KfbenchError

MAX_BYTES = 200
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


def check_pair_id(pair_id: object, origin: str) -> str:
    """``pair_id`` when it can name one folder; else a one-line error naming it and ``origin``."""
    return check_folder_name(pair_id, "pair id", origin)


def check_folder_name(name: object, kind: str, origin: str) -> str:
    """``name`` (a pair id, dataset or method name read from a file) when it can name one folder; else a one-line
    error."""
    problem = _problem(name)
    if problem:
        raise KfbenchError(
            f"bad {kind} {name!r} ({origin}): {problem}; a {kind} names one folder: "
            "use letters, digits, '-', '_' and '.' (not first)"
        )
    return name  # type: ignore[return-value]


def _problem(pair_id: object) -> str | None:
    if not isinstance(pair_id, str):
        return f"it is a {type(pair_id).__name__}, not text"
    if not pair_id:
        return "it is empty"
    if pair_id in (".", ".."):
        return "it names a folder itself"
    if "/" in pair_id or "\\" in pair_id:
        return "it contains a path separator"
    if pair_id.startswith("."):
        return "it starts with a dot (hidden names are kfbench's own temporary files)"
    if any(unicodedata.category(c) in _HIDDEN_CATEGORIES for c in pair_id):
        return "it contains control or invisible characters"
    if len(pair_id.encode()) > MAX_BYTES:
        return f"it is longer than {MAX_BYTES} bytes"
    return None
