"""``keyframe_lpips``: LPIPS of a method's first and last frames against the keyframes it was given.

The per-pair figures are ``kfbench.metrics.keyframe``'s, on ``lpips``'s network and weights file.
"""

from __future__ import annotations

from typing import Any

from kfbench.metrics.lpips import LPIPS_BACKBONE, LpipsMetric
from kfbench.metrics.shapes import KeyframeFigures


class KeyframeLpipsMetric(KeyframeFigures):
    name = "keyframe_lpips"
    min_side, min_side_why = LpipsMetric.min_side, LpipsMetric.min_side_why
    description = "LPIPS of the generated first and last frames against the input keyframes"
    higher_is_better = False
    label, digits, table = "keyframe LPIPS", 4, "newer"
    weights = (LPIPS_BACKBONE,)

    def build(self) -> Any:
        from kfbench.metrics.keyframe import KeyframeLpips

        return KeyframeLpips(self.weights_paths[0], device=self.config.device)
