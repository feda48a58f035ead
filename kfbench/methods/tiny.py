"""`kfbench make-tiny-models`: every method family's tiny random models, in the real formats (tests, offline demos).

Each family declares its builder on its interpolator class (``tiny_models``, a lazy ``module:function``
taking the output folder and returning name -> path); the families are those of the registered methods.
"""

from __future__ import annotations

from pathlib import Path

from kfbench.registry import Registry, import_factory, lookup, method_presets


def tiny_builders(methods: list[str] | None = None) -> Registry:
    """The distinct tiny-model builders of the registered methods' families (or of ``methods``' families only), by
    their ``module:function`` name."""
    builders: Registry = Registry("tiny-model builder")
    presets = method_presets()
    chosen = [lookup(presets, name, "method") for name in methods] if methods else list(presets.values())
    for preset in chosen:
        spec = getattr(import_factory(preset.factory), "tiny_models", "")
        if spec and spec not in builders:
            builders.register(spec, spec, origin=str(preset.path), lazy=True)
    return builders


def make_tiny_models(folder: str | Path, methods: list[str] | None = None) -> dict[str, Path]:
    """Write every tiny model kfbench's methods (or ``methods``' families) load into ``folder``; returns name -> path
    (one name per model)."""
    folder = Path(folder)
    paths: dict[str, Path] = {}
    builders = tiny_builders(methods)
    folder.mkdir(parents=True, exist_ok=True)
    for spec in builders:
        for name, path in builders.get(spec)(folder).items():
            if name in paths:
                raise RuntimeError(f"tiny model '{name}' is written by two families ({spec} and another); rename one")
            paths[name] = path
    return paths
