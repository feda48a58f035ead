"""``fid``: Frechet Inception Distance between the generated and the ground-truth frames (InceptionV3 pool3).

The features come from ``kfbench.metrics.inception``; the distance is ``kfbench.metrics.frechet``'s, in
float64, with the protocol's covariance convention (n-1: torchmetrics, pytorch-fid; n: StyleGAN-V).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kfbench.metrics.shapes import InceptionDistance, frechet
from kfbench.metrics.weights import WeightsFile

if TYPE_CHECKING:
    from kfbench.metrics.tidy import Context, Scorer

INCEPTION = WeightsFile(
    "InceptionV3 FID weights",
    "--inception-weights",
    ("weights-inception-2015-12-05-6726825d.pth", "pt_inception-2015-12-05-6726825d.pth"),
    "torch-fidelity's port of TF pt_inception-2015-12-05 (weights-inception-2015-12-05-6726825d.pth, "
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/), or pytorch-fid's copy of the same "
    "tensors (pt_inception-2015-12-05-6726825d.pth)",
)


class FidMetric(InceptionDistance):
    name = "fid"
    description = "Frechet Inception Distance over the compared frames (InceptionV3 pool3)"
    higher_is_better = False
    label, digits, table = "FID", 2, "table1"
    weights = (INCEPTION,)
    papers = (
        "Heusel et al.: GANs trained by a two time-scale update rule converge to a local Nash equilibrium, "
        "NeurIPS 2017",
    )

    def prepare(self) -> Scorer:
        return frechet(self.config, "FID", self.config.conventions().fid_covariance)

    def rows(self, kept: list[tuple[np.ndarray, np.ndarray]], ctx: Context) -> list[dict[str, Any]]:
        settings = {**self.settings(ctx), "covariance": self.config.conventions().fid_covariance}
        return [self.distance_row(ctx, kept, self.image.tag, settings, frechet=True)]
