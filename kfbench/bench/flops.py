"""The one FLOP counter: torch's FlopCounterMode around a call (on the meta device: no weights, no memory) or
around each forward of a network (hooks), summarised the same way.

On the meta device scaled-dot-product attention runs as its math decomposition, so the attention
matmuls (QK^T and AV) are counted and reported separately; CPU SDPA kernels count none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

ATTENTION_OPS = ("bmm", "baddbmm", "scaled_dot_product", "flash_attention", "efficient_attention")


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one call."""

    total: int
    attention: int  # the attention matmuls QK^T and AV (spatial, temporal and cross)
    by_op: dict[str, int]

    @property
    def without_attention(self) -> int:
        return self.total - self.attention


def summary(counter: FlopCounterMode) -> FlopCount:
    by_op = {str(op).removeprefix("aten."): int(n) for op, n in counter.get_flop_counts()["Global"].items()}
    attention = sum(n for op, n in by_op.items() if any(a in op for a in ATTENTION_OPS))
    return FlopCount(total=int(counter.get_total_flops()), attention=attention, by_op=by_op)


def count_flops(call: Callable[[], Any]) -> FlopCount:
    """FLOPs of ``call()`` (under no_grad)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        call()
    return summary(counter)


STACKS = ("num_layers", "num_single_layers")
"""Config keys counting a transformer's identical blocks (diffusers' names); ``vace_layers`` lists its VACE blocks."""


def linear_in_blocks(count: Callable[[dict[str, Any]], FlopCount], config: dict[str, Any]) -> FlopCount:
    """``count(config)`` from a one-block-per-stack model and one more block of each stack, extrapolated: a stack's
    blocks are identical, so each adds the same FLOPs (exact, and a 40-block model is counted in a few blocks' time).

    The stacks are ``STACKS`` present in ``config`` and ``vace_layers`` (VACE blocks at those block indices).
    """
    stacks = {k: config[k] for k in STACKS if isinstance(config.get(k), int) and config[k] > 1}
    vace = len(config.get("vace_layers") or [])
    if not stacks and vace < 2:
        return count(config)
    one = {**config, **{k: 1 for k in stacks}, **({"vace_layers": [0]} if vace else {})}
    total = base = count(one)
    for key, blocks in stacks.items():
        total = _plus(total, _scaled(count({**one, key: 2}), base, blocks - 1))
    if vace > 1:  # the second VACE block needs a second block to sit beside
        two = {**one, "num_layers": 2}
        total = _plus(total, _scaled(count({**two, "vace_layers": [0, 1]}), count(two), vace - 1))
    return total


def _scaled(more: FlopCount, base: FlopCount, times: int) -> FlopCount:
    """``times`` x (``more`` - ``base``)."""
    ops = set(more.by_op) | set(base.by_op)
    by_op = {op: times * (more.by_op.get(op, 0) - base.by_op.get(op, 0)) for op in ops}
    return FlopCount(times * (more.total - base.total), times * (more.attention - base.attention), by_op)


def _plus(a: FlopCount, b: FlopCount) -> FlopCount:
    by_op = {op: a.by_op.get(op, 0) + b.by_op.get(op, 0) for op in sorted(set(a.by_op) | set(b.by_op))}
    return FlopCount(a.total + b.total, a.attention + b.attention, {op: n for op, n in by_op.items() if n})


class CallFlops:
    """FLOPs of a network's forwards, counted around each forward (hooks) while attached."""

    def __init__(self, network: torch.nn.Module | tuple[torch.nn.Module, ...]) -> None:
        self.total, self.calls, self._mode = 0, 0, None
        modules = (network,) if isinstance(network, torch.nn.Module) else network
        self._hooks = [
            h
            for m in modules
            for h in (m.register_forward_pre_hook(self._before), m.register_forward_hook(self._after))
        ]

    def _before(self, *_: Any) -> None:
        self._mode = FlopCounterMode(display=False)
        self._mode.__enter__()

    def _after(self, *_: Any) -> None:
        self._mode.__exit__(None, None, None)
        self.total += summary(self._mode).total
        self.calls += 1

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()
