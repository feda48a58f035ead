"""Text written for another program, escaped for it: spreadsheets (CSV cells), LaTeX, URLs, matplotlib.

Names in kfbench's tables (pair ids, method and dataset names, reasons) come from files and folders a
user or a downloaded dataset chose, so none of them may reach another program as syntax.
"""

from __future__ import annotations

import urllib.parse

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting with one of these is evaluated by spreadsheets (a formula, or a DDE call after a tab or CR)."""

_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\textasciitilde{}",
    "\n": " ",
    "\r": " ",
    "\t": " ",
    "↓": r"$\downarrow$",
    "↑": r"$\uparrow$",
    "—": "--",
    "†": r"\dag{}",
}


def csv_cell(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet evaluates: a leading formula character (or quote) gets a ``'`` before it.

    Reversible by :func:`csv_uncell`: every cell starting with ``'`` gained exactly one.
    """
    return "'" + text if text.startswith((*FORMULA_STARTS, "'")) else text


def csv_uncell(text: str) -> str:
    """The text :func:`csv_cell` was given."""
    return text[1:] if text.startswith("'") else text


def csv_frame(table: pd.DataFrame, undo: bool = False) -> pd.DataFrame:
    """Every text cell of ``table`` through :func:`csv_cell` (or, with ``undo``, :func:`csv_uncell`)."""
    cell = csv_uncell if undo else csv_cell
    out = table.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = pd.Series(
                [cell(v) if isinstance(v, str) else v for v in out[column]], index=out.index, dtype=object
            )
    return out


def latex(text: str) -> str:
    """``text`` as LaTeX that typesets those characters: every special escaped, so no ``^^`` or ``\\`` reaches TeX."""
    return "".join(_LATEX.get(c, c) for c in text)


def url_path(relative: str) -> str:
    """A relative POSIX path as a URL path: ``#``, ``%``, ``?``, spaces and non-ASCII percent-encoded."""
    return urllib.parse.quote(relative, safe="/")


def plain_text(text: str) -> str:
    """``text`` for matplotlib, shown as written: each ``$`` escaped, so no mathtext is parsed from data."""
    return text.replace("$", r"\$")
