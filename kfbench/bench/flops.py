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
