"""``fvd_videomae``: content-debiased FVD on VideoMAE-v2 features of 16-frame clips, as cd-fvd computes it.

The encoder, its features and the Frechet distance (covariance divisor N) are ``kfbench.metrics.videomae``'s.
"""

from __future__ import annotations

from typing import Any

from kfbench.metrics.shapes import LearnedClipDistance
from kfbench.metrics.weights import WeightsFile

VIDEOMAE = WeightsFile(
    "VideoMAE-v2 ViT-g weights",
    "--videomae-weights",
    ("vit_g_hybrid_pt_1200e_ssv2_ft.pth",),
    "the VideoMAE-v2 release's ViT-g fine-tuned on SSv2, the checkpoint cd-fvd uses "
    "(vit_g_hybrid_pt_1200e_ssv2_ft.pth, https://pjlab-gvm-data.oss-cn-shanghai.aliyuncs.com/internvideo/videomaev2/)",
)


class FvdVideoMAEMetric(LearnedClipDistance):
    name = "fvd_videomae"
    description = "content-debiased FVD on VideoMAE-v2 features of 16-frame clips (cd-fvd)"
    higher_is_better = False
    label, digits, table = "FVD-VideoMAE", 2, "newer"
    weights = (VIDEOMAE,)
    papers = ("Ge et al.: On the content bias in Frechet video distance, CVPR 2024",)
    frechet = True

    def build(self) -> Any:
        from kfbench.metrics.videomae import FvdVideoMAE

        return FvdVideoMAE(self.weights_paths[0], device=self.config.device)

    def reference(self) -> dict[str, Any]:
        return {"covariance": "n", "as": "cd-fvd 0.1.1, model videomae"}
