"""``flolpips``: FloLPIPS, LPIPS whose spatial average is weighted by where the generated motion departs from the real.

After Danier, Zhang and Bull (FloLPIPS, PCS 2022) and the authors' release (github danier97/flolpips,
``calc_flolpips``): for each compared frame t but the last, PWC-Net flows t -> t+1 of the ground truth and
of the generated clip; their difference's magnitude, resized (bilinear) to each LPIPS layer and normalised
to sum to 1, replaces LPIPS's plain spatial mean of that layer's (linear-layer-weighted) distance map.
LPIPS v0.1 AlexNet with frames in [0, 1] (``normalize=True``). The value is the mean over all the steps
of all pairs (the release's mean over a video's frames). Where the two flows agree everywhere (their
difference is exactly zero, e.g. a method that returns the ground truth) the release divides by zero; here
that layer's map is averaged uniformly (plain LPIPS) instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kfbench.metrics.base import Metric
from kfbench.metrics.lpips import LPIPS_BACKBONE
from kfbench.metrics.weights import WeightsFile

PWCNET = WeightsFile(
    "PWC-Net weights",
    "--pwcnet-weights",
    ("network-default.pytorch",),
    "sniklaus' pytorch-pwc 'default' model (network-default.pytorch, http://content.sniklaus.com/github/pytorch-pwc/), "
    "which the FloLPIPS release loads",
)
FLOLPIPS_TAG = "flolpips-v0.1-alexnet/pwcnet-default"
UNIT_EPS = 1e-10  # the release's (LPIPS's) normalize_tensor


def unit_channels(x: Any) -> Any:
    """Each pixel's feature vector scaled to unit length, as LPIPS (and the FloLPIPS release) does."""
    return x / ((x**2).sum(dim=1, keepdim=True).sqrt() + UNIT_EPS)


def flow_weighted_mean(distance: Any, flow_difference: Any) -> Any:
    """The mean of a distance map [N, 1, h, w] weighted by |flow difference| resized to h x w (uniform where 0)."""
    import torch.nn.functional as F

    flow = F.interpolate(flow_difference, size=distance.shape[2:], mode="bilinear", align_corners=False)
    magnitude = (flow[:, 0:1] ** 2 + flow[:, 1:2] ** 2).sqrt()
    total = magnitude.sum(dim=(1, 2, 3), keepdim=True)
    uniform = magnitude.new_full(magnitude.shape, 1 / magnitude[0, 0].numel())
    weights = (magnitude / total.clamp_min(1e-30)).where(total > 0, uniform)
    return (distance * weights).sum(dim=(1, 2, 3))


class FloLpips:
    """Ground-truth and generated clips (uint8 [T, H, W, 3], T >= 2) -> FloLPIPS of each of the first T-1 frames."""

    tag = FLOLPIPS_TAG

    def __init__(self, backbone: Path, pwcnet: Path, *, device: str = "cpu", batch_size: int = 4):
        from kfbench.metrics.lpips import load_lpips
        from kfbench.metrics.pwcnet import load_pwcnet

        self.lpips = load_lpips(backbone).to(device)
        self.flow = load_pwcnet(pwcnet, PWCNET.what).to(device)
        self.device, self.batch_size = device, batch_size

    def distance(self, truth: Any, generated: Any, flow_difference: Any) -> Any:
        """FloLPIPS of frames [N, 3, H, W] in [0, 1] given the flow difference [N, 2, H, W]."""
        model = self.lpips
        a, b = model.scaling_layer(2 * truth - 1), model.scaling_layer(2 * generated - 1)
        total = 0
        for layer, x, y in zip(model.lins, model.net(a), model.net(b)):
            squared = (unit_channels(x) - unit_channels(y)) ** 2
            total = total + flow_weighted_mean(layer(squared), flow_difference)
        return total

    def __call__(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        import torch

        from kfbench.metrics.psnr import frames_as_float

        out = []  # the batch is the same at every frame size: PWC-Net's last bits follow it
        with torch.no_grad():
            for start in range(0, len(truth) - 1, self.batch_size):  # a batch's frames and the next ones as floats
                count = min(self.batch_size, len(truth) - 1 - start)
                part = slice(start, start + count + 1)
                fake = frames_as_float(generated[part], "float32").to(self.device) / 255
                real = frames_as_float(truth[part], "float32").to(self.device) / 255
                now, after = slice(0, count), slice(1, count + 1)
                difference = self.flow(real[now], real[after]) - self.flow(fake[now], fake[after])
                for i in range(count):  # LPIPS's maps one frame at a time (per frame, its values whatever the batch)
                    one = slice(i, i + 1)
                    out.append(self.distance(real[one], fake[one], difference[one]).double().cpu().numpy())
        return np.concatenate(out)


class FloLpipsMetric(Metric):
    name = "flolpips"
    description = "FloLPIPS: LPIPS weighted by the generated-vs-real PWC-Net flow difference, per compared frame step"
    reads = "frames"
    higher_is_better = False
    label, digits, table = "FloLPIPS", 3, "newer"
    weights = (LPIPS_BACKBONE, PWCNET)
    papers = (
        "Danier, Zhang, Bull: FloLPIPS: a bespoke video quality metric for frame interpolation, PCS 2022",
        "reported by LDMVFI (Danier et al., AAAI 2024) and PerVFI (Wu et al., CVPR 2024)",
    )
    extractor_tag = FLOLPIPS_TAG

    def model(self) -> FloLpips:
        return self.models.get(
            ("flolpips", self.weights_paths), lambda: FloLpips(*self.weights_paths, device=self.config.device)
        )

    def read(self, pair: Any, features: Any) -> np.ndarray:
        grid = pair.grid
        if len(grid.positions) < 2:
            return np.zeros(0)
        return self.model()(grid.generated, grid.truth)

    def rows(self, kept: list[np.ndarray], ctx: Any) -> list[dict[str, Any]]:
        steps = sum(len(k) for k in kept)
        if steps == 0:
            reason = (
                f"flolpips compares the motion between consecutive compared frames; this protocol compares "
                f"{len(ctx.first.positions)} frame(s) per pair; use --include-keyframes or a protocol with more frames"
            )
            return [ctx.row(self.name, n=ctx.pairs, missing_reason=reason)]
        settings = {
            "n_counts": "frame steps (consecutive compared frames)",
            "reference": "the FloLPIPS release's calc_flolpips (video-based), on the compared frames in [0, 1]",
            "zero_flow_difference": "uniform weights (plain LPIPS) where the release divides by zero",
            **self.weights_settings(),
        }
        return [
            ctx.percentile_row(
                self.name,
                lambda idx: float(np.concatenate([kept[i] for i in idx]).mean()),
                len(kept),
                steps,
                self.extractor_tag,
                settings,
            )
        ]
