"""``jedi``: JEPA Embedding Distance of 16-frame clips, as videojedi computes it.

The V-JEPA encoder and SSv2 probe, their features and the polynomial-kernel MMD are ``kfbench.metrics.vjepa``'s.
"""

from __future__ import annotations

from typing import Any

from kfbench.metrics.shapes import LearnedClipDistance
from kfbench.metrics.weights import WeightsFile

VJEPA_ENCODER = WeightsFile(
    "V-JEPA ViT-H/16 encoder weights",
    "--vjepa-weights",
    ("vith16.pth.tar",),
    "Meta's V-JEPA release (vith16.pth.tar, https://dl.fbaipublicfiles.com/jepa/vith16/), the encoder videojedi uses",
)
VJEPA_PROBE = WeightsFile(
    "V-JEPA SSv2 attentive-probe weights",
    "--vjepa-probe-weights",
    ("ssv2-probe.pth.tar",),
    "Meta's V-JEPA release (ssv2-probe.pth.tar, https://dl.fbaipublicfiles.com/jepa/vith16/), "
    "the pooler videojedi uses",
)


class JediMetric(LearnedClipDistance):
    name = "jedi"
    description = "JEDi: polynomial MMD of V-JEPA probe features of 16-frame clips (videojedi)"
    higher_is_better = False
    label, digits, table = "JEDi", 3, "newer"
    weights = (VJEPA_ENCODER, VJEPA_PROBE)
    papers = ("Luo et al.: Beyond FVD: enhanced evaluation metrics for video generation quality, arXiv:2410.05203",)

    def build(self) -> Any:
        from kfbench.metrics.vjepa import Jedi

        return Jedi(self.weights_paths[0], self.weights_paths[1], device=self.config.device)

    def reference(self) -> dict[str, Any]:
        return {"kernel": "(<x, y> / D)^2, biased MMD^2 x 100", "as": "videojedi 1.1.0"}
