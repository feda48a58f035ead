"""Registries of methods and datasets: presets name a factory; options are validated against it.

Modelled on lm-evaluation-harness: a declarative preset per name, one factory per family, and
keyword options that override the preset. Unknown options are errors.
"""

from __future__ import annotations

import importlib
import inspect
import math
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, Literal, Union

from kfbench.errors import KfbenchError
from kfbench.presets import Preset, load_presets


@cache
def method_presets() -> dict[str, Preset]:
    return load_presets("methods")


@cache
def dataset_presets() -> dict[str, Preset]:
    return load_presets("datasets")


def list_methods() -> list[str]:
    """Names accepted by :func:`create_method`."""
    return sorted(method_presets())


def list_datasets() -> list[str]:
    """Names accepted by :func:`create_dataset`."""
    return sorted(dataset_presets())


def import_factory(spec: str) -> Callable[..., Any]:
    """Import ``package.module:Name``."""
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def lookup(presets: dict[str, Preset], name: str, kind: str) -> Preset:
    if name not in presets:
        raise KfbenchError(f"unknown {kind} '{name}'; valid: {', '.join(sorted(presets))}")
    return presets[name]


def _signatures(factory: Callable[..., Any]) -> list[Callable[..., Any]]:
    """The factory, or a class's ``__init__`` and, while it passes ``**options`` on, its bases' ``__init__``s."""
    if not isinstance(factory, type):
        return [factory]
    chain = []
    for cls in factory.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        chain.append(init)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(init).parameters.values()):
            break
    return chain


def accepted_options(factory: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """Keyword options a factory takes (its keyword-only parameters, with those of bases it passes ``**options`` to)."""
    accepted: dict[str, inspect.Parameter] = {}
    for init in reversed(_signatures(factory)):
        params = inspect.signature(init).parameters
        accepted.update({n: p for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY})
    return accepted


def resolve_options(
    preset: Preset, factory: Callable[..., Any], overrides: dict[str, Any], kind: str
) -> dict[str, Any]:
    """Preset defaults overridden by explicit options; every name must be one the factory takes."""
    accepted = accepted_options(factory)
    for source, names in (("preset " + str(preset.path), preset.options), ("option", overrides)):
        unknown = sorted(set(names) - set(accepted))
        if unknown:
            raise KfbenchError(
                f"unknown {source} {', '.join(unknown)} for {kind} '{preset.name}'; "
                f"valid options: {', '.join(sorted(accepted)) or '(none)'}"
            )
    resolved = {n: p.default for n, p in accepted.items() if p.default is not inspect.Parameter.empty}
    resolved.update(preset.options)
    resolved.update(overrides)
    missing = sorted(set(accepted) - set(resolved))
    if missing:
        raise KfbenchError(f"{kind} '{preset.name}' needs option(s) {', '.join(missing)}")
    return resolved


def create_method(name: str, **options: Any):
    """Build the interpolator registered as ``name``; ``options`` override its preset."""
    preset = lookup(method_presets(), name, "method")
    factory = import_factory(preset.factory)
    resolved = resolve_options(preset, factory, options, "method")
    method = factory(**resolved)
    method.name = name
    method.options = resolved
    return method


def create_dataset(name: str, root: str | None = None, **options: Any):
    """Build the pair dataset registered as ``name``; ``options`` override its preset."""
    preset = lookup(dataset_presets(), name, "dataset")
    factory = import_factory(preset.factory)
    if root is not None:
        options = {"root": root, **options}
    resolved = resolve_options(preset, factory, options, "dataset")
    dataset = factory(**resolved)
    dataset.name = name
    dataset.options = resolved
    return dataset


def option_names(kind: str, name: str) -> set[str]:
    presets = method_presets() if kind == "method" else dataset_presets()
    return set(accepted_options(import_factory(lookup(presets, name, kind).factory)))


def coerce_option(kind: str, name: str, option: str, text: str) -> Any:
    """Turn a command-line string into the type the factory's annotation asks for."""
    presets = method_presets() if kind == "method" else dataset_presets()
    factory = import_factory(lookup(presets, name, kind).factory)
    return coerce_for(factory, option, text, f"{kind} '{name}'")


# Sizes outside these bounds are typing mistakes that would exhaust memory (or mean nothing), not experiments.
SIZE_LIMITS = {"height": (1, 16384), "width": (1, 16384), "num_frames": (2, 4096), "num_pairs": (1, 1_000_000)}


def coerce_for(factory: Callable[..., Any], option: str, text: str, owner: str) -> Any:
    """Coerce ``text`` to the annotation of ``factory``'s keyword ``option``."""
    hints: dict[str, Any] = {}
    for init in reversed(_signatures(factory)):
        hints.update(typing.get_type_hints(init))
    try:
        value = _coerce(text, hints.get(option, str))
    except ValueError as exc:
        raise KfbenchError(f"option --{option.replace('_', '-')} of {owner}: {exc}") from None
    low, high = SIZE_LIMITS.get(option, (None, None))
    if isinstance(value, int) and low is not None and not low <= value <= high:
        raise KfbenchError(f"option --{option.replace('_', '-')} of {owner}: {value} is outside {low}..{high}")
    return value


def _coerce(text: str, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        if type(None) in args and text.lower() in ("none", "null", ""):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(text, arg)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors))
    if origin is Literal:
        choices = typing.get_args(hint)
        for choice in choices:
            if str(choice) == text:
                return choice
        raise ValueError(f"'{text}' is not one of {', '.join(map(str, choices))}")
    if hint is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"'{text}' is not a boolean (true/false)")
    if hint is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"'{text}' is not an integer") from None
    if hint is float:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"'{text}' is not a finite number")
        return number
    if origin in (list, tuple):
        return [_coerce(part, typing.get_args(hint)[0] if typing.get_args(hint) else str) for part in text.split(",")]
    return text
