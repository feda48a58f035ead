"""``flicker``: low-pass frame-to-frame change, as |log(generated / ground truth)| per pair (0: as steady).

The figure (Gaussian-blurred frame differences) is ``kfbench.metrics.temporal``'s.
"""

from __future__ import annotations

from typing import Any

from kfbench.metrics.shapes import TemporalFigures


class FlickerMetric(TemporalFigures):
    name = "flicker"
    description = "low-pass frame-to-frame change: |log(generated / ground truth)| (0: as steady)"
    higher_is_better = False
    label, digits, table = "flicker", 3, "newer"

    def build(self) -> Any:
        from kfbench.metrics.temporal import Flicker

        return Flicker()
