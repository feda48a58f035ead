"""Methods on random-weight models: the real architectures (``full``) or tiny ones (``tiny``), built in memory.

A method family declares its builder on its interpolator class (``random_weights``: a lazy
``module:function(name, options, size, seed) -> Subject`` in the family's folder); it builds the
family's networks and returns the ready method with the network(s) to time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from torch import nn

from kfbench.errors import KfbenchError
from kfbench.registry import import_factory, method_class, method_presets

Size = Literal["full", "tiny"]
RANDOM_CHECKPOINT = "random weights (kfbench bench)"  # recorded in place of a checkpoint path


@dataclass
class Subject:
    """A method ready to interpolate and what a benchmark measures in it."""

    method: Any
    network: nn.Module | tuple[nn.Module, ...]  # the denoiser/synthesis network(s) whose forwards are timed
    calls_key: str  # the method.stats entry counting its calls
    calls_per_video: Callable[[int], int] | None = None  # calls of one video of num_frames, by the pipeline's rules
    call_flops: Callable[[int], int] | None = None  # FLOPs of one call at num_frames, counted on the meta device
    flops_source: str = "FlopCounterMode on the meta device (attention matmuls included)"  # how call_flops counts


def random_method(name: str, options: dict[str, Any], size: Size, seed: int = 0) -> Subject:
    """Method ``name`` (preset + ``options``) on random ``size`` models, built on its device."""
    builder = getattr(method_class(name), "random_weights", "")
    if not builder:
        raise KfbenchError(
            f"method '{name}' has no random-weight builder; "
            f"kfbench bench --random-weights covers {', '.join(random_methods())}"
        )
    return import_factory(builder)(name, options, size, seed)


def random_methods() -> list[str]:
    """Method names whose family has a random-weight builder."""
    return [n for n, p in method_presets().items() if getattr(import_factory(p.factory), "random_weights", "")]
