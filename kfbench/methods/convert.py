"""`kfbench convert-checkpoint`: released weights -> the compact safetensors form a method loads.

A method's preset names its converter (``converter = "module:function"``, the function taking
``(src: str, dst: Path, **keyword options) -> Path``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kfbench.errors import KfbenchError
from kfbench.registry import Registry, accepted_options, coerce_for, method_presets


def converters() -> Registry:
    """Method name -> its checkpoint converter (lazy), for the methods whose preset names one."""
    registry: Registry = Registry("checkpoint converter")
    for name, preset in method_presets().items():
        if preset.converter:
            registry.register(name, preset.converter, origin=str(preset.path), lazy=True)
    return registry


def convert_checkpoint(method: str, src: str, dst: Path, flags: dict[str, str]) -> Path:
    """Run the converter registered for ``method`` with string flags coerced to its keyword options."""
    registry = converters()
    if method not in registry:
        raise KfbenchError(
            f"no checkpoint converter for '{method}'; available: {', '.join(registry.names()) or '(none)'}"
        )
    converter = registry.get(method)
    accepted = accepted_options(converter)
    unknown = sorted(set(flags) - set(accepted))
    if unknown:
        raise KfbenchError(
            f"unknown option(s) {', '.join(unknown)} for convert-checkpoint --method {method}; "
            f"valid: {', '.join(sorted(accepted)) or '(none)'}"
        )
    options: dict[str, Any] = {k: coerce_for(converter, k, v, f"convert-checkpoint {method}") for k, v in flags.items()}
    return converter(src, Path(dst), **options)
