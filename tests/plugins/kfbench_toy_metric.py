"""A metric kept outside kfbench, as a separate package would ship it (tests only; registered by an entry point).

``toy_brightness``: per compared frame, the absolute difference of the mean brightness of the generated
and the ground-truth frame, times a scale read from its weights file (a text file holding one number),
so that it also has an evaluate option (``--toy-weights``) derived from its metadata.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.shapes import PerFrame
from kfbench.metrics.weights import WeightsFile

TOY_WEIGHTS = WeightsFile(
    "toy brightness scale", "--toy-weights", ("toy_brightness.txt",), "any text file holding one number (tests/plugins)"
)


def brightness_gap(generated: np.ndarray, truth: np.ndarray, scale: float) -> np.ndarray:
    """scale x |mean(generated frame) - mean(ground-truth frame)| per frame of uint8 [N, H, W, 3] frames."""
    axes = (1, 2, 3)
    return scale * np.abs(generated.astype(np.float64).mean(axis=axes) - truth.astype(np.float64).mean(axis=axes))


class ToyBrightness(PerFrame):
    name = "toy_brightness"
    description = "scaled gap of mean brightness per compared frame (a metric registered by an entry point)"
    higher_is_better = False
    label, digits, table = "toy brightness", 3, "newer"
    weights = (TOY_WEIGHTS,)

    def scale(self) -> float:
        text = self.weights_paths[0].read_text().strip()
        try:
            return float(text)
        except ValueError:
            raise KfbenchError(f"{self.weights_paths[0]} holds '{text[:20]}', not a number") from None

    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return brightness_gap(generated, truth, self.scale())

    def details(self) -> dict[str, Any]:
        return {"scale": self.scale()}
