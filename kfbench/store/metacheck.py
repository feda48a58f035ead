"""A pair's meta.json, read as untrusted input: the fields evaluate and report use, checked before use."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from kfbench.errors import KfbenchError
from kfbench.utils.videoio import check_fps


def checked_meta(path: Path) -> dict[str, Any]:
    """meta.json at ``path`` with ``dataset`` (text), ``dataset_options``/``options``/``pair`` (objects),
    ``frame_times`` (finite numbers) and any fps (a number kfbench can encode) as kfbench writes them."""

    def bad(why: str) -> KfbenchError:
        return KfbenchError(
            f"{path}: {why}; this pair folder was not written by kfbench as it is: run it again with --overwrite"
        )

    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(f"not a UTF-8 JSON file ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise bad("not a JSON object")
    if not isinstance(meta.get("dataset"), str):
        raise bad("'dataset' (the dataset name) is missing or not text")
    for key in ("dataset_options", "options", "pair"):
        if not isinstance(meta.get(key, {}), dict):
            raise bad(f"'{key}' is not an object")
    times = meta.get("frame_times")
    if times is not None and not (isinstance(times, list) and all(_number(t) for t in times)):
        raise bad("'frame_times' is not a list of numbers")
    for fps in (meta.get("options", {}).get("fps"), meta.get("pair", {}).get("fps")):
        if fps is not None:
            check_fps(fps, f"{path}: fps")
    return meta


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
