"""Two-frame interpolators (FILM, RIFE, AMT) for `kfbench bench`: random full-size networks and FLOPs per video.

Their networks are small, so the random method runs the real network at both suite sizes. FLOPs of one
network call are counted on the meta device at the padded shape the method's own ``predict`` builds (no
weights, no pixels); a video's FLOPs are that times the schedule's calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from kfbench.bench.flops import count_flops
from kfbench.bench.randommethods import Size, Subject
from kfbench.bench.randomweights import build_random, empty, random_models
from kfbench.registry import create_method, lookup, method_class, method_presets, resolve_options


def build_method(name: str, options: dict[str, Any], network_for: Callable[[str], nn.Module]) -> Any:
    """Method ``name`` (preset + ``options``) on ``network_for(its random model's name)``."""
    factory = method_class(name)
    resolved = resolve_options(lookup(method_presets(), name, "method"), factory, options, "method")
    return create_method(name, components={"network": network_for(factory.random_model(resolved))}, **options)


def random_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """The method on its real network with random weights (``size`` is ignored: the networks are small)."""
    method = build_method(
        name, options, lambda model: build_random(random_models().get(model), "cpu", torch.float32, seed=seed)
    )
    return Subject(method, method.network, f"{method.family}_calls")


def flops_row(name: str, options: dict[str, Any], num_frames: int, *, frame_size: tuple[int, int]) -> dict[str, Any]:
    """Calls and FLOPs of one video of ``num_frames`` at ``frame_size`` (height, width), counted on the meta device."""
    method = build_method(name, {**options, "device": "meta"}, lambda model: empty(random_models().get(model).build))
    frame = torch.empty(1, 3, *frame_size, device="meta")
    per_call = count_flops(lambda: method.predict(frame, frame, torch.full((1,), 0.5, device="meta"))).total
    calls = method.plan(num_frames).calls
    return {
        "method": name, "network": f"{method.family.upper()} network", "model": method.random_model(method.options),
        "height": frame_size[0], "width": frame_size[1], "schedule": method.schedule, "calls": calls,
        "flops_per_call": per_call, "flops_per_video": per_call * calls,
        "flops_per_video_without_attention_matmuls": per_call * calls,  # these networks have no attention
    }  # fmt: skip
