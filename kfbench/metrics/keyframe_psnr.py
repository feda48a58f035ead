"""``keyframe_psnr``: PSNR of a method's first and last frames against the keyframes it was given.

The per-pair figures (capped PSNR, exact copies) are ``kfbench.metrics.keyframe``'s.
"""

from __future__ import annotations

from typing import Any

from kfbench.metrics.shapes import KeyframeFigures


class KeyframePsnrMetric(KeyframeFigures):
    name = "keyframe_psnr"
    description = "PSNR of the generated first and last frames against the input keyframes"
    higher_is_better = True
    label, digits, table = "keyframe PSNR", 2, "newer"

    def build(self) -> Any:
        from kfbench.metrics.keyframe import KeyframePsnr

        return KeyframePsnr()
