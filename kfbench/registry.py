"""One generic registry, and the registries of methods and datasets built on it.

Modelled on lm-evaluation-harness: a name maps to an object or to a lazy ``"module:attr"`` name
imported on first use; a name registered twice is an error naming both origins; an unknown name
is an error listing the valid ones and the closest matches. Methods and datasets are declarative
presets (one TOML file each, see :mod:`kfbench.presets`) naming a factory, whose keyword options
they override. Unknown options are errors.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import os
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, Literal, TypeVar, Union

from kfbench.errors import KfbenchError
from kfbench.presets import PLUGINS_VARIABLE, Preset, load_presets

T = TypeVar("T")


def import_factory(spec: str) -> Any:
    """Import ``package.module:Name`` (a lazy registry entry)."""
    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise KfbenchError(f"'{spec}' is not a 'package.module:Name' reference")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise  # a dependency of the module is missing: the caller reports it
        raise KfbenchError(f"cannot import '{spec}': no module '{exc.name}'") from None
    if not hasattr(module, attr):
        raise KfbenchError(f"cannot import '{spec}': module '{module_name}' has no '{attr}'")
    return getattr(module, attr)


def close_matches(name: str, names: list[str]) -> str:
    """' Did you mean 'x'?' for the names close to ``name``, or ''."""
    matches = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f". Did you mean {' or '.join(repr(m) for m in matches)}?" if matches else ""


class Registry(Generic[T]):
    """Names of one ``kind`` mapped to objects, or to ``"module:attr"`` names imported on first use."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}
        self._origins: dict[str, str] = {}

    def register(self, name: str, target: T | str, *, origin: str = "", lazy: bool = False) -> None:
        """Add ``name``; with ``lazy`` the target is a ``"module:attr"`` name. A name already taken is an error."""
        if name in self._entries:
            where = " and ".join(o for o in (self._origins[name], origin) if o) or "twice"
            raise KfbenchError(f"{self.kind} '{name}' is registered twice ({where}); rename one of them")
        self._entries[name] = _Lazy(target) if lazy else target  # type: ignore[assignment]
        self._origins[name] = origin

    def get(self, name: str) -> T:
        """The object registered as ``name`` (imported now if lazy); unknown names are an error with suggestions."""
        if name not in self._entries:
            raise self.unknown(name)
        entry = self._entries[name]
        if isinstance(entry, _Lazy):
            entry = self._entries[name] = import_factory(entry.spec)
        return entry  # type: ignore[return-value]

    def unknown(self, name: str, what: str = "") -> KfbenchError:
        names = sorted(self._entries)
        return KfbenchError(
            f"unknown {what or self.kind} '{name}'; valid: {', '.join(names) or '(none)'}{close_matches(name, names)}"
        )

    def origin(self, name: str) -> str:
        return self._origins[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, name: str) -> T:
        if name not in self._entries:
            raise KeyError(name)
        return self.get(name)

    def items(self) -> list[tuple[str, T]]:
        return [(name, self.get(name)) for name in self.names()]

    def values(self) -> list[T]:
        return [self.get(name) for name in self.names()]


class _Lazy:
    __slots__ = ("spec",)

    def __init__(self, spec: str) -> None:
        self.spec = spec


@cache
def _preset_registry(kind: str, label: str, plugins: str) -> Registry[Preset]:
    """The presets of ``kind``; ``plugins``, the value of KFBENCH_PLUGINS they were read with, keys the cache."""
    registry: Registry[Preset] = Registry(label)
    for preset in load_presets(kind):
        registry.register(preset.name, preset, origin=str(preset.path))
    return registry


def method_presets() -> Registry[Preset]:
    return _preset_registry("methods", "method", os.environ.get(PLUGINS_VARIABLE, ""))


def dataset_presets() -> Registry[Preset]:
    return _preset_registry("datasets", "dataset", os.environ.get(PLUGINS_VARIABLE, ""))


def list_methods() -> list[str]:
    """Names accepted by :func:`create_method`."""
    return method_presets().names()


def list_datasets() -> list[str]:
    """Names accepted by :func:`create_dataset`."""
    return dataset_presets().names()


def lookup(presets: Registry[Preset], name: str, kind: str) -> Preset:
    if name not in presets:
        raise presets.unknown(name, kind)
    return presets.get(name)


def method_class(name: str) -> Any:
    """The factory (for every family a class) that method ``name``'s preset names."""
    return import_factory(lookup(method_presets(), name, "method").factory)


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


def component_names(factory: Callable[..., Any]) -> set[str]:
    """The loaded parts a method factory takes (its parameters before the ``*``: e.g. ``model``, ``pipeline``)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD,)
    return {
        n
        for init in _signatures(factory)
        for n, p in inspect.signature(init).parameters.items()
        if p.kind in kinds and n != "self"
    }


def create_method(name: str, components: dict[str, Any] | None = None, **options: Any):
    """Build the interpolator registered as ``name``; ``options`` override its preset.

    ``components``: parts already built (loaded, or random weights), passed in by name as a diffusers
    pipeline takes its components; the method then loads none of its own.
    """
    preset = lookup(method_presets(), name, "method")
    factory = import_factory(preset.factory)
    resolved = resolve_options(preset, factory, options, "method")
    unknown = sorted(set(components or {}) - component_names(factory))
    if unknown:
        valid = ", ".join(sorted(component_names(factory))) or "(none)"
        raise KfbenchError(f"method '{name}' takes no component {', '.join(unknown)}; its components: {valid}")
    method = factory(**(components or {}), **resolved)
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


# One line for options many families share; a family documents its own in its class docstring
# as ``name`` (what it does), the form :func:`describe_options` reads.
COMMON_OPTION_HELP = {
    "model": "Hugging Face repo id or local folder of the base model",
    "checkpoint": "weights file or folder (read as data)",
    "device": "torch device (default: the first GPU, else cpu)",
    "dtype": "compute precision",
    "height": "frame height in pixels",
    "width": "frame width in pixels",
    "min_guidance_scale": "classifier-free guidance scale at the first frame",
    "max_guidance_scale": "classifier-free guidance scale at the last frame",
    "motion_bucket_id": "motion conditioning (higher: more motion)",
    "noise_aug_strength": "noise added to the conditioning image",
    "decode_chunk_size": "frames the VAE decodes at once (none: all)",
    "num_pairs": "number of keyframe pairs",
    "num_inference_steps": "sampler steps",
    "num_frames": "frames per clip, keyframes included",
    "root": "dataset folder",
    "cpu_offload": "keep idle model parts on the CPU (less GPU memory, slower)",
    "compile": "torch.compile the network",
    "prompt": "text prompt for every pair",
    "fps": "frame-rate conditioning",
}


@dataclass(frozen=True)
class OptionInfo:
    """One option of a method or dataset: its flag, type, effective default (preset over signature) and help."""

    name: str
    type: str
    default: Any
    help: str
    from_preset: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def line(self, width: int = 28) -> str:
        default = "(required)" if self.default is inspect.Parameter.empty else f"default {self.default!r}"
        if self.from_preset:
            default += " (preset)"
        help_text = f"  {self.help}" if self.help else ""
        return f"{self.flag:<{width}} {self.type}, {default}.{help_text}"


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "{" + "|".join(map(str, typing.get_args(hint))) + "}"
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint) if a is not type(None)) + " or none"
    if origin in (list, tuple):
        args = typing.get_args(hint)
        return f"comma-separated {_type_name(args[0]) if args else 'str'}"
    return getattr(hint, "__name__", str(hint))


def _docstring_help(factory: Any) -> dict[str, str]:
    """``name`` (text) phrases of the factory's and its bases' docstrings, as one-line help per option."""
    found: dict[str, str] = {}
    for cls in reversed(getattr(factory, "__mro__", (factory,))):
        doc = " ".join((inspect.getdoc(cls) or "").split())
        for option, text in re.findall(r"``(\w+)``\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)", doc):
            found[option] = text
    return found


def describe_options(kind: str, name: str) -> list[OptionInfo]:
    """The options of method or dataset ``name`` (``kind``): the one source of `--help`, `list -v` and errors."""
    presets = method_presets() if kind == "method" else dataset_presets()
    preset = lookup(presets, name, kind)
    factory = import_factory(preset.factory)
    hints: dict[str, Any] = {}
    for init in reversed(_signatures(factory)):
        hints.update(typing.get_type_hints(init))
    documented = {**COMMON_OPTION_HELP, **_docstring_help(factory)}
    rows = []
    for option, param in sorted(accepted_options(factory).items()):
        in_preset = option in preset.options
        default = preset.options[option] if in_preset else param.default
        hint = _type_name(hints.get(option, type(default) if in_preset else str))
        rows.append(OptionInfo(option, hint, default, documented.get(option, ""), in_preset))
    return rows


def coerce_option(kind: str, name: str, option: str, text: str | None) -> Any:
    """Turn a command-line string into the type the factory's annotation asks for."""
    presets = method_presets() if kind == "method" else dataset_presets()
    factory = import_factory(lookup(presets, name, kind).factory)
    return coerce_for(factory, option, text, f"{kind} '{name}'")


# Sizes outside these bounds are typing mistakes that would exhaust memory (or mean nothing), not experiments.
SIZE_LIMITS = {"height": (1, 16384), "width": (1, 16384), "num_frames": (2, 4096), "num_pairs": (1, 1_000_000)}


def coerce_for(factory: Callable[..., Any], option: str, text: str | None, owner: str) -> Any:
    """Coerce ``text`` to the annotation of ``factory``'s keyword ``option``; None: the flag came without a value."""
    hints: dict[str, Any] = {}
    for init in reversed(_signatures(factory)):
        hints.update(typing.get_type_hints(init))
    hint = hints.get(option, str)
    if text is None:
        if hint is bool or hint == bool | None:
            return True
        raise KfbenchError(
            f"option --{option.replace('_', '-')} of {owner} needs a value ({_type_name(hint)}): "
            f"--{option.replace('_', '-')} VALUE"
        )
    try:
        value = _coerce(text, hint)
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
