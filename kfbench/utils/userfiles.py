"""The files and folders a user names on the command line, opened with one-line errors instead of tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kfbench.errors import KfbenchError


def output_folder(path: Path, option: str) -> Path:
    """``path`` as an existing folder (created with its parents), or an error naming ``option``."""
    if not str(path):
        raise KfbenchError(f"{option} is empty; pass a folder path")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise KfbenchError(
            f"{option} {path}: a file is in the way (a folder is needed there); pass another folder"
        ) from None
    except OSError as exc:
        raise KfbenchError(
            f"{option} {path}: cannot create the folder ({exc.strerror}); pass a writable folder"
        ) from None
    return path


def output_file(path: Path, option: str) -> Path:
    """``path`` as a file that can be written: not a folder, its parent folder created."""
    if not str(path) or path.is_dir():
        raise KfbenchError(f"{option} '{path}' is a folder; pass a file path")
    output_folder(path.parent, option)
    return path


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of the file ``what`` (e.g. 'baseline'), or an error saying why it cannot be read.

    A leading byte-order mark is dropped; CRLF line ends are the caller's (csv and json accept them).
    """
    if not path.exists():
        raise KfbenchError(f"{what} {path} does not exist")
    if path.is_dir():
        raise KfbenchError(f"{what} {path} is a folder; pass a file")
    try:
        return path.read_bytes().decode("utf-8-sig")  # a byte-order mark (Excel's "CSV UTF-8") is dropped
    except UnicodeDecodeError as exc:
        raise KfbenchError(
            f"{what} {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); save it as "
            "UTF-8"
        ) from None
    except OSError as exc:
        raise KfbenchError(f"{what} {path} cannot be read ({exc.strerror})") from None


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in the file ``what``, or an error naming the file and the first problem."""
    try:
        data = json.loads(read_text(path, what))
    except json.JSONDecodeError as exc:
        raise KfbenchError(
            f"{what} {path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise KfbenchError(f"{what} {path} must hold a JSON object {{...}}, not a {type(data).__name__}")
    return data
