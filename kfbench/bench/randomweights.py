"""Real-size models with random weights, built on the target device (no file, no network).

Speed and memory do not depend on the values of the weights, so a GPU without downloads can still
measure every method at its real size. Each model is constructed with its parameters on the meta
device (buffers, e.g. CLIP's position ids, stay real), then every parameter is allocated on the
target device in the target dtype and filled by one random draw there: seconds even for SVD-XT.

Each method family declares its models (``random_models`` on its interpolator class: a dict of
name -> :class:`RandomModel` in its own folder); :func:`random_models` gathers them into one registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import torch
from torch import nn

from kfbench.registry import Registry, import_factory, method_presets


@dataclass(frozen=True)
class RandomModel:
    """How to build one model, and the real model's parameter count with where that figure comes from."""

    build: Callable[[], nn.Module]  # constructs the module (called with parameters on the meta device)
    parameters: int
    source: str


def empty(build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` with every parameter on the meta device and real buffers: no memory, no init."""
    from accelerate import init_empty_weights

    with init_empty_weights(include_buffers=False):
        module = build().eval()
    if hasattr(module, "tie_weights") and hasattr(module, "get_input_embeddings"):
        # transformers ties at construction, which init_empty_weights undoes (T5's shared embedding)
        module.tie_weights()
    return module


def fill_random_(tensor: torch.Tensor, name: str, generator: torch.Generator) -> None:
    """Scale-preserving random values: N(0, 1/fan_in) for matrices and kernels, 1 for norm scales, 0 for the rest."""
    if tensor.dim() >= 2:
        fan_in = tensor[0].numel()
        tensor.normal_(0.0, fan_in**-0.5, generator=generator)
    elif name.endswith("weight") and "norm" in name.lower():
        tensor.fill_(1.0)
    else:
        tensor.zero_()


def materialize(module: nn.Module, device: str | torch.device, dtype: torch.dtype, *, seed: int = 0) -> nn.Module:
    """Give every meta parameter random values on ``device`` in ``dtype`` (tied ones stay tied); move the buffers
    there."""
    device = torch.device(device)
    generator = (
        None if device.type == "meta" else torch.Generator(device).manual_seed(seed)
    )  # meta: shapes and dtypes only
    made: dict[int, nn.Parameter] = {}
    for owner_name, owner in module.named_modules(remove_duplicate=False):
        for leaf, param in list(owner._parameters.items()):
            if param is None:
                continue
            if id(param) not in made:
                value = torch.empty(
                    param.shape, device=device, dtype=dtype if param.is_floating_point() else param.dtype
                )
                if generator is not None:
                    with torch.no_grad():
                        fill_random_(value, f"{owner_name}.{leaf}", generator)
                made[id(param)] = nn.Parameter(value, requires_grad=False)
            owner._parameters[leaf] = made[id(param)]
        for leaf, buffer in list(owner._buffers.items()):
            if buffer is not None:
                owner._buffers[leaf] = buffer.to(device)  # schedules and ids keep their own dtype
    return module


def random_models(methods: list[str] | None = None) -> Registry[RandomModel]:
    """Every registered method family's (or ``methods``' families') random models, by name (a name two families
    declare is an error)."""
    models: Registry[RandomModel] = Registry("random model")
    seen: set[str] = set()
    presets = method_presets()
    for preset in [presets.get(m) for m in methods] if methods is not None else presets.values():
        spec = getattr(import_factory(preset.factory), "random_models", "")
        if spec and spec not in seen:
            seen.add(spec)
            for name, model in import_factory(spec).items():
                models.register(name, model, origin=spec)
    return models


def build_random(model: RandomModel, device: str | torch.device, dtype: torch.dtype, *, seed: int = 0) -> nn.Module:
    """``model`` at its real size with random weights on ``device`` in ``dtype``."""
    return materialize(empty(model.build), device, dtype, seed=seed)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@cache
def meta_count(name: str) -> int:
    """Parameters of random model ``name`` built on the meta device (counted once per process)."""
    return count_parameters(empty(random_models().get(name).build))
