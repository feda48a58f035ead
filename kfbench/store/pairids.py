"""Pair ids name folders of the run store, so every dataset checks the ids it makes."""

from __future__ import annotations

import unicodedata

from kfbench.errors import KfbenchError

MAX_BYTES = 200
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


def check_pair_id(pair_id: object, origin: str) -> str:
    """``pair_id`` when it can name one folder; else a one-line error naming it and ``origin``."""
    problem = _problem(pair_id)
    if problem:
        raise KfbenchError(
            f"bad pair id {pair_id!r} ({origin}): {problem}; a pair id names one folder: "
            "use letters, digits, '-', '_' and '.' (not first)"
        )
    return pair_id  # type: ignore[return-value]


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
