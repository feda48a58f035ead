"""`kfbench convert-checkpoint`: released weights -> the compact safetensors form a method loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kfbench.errors import KfbenchError
from kfbench.registry import accepted_options, coerce_for, import_factory

# method name -> "module:function(src: str, dst: Path, *, option=...) -> Path"; each family adds its own.
CONVERTERS: dict[str, str] = {
    "film": "kfbench.methods.film.weights:convert_film",
    "dynamicrafter": "kfbench.methods.dynamicrafter.checkpoint:convert_checkpoint",
    "ours": "kfbench.methods.svd.loading:convert_ours",
    "ours-wo-ra": "kfbench.methods.svd.loading:convert_ours_wo_ra",
}


def convert_checkpoint(method: str, src: str, dst: Path, flags: dict[str, str]) -> Path:
    """Run the converter registered for ``method`` with string flags coerced to its keyword options."""
    if method not in CONVERTERS:
        raise KfbenchError(
            f"no checkpoint converter for '{method}'; available: {', '.join(sorted(CONVERTERS)) or '(none)'}"
        )
    converter = import_factory(CONVERTERS[method])
    accepted = accepted_options(converter)
    unknown = sorted(set(flags) - set(accepted))
    if unknown:
        raise KfbenchError(
            f"unknown option(s) {', '.join(unknown)} for convert-checkpoint --method {method}; "
            f"valid: {', '.join(sorted(accepted)) or '(none)'}"
        )
    options: dict[str, Any] = {k: coerce_for(converter, k, v, f"convert-checkpoint {method}") for k, v in flags.items()}
    return converter(src, Path(dst), **options)
