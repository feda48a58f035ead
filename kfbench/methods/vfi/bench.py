"""Two-frame interpolators (FILM, RIFE, AMT) for `kfbench bench`: random full-size networks and FLOPs per video.

Their networks are small, so the random method runs the real network at both suite sizes. FLOPs of one
network call are counted with FlopCounterMode on the meta device at the padded shape the method's own
``predict`` builds (no weights, no pixels); a video's FLOPs are that times the schedule's calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from kfbench.bench.randommethods import Size, Subject
from kfbench.bench.randomweights import RANDOM_MODELS, build_random, empty
from kfbench.methods.vfi.interpolator import FrameInterpolator
from kfbench.registry import import_factory, lookup, method_presets, resolve_options


def build_method(name: str, options: dict[str, Any], network_for: Callable[[str], nn.Module]) -> FrameInterpolator:
    """Method ``name`` (preset + ``options``) on ``network_for(its kfbench.bench.randomweights model name)``."""
    preset = lookup(method_presets(), name, "method")
    factory = import_factory(preset.factory)
    resolved = resolve_options(preset, factory, options, "method")
    method = factory(network_for(factory.random_model(resolved)), **resolved)
    method.name, method.options = name, resolved
    return method


def random_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """The method on its real network with random weights (``size`` is ignored: the networks are small)."""
    method = build_method(name, options, lambda model: build_random(model, "cpu", torch.float32, seed=seed))
    return Subject(method, method.network, f"{method.family}_calls")


def flops_row(name: str, options: dict[str, Any], num_frames: int, height: int, width: int) -> dict[str, Any]:
    """Calls and FLOPs of one video of ``num_frames`` at height x width, counted on the meta device."""
    method = build_method(name, {**options, "device": "meta"}, lambda model: empty(RANDOM_MODELS[model].build))
    frame = torch.empty(1, 3, height, width, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        method.predict(frame, frame, torch.full((1,), 0.5, device="meta"))
    per_call, calls = int(counter.get_total_flops()), method.plan(num_frames).calls
    return {
        "method": name, "network": f"{method.family.upper()} network", "model": method.random_model(method.options),
        "height": height, "width": width, "schedule": method.schedule, "calls": calls, "flops_per_call": per_call,
        "flops_per_video": per_call * calls,
        "flops_per_video_without_attention_matmuls": per_call * calls,  # these networks have no attention
    }  # fmt: skip
