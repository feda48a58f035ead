"""``warp_error``: flow-warping error between consecutive frames, as |generated - ground truth| per pair (raw without).

The figure (OpenCV DIS flow, occlusions masked) is ``kfbench.metrics.temporal``'s.
"""

from __future__ import annotations

from typing import Any

from kfbench.metrics.shapes import TemporalFigures


class WarpErrorMetric(TemporalFigures):
    name = "warp_error"
    min_side, min_side_why = (
        12,
        "OpenCV's DIS optical flow",
    )  # temporal.DIS_MIN_SIDE (not imported: cv2 is slow to load)
    description = "flow-warping error of consecutive frames (OpenCV DIS): distance to the ground truth's"
    higher_is_better = False
    label, digits, table = "warp error", 5, "newer"
    papers = ("Lai et al.: Learning blind video temporal consistency, ECCV 2018",)

    def build(self) -> Any:
        from kfbench.metrics.temporal import WarpError

        return WarpError()
