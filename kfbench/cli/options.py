"""Extra flags (a method's or dataset's options) and pair lists as the commands read them."""

from __future__ import annotations

from typing import Any

from kfbench.errors import KfbenchError
from kfbench.registry import coerce_option, option_names


def parse_extra_flags(args: list[str]) -> dict[str, str]:
    """['--num-steps', '5', '--fusion=weighted', '--cpu-offload'] -> {'num_steps': '5', ...}."""
    flags: dict[str, str] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or len(token) < 3:
            raise KfbenchError(f"unexpected argument '{token}'; options are written --name value")
        name, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            else:
                value = "true"
        flags[name.replace("-", "_")] = value
        i += 1
    return flags


def parse_pairs(text: str | None) -> list[str] | None:
    """'a,b' -> ['a', 'b']; None when --pairs was not given."""
    if text is None:
        return None
    ids = [p.strip() for p in text.split(",") if p.strip()]
    if not ids:
        raise KfbenchError(f"--pairs '{text}' names no pair; pass comma-separated pair ids")
    return ids


def split_options(method: str, dataset: str, flags: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route each extra flag to the method or the dataset, typed by the factory's annotations.

    A name both accept (e.g. height) goes to the method; ``--dataset.NAME`` reaches the dataset's.
    """
    method_names, dataset_names = option_names("method", method), option_names("dataset", dataset)
    method_opts: dict[str, Any] = {}
    dataset_opts: dict[str, Any] = {}
    for name, text in flags.items():
        if name.startswith("dataset.") and name[8:] in dataset_names:
            dataset_opts[name[8:]] = coerce_option("dataset", dataset, name[8:], text)
        elif name in method_names:
            method_opts[name] = coerce_option("method", method, name, text)
        elif name in dataset_names:
            dataset_opts[name] = coerce_option("dataset", dataset, name, text)
        else:
            valid = sorted(method_names | dataset_names)
            raise KfbenchError(
                f"unknown option --{name.replace('_', '-')} for method '{method}' and dataset '{dataset}'; "
                f"valid: {', '.join('--' + v.replace('_', '-') for v in valid)}"
            )
    return method_opts, dataset_opts
