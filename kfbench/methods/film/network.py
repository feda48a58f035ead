"""The film_net network: cascaded feature pyramid, residual flow pyramid, U-Net-like fusion.

The module tree (and so every state_dict key) follows the widely used PyTorch port's TorchScript
release (`film_net_fp32.pt`), so its weights load strictly. Numerics follow the original
TensorFlow model: LeakyReLU 0.2, TF "same" padding (even kernels pad one pixel right and bottom),
average-pool pyramids, bilinear flow upsampling with half-pixel centres, backward warping with
edge replication. One difference from the TF release: its film_net ignores ``time`` and always
synthesises t = 0.5; here (as in the port) the flows are scaled by the requested ``time``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class FilmConfig:
    """Hyper-parameters of film_net; the defaults are the released "Style" model."""

    pyramid_levels: int = 7
    fusion_pyramid_levels: int = 5
    specialized_levels: int = 3
    sub_levels: int = 4
    filters: int = 64
    flow_convs: tuple[int, ...] = (3, 3, 3, 3)
    flow_filters: tuple[int, ...] = (32, 64, 128, 256)

    @property
    def align(self) -> int:
        """Height and width must be multiples of this (one pixel at the coarsest pyramid level)."""
        return 2 ** (self.pyramid_levels - 1)

    def feature_channels(self, level: int) -> int:
        """Channels of the cascaded feature pyramid at ``level`` (constant from sub_levels - 1 on)."""
        return sum(self.filters << j for j in range(min(level, self.sub_levels - 1) + 1))

    def fusion_input_channels(self, level: int) -> int:
        """Aligned pyramid channels at ``level``: two warped (image + features) stacks and two flows."""
        return 2 * (3 + self.feature_channels(level)) + 2 * 2

    def fusion_filters(self, level: int) -> int:
        return self.filters << min(level, self.specialized_levels)


class Conv(nn.Sequential):
    """A convolution with TensorFlow "same" padding and optional LeakyReLU(0.2).

    A Sequential holding the convolution at index 0, so its parameters are ``<name>.0.weight``.
    """

    def __init__(self, in_channels: int, out_channels: int, size: int, activate: bool = True) -> None:
        super().__init__(nn.Conv2d(in_channels, out_channels, size, padding=size // 2 if size % 2 else 0))
        self.even = size % 2 == 0
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.even:
            x = F.pad(x, (0, 1, 0, 1))
        for conv in self:
            x = conv(x)
        return F.leaky_relu(x, 0.2) if self.activate else x


class SubTreeExtractor(nn.Module):
    """A conventional feature pyramid: two 3x3 convolutions per level (k, 2k, 4k, ... filters), then 2x2 average
    pooling."""

    def __init__(self, filters: int, depth: int) -> None:
        super().__init__()
        channels = [3] + [filters << i for i in range(depth)]
        self.convs = nn.ModuleList(
            nn.Sequential(Conv(channels[i], channels[i + 1], 3), Conv(channels[i + 1], channels[i + 1], 3))
            for i in range(depth)
        )

    def forward(self, image: torch.Tensor, depth: int) -> list[torch.Tensor]:
        pyramid: list[torch.Tensor] = []
        head = image
        for i, level in enumerate(self.convs):
            if i == depth:
                break
            if i > 0:
                head = F.avg_pool2d(head, 2)
            head = level(head)
            pyramid.append(head)
        return pyramid


class FeatureExtractor(nn.Module):
    """Cascaded features: level i concatenates sub-pyramid j's entry i - j for the last sub_levels sub-pyramids."""

    def __init__(self, config: FilmConfig) -> None:
        super().__init__()
        self.sub_levels = config.sub_levels
        self.extract_sublevels = SubTreeExtractor(config.filters, config.sub_levels)

    def forward(self, images: list[torch.Tensor]) -> list[torch.Tensor]:
        levels = len(images)
        subtrees = [self.extract_sublevels(image, min(levels - i, self.sub_levels)) for i, image in enumerate(images)]
        return [
            torch.cat([subtrees[i - j][j] for j in range(min(i + 1, self.sub_levels))], dim=1) for i in range(levels)
        ]


class FlowEstimator(nn.Module):
    """Residual flow from two feature maps: 3x3 convolutions, a 1x1 to half the filters, a linear 1x1 to (dx, dy)."""

    def __init__(self, in_channels: int, num_convs: int, num_filters: int) -> None:
        super().__init__()
        widths = [in_channels] + [num_filters] * num_convs
        layers = [Conv(widths[i], widths[i + 1], 3) for i in range(num_convs)]
        layers += [Conv(num_filters, num_filters // 2, 1), Conv(num_filters // 2, 2, 1, activate=False)]
        self._convs = nn.ModuleList(layers)

    def forward(self, features_a: torch.Tensor, features_b: torch.Tensor) -> torch.Tensor:
        x = torch.cat([features_a, features_b], dim=1)
        for conv in self._convs:
            x = conv(x)
        return x


class PyramidFlowEstimator(nn.Module):
    """Coarse-to-fine residual flow: one estimator shared by the coarse levels, one per specialised fine level.

    ``_predictors`` holds the specialised estimators coarse to fine (index 0 serves level
    specialized_levels - 1, the last index level 0); ``_predictor`` serves every coarser level.
    """

    def __init__(self, config: FilmConfig) -> None:
        super().__init__()
        estimators = [
            FlowEstimator(2 * config.feature_channels(level), num_convs, num_filters)
            for level, (num_convs, num_filters) in enumerate(zip(config.flow_convs, config.flow_filters))
        ]
        self._predictor = estimators[-1]
        self._predictors = nn.ModuleList(reversed(estimators[:-1]))

    def forward(self, pyramid_a: list[torch.Tensor], pyramid_b: list[torch.Tensor]) -> list[torch.Tensor]:
        """Residual flows from a to b, finest level first; the coarsest entry is the flow itself."""
        specialised = len(self._predictors)
        flow = self._predictor(pyramid_a[-1], pyramid_b[-1])
        residuals = [flow]
        for level in range(len(pyramid_a) - 2, -1, -1):
            flow = upsample_flow(flow, pyramid_a[level].shape[2:])
            warped = warp(pyramid_b[level], flow)
            if level >= specialised:
                residual = self._predictor(pyramid_a[level], warped)
            else:
                residual = self._predictors[specialised - 1 - level](pyramid_a[level], warped)
            residuals.insert(0, residual)
            flow = flow + residual
        return residuals


class Fusion(nn.Module):
    """U-Net decoder over the aligned pyramid: per level, upsample (nearest + linear 2x2 conv), concatenate, two 3x3
    convs.

    ``convs`` is ordered coarse to fine: ``convs[0]`` works at level fusion_pyramid_levels - 2.
    """

    def __init__(self, config: FilmConfig) -> None:
        super().__init__()
        top = config.fusion_pyramid_levels - 1
        blocks = []
        below = config.fusion_input_channels(top)
        for level in range(top - 1, -1, -1):
            width = config.fusion_filters(level)
            blocks.append(
                nn.ModuleList(
                    [
                        Conv(below, width, 2, activate=False),
                        Conv(config.fusion_input_channels(level) + width, width, 3),
                        Conv(width, width, 3),
                    ]
                )
            )
            below = width
        self.convs = nn.ModuleList(blocks)
        self.output_conv = nn.Conv2d(config.filters, 3, 1)

    def forward(self, pyramid: list[torch.Tensor]) -> torch.Tensor:
        x = pyramid[len(self.convs)]
        for k, (upconv, conv_a, conv_b) in enumerate(self.convs):
            skip = pyramid[len(self.convs) - 1 - k]
            x = upconv(F.interpolate(x, size=skip.shape[2:], mode="nearest"))
            x = conv_b(conv_a(torch.cat([skip, x], dim=1)))
        return self.output_conv(x)


class FilmNet(nn.Module):
    """film_net: (x0, x1 in [0, 1], B x 3 x H x W; time, B) -> the frame at ``time``, B x 3 x H x W."""

    def __init__(self, config: FilmConfig = FilmConfig()) -> None:
        super().__init__()
        self.config = config
        self.extract = FeatureExtractor(config)
        self.predict_flow = PyramidFlowEstimator(config)
        self.fuse = Fusion(config)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        levels, fused = self.config.pyramid_levels, self.config.fusion_pyramid_levels
        images0, images1 = image_pyramid(x0, levels), image_pyramid(x1, levels)
        features0, features1 = self.extract(images0), self.extract(images1)
        forward_flows = flow_pyramid(self.predict_flow(features0, features1))[:fused]
        backward_flows = flow_pyramid(self.predict_flow(features1, features0))[:fused]
        t = time.reshape(-1, 1, 1, 1).to(x0.dtype)
        aligned = []
        for level in range(fused):
            to_t_from_0 = backward_flows[level] * t
            to_t_from_1 = forward_flows[level] * (1 - t)
            warped0 = warp(torch.cat([images0[level], features0[level]], dim=1), to_t_from_0)
            warped1 = warp(torch.cat([images1[level], features1[level]], dim=1), to_t_from_1)
            aligned.append(torch.cat([warped0, warped1, to_t_from_0, to_t_from_1], dim=1))
        return self.fuse(aligned)


def image_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The image and ``levels - 1`` successive 2x2 average-pooled halvings, finest first."""
    pyramid = [image]
    for _ in range(levels - 1):
        pyramid.append(F.avg_pool2d(pyramid[-1], 2))
    return pyramid


def upsample_flow(flow: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Bilinear (half-pixel centres) upsampling to ``size`` with vectors scaled by 2 for the doubled resolution."""
    return F.interpolate(2 * flow, size=tuple(size), mode="bilinear", align_corners=False)


def flow_pyramid(residuals: list[torch.Tensor]) -> list[torch.Tensor]:
    """Accumulate a residual flow pyramid (finest first) into full flows at every level."""
    flows = [residuals[-1]]
    for residual in reversed(residuals[:-1]):
        flows.insert(0, residual + upsample_flow(flows[0], residual.shape[2:]))
    return flows


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: out[y, x] = image[y + flow_y, x + flow_x], bilinear, edges replicated.

    ``flow`` holds (dx, dy) in pixels. The sampling grid is built in float32 even for half
    inputs (fp16 cannot address pixels of large images exactly).
    """
    _, _, height, width = flow.shape
    ys = torch.arange(height, device=flow.device, dtype=torch.float32)
    xs = torch.arange(width, device=flow.device, dtype=torch.float32)
    x = xs[None, None, :] + flow[:, 0].float()
    y = ys[None, :, None] + flow[:, 1].float()
    grid = torch.stack([(2 * x + 1) / width - 1, (2 * y + 1) / height - 1], dim=-1)
    warped = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return warped.to(image.dtype)
