"""Extra flags (a method's or dataset's options) and pair lists as the commands read them."""

from __future__ import annotations

import shutil
import textwrap
from typing import Any

import click
import typer.core

from kfbench.errors import KfbenchError
from kfbench.registry import (
    close_matches,
    coerce_option,
    dataset_presets,
    describe_options,
    method_presets,
    option_names,
)


def parse_extra_flags(args: list[str]) -> dict[str, str | None]:
    """['--num-steps', '5', '--fusion=weighted', '--cpu-offload'] -> {'num_steps': '5', ..., 'cpu_offload': None}.

    None: the flag came without a value (a switch, or a forgotten value that coercion reports).
    """
    flags: dict[str, str | None] = {}
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
                value = None
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


def command_flags(ctx: click.Context) -> list[str]:
    """The long flags of the command itself (``--out``, ``--limit``, ...), for error messages."""
    return sorted(o for p in ctx.command.params for o in p.opts if o.startswith("--"))


def split_options(
    method: str, dataset: str, flags: dict[str, str | None], own: list[str] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route each extra flag to the method or the dataset, typed by the factory's annotations.

    A name both accept (e.g. height) goes to the method; ``--dataset.NAME`` reaches the dataset's.
    ``own``: the command's own flags, listed with the others when a flag is unknown.
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
            flag = "--" + name.replace("_", "-")
            preset_flags = ["--" + v.replace("_", "-") for v in sorted(method_names | dataset_names)]
            raise KfbenchError(
                f"unknown option {flag} for method '{method}' and dataset '{dataset}'; "
                f"this command's options: {', '.join(own) or '(none)'}; "
                f"the method's and dataset's: {', '.join(preset_flags)}{close_matches(flag, [*own, *preset_flags])} "
                f"(kfbench run -m {method} -d {dataset} --help describes them)"
            )
    return method_opts, dataset_opts


def options_help(kind: str, name: str) -> str:
    """The options of one method or dataset, one line each, as `--help` and `list -v` print them."""
    rows = describe_options(kind, name)
    if not rows:
        return f"Options of {kind} '{name}': none."
    width = max(shutil.get_terminal_size().columns, 60)
    lines = (textwrap.fill(row.line(), width, initial_indent="  ", subsequent_indent=" " * 31) for row in rows)
    return "\n".join([f"Options of {kind} '{name}' (--name value):", *lines])


class PresetHelpCommand(typer.core.TyperCommand):
    """A command whose `--help` also lists the options of the method (-m) and dataset (-d) named before it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["kfbench.args"] = list(args)
        return super().parse_args(ctx, args)

    def get_help(self, ctx: click.Context) -> str:
        text = super().get_help(ctx)
        args = ctx.meta.get("kfbench.args", [])
        extra = []
        for kind, flags, presets in (
            ("method", ("-m", "--method"), method_presets()),
            ("dataset", ("-d", "--dataset"), dataset_presets()),
        ):
            name = _flag_value(args, flags)
            if name is not None:
                extra.append(options_help(kind, name) if name in presets else str(presets.unknown(name, kind)))
        if not extra:
            extra.append("Add -m METHOD or -d DATASET before --help to list its options.")
        return "\n\n".join([t for t in (text.rstrip("\n"),) if t] + extra) + "\n"


def _flag_value(args: list[str], flags: tuple[str, ...]) -> str | None:
    for i, token in enumerate(args):
        if token in flags and i + 1 < len(args):
            return args[i + 1]
        for flag in flags:
            if flag.startswith("--") and token.startswith(flag + "="):
                return token[len(flag) + 1 :]
    return None
