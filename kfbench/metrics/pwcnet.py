"""PWC-Net optical flow (Sun et al., CVPR 2018) as sniklaus' pytorch-pwc ``default`` model, which FloLPIPS uses.

The layer names are those of ``network-default.pytorch`` (its ``module`` prefixes read as ``net``, as the
FloLPIPS release loads it). The cost volume is PWC-Net's 81-channel correlation (displacements of up to
4 pixels, the mean over channels of the products, zero outside the frame), written here with tensor
operations instead of the release's CUDA kernel; channel ``9 * (dy + 4) + (dx + 4)`` holds displacement
(dx, dy). Frames [N, 3, H, W] in [0, 1] (RGB, as FloLPIPS feeds them) -> flow [N, 2, H, W] in pixels.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

RADIUS = 4
EXTRACTOR_CHANNELS = (3, 16, 32, 64, 96, 128, 196)
LEVEL_NAMES = ("One", "Two", "Thr", "Fou", "Fiv", "Six")
DENSE = (128, 128, 96, 64, 32)  # the decoder's densely connected layers
COST = (2 * RADIUS + 1) ** 2
BACKWARP_SCALE = {2: 5.0, 3: 2.5, 4: 1.25, 5: 0.625}  # flow scale when warping at each level (by the coarser one)
FLOW_SCALE = 20.0


def correlation(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """[N, 81, H, W]: the channel mean of first times second displaced by (dx, dy), |dx|, |dy| <= 4, zero outside."""
    height, width = first.shape[2:]
    padded = F.pad(second, [RADIUS] * 4)
    span = range(2 * RADIUS + 1)
    return torch.stack(
        [(first * padded[:, :, dy : dy + height, dx : dx + width]).mean(1) for dy in span for dx in span], 1
    )


def backwarp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """image sampled at x + flow (bilinear); pixels whose sample reaches outside the frame are zero."""
    n, _, height, width = flow.shape
    xs = torch.linspace(-1 + 1 / width, 1 - 1 / width, width, device=flow.device, dtype=flow.dtype)
    ys = torch.linspace(-1 + 1 / height, 1 - 1 / height, height, device=flow.device, dtype=flow.dtype)
    grid = torch.stack(
        [xs.view(1, 1, width).expand(n, height, width), ys.view(1, height, 1).expand(n, height, width)], -1
    )
    shift = torch.stack([flow[:, 0] / ((image.shape[3] - 1) / 2), flow[:, 1] / ((image.shape[2] - 1) / 2)], -1)
    with_ones = torch.cat([image, image.new_ones(n, 1, *image.shape[2:])], 1)
    sampled = F.grid_sample(with_ones, grid + shift, mode="bilinear", padding_mode="zeros", align_corners=False)
    inside = (sampled[:, -1:] > 0.999).to(image.dtype)
    return sampled[:, :-1] * inside


def _conv(into: int, out: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(into, out, 3, stride=stride, padding=dilation, dilation=dilation)


def _leaky() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.1)


class Extractor(nn.Module):
    """Six levels of three 3x3 convolutions (the first strided): the feature pyramid, finest first."""

    def __init__(self) -> None:
        super().__init__()
        for name, into, out in zip(LEVEL_NAMES, EXTRACTOR_CHANNELS[:-1], EXTRACTOR_CHANNELS[1:]):
            layers = [_conv(into, out, 2), _leaky(), _conv(out, out), _leaky(), _conv(out, out), _leaky()]
            setattr(self, f"net{name}", nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        pyramid = []
        for name in LEVEL_NAMES:
            x = getattr(self, f"net{name}")(x)
            pyramid.append(x)
        return pyramid


def decoder_inputs(level: int) -> int:
    """Channels into a level's decoder: the cost volume, and below level 6 the features, upsampled flow and features."""
    return COST if level == 6 else COST + EXTRACTOR_CHANNELS[level] + 4


class Decoder(nn.Module):
    """One pyramid level: the cost volume (after warping by the coarser flow), dense convolutions, a flow."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level, into = level, decoder_inputs(level)
        if level < 6:
            coarser = decoder_inputs(level + 1) + sum(DENSE)
            self.netUpflow = nn.ConvTranspose2d(2, 2, 4, 2, 1)
            self.netUpfeat = nn.ConvTranspose2d(coarser, 2, 4, 2, 1)
        for name, out in zip(LEVEL_NAMES, DENSE):
            setattr(self, f"net{name}", nn.Sequential(_conv(into, out), _leaky()))
            into += out
        self.netSix = nn.Sequential(_conv(into, 2))

    def forward(
        self, first: torch.Tensor, second: torch.Tensor, coarser: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if coarser is None:
            features = F.leaky_relu(correlation(first, second), 0.1)
        else:
            flow, feat = self.netUpflow(coarser[0]), self.netUpfeat(coarser[1])
            volume = F.leaky_relu(correlation(first, backwarp(second, flow * BACKWARP_SCALE[self.level])), 0.1)
            features = torch.cat([volume, first, flow, feat], 1)
        for name in LEVEL_NAMES[:5]:
            features = torch.cat([getattr(self, f"net{name}")(features), features], 1)
        return self.netSix(features), features


class Refiner(nn.Module):
    """Dilated convolutions over the finest decoder's features: a residual flow."""

    def __init__(self) -> None:
        super().__init__()
        into = decoder_inputs(2) + sum(DENSE)
        widths = (into, 128, 128, 128, 96, 64, 32)
        layers: list[nn.Module] = []
        for a, b, dilation in zip(widths[:-1], widths[1:], (1, 2, 4, 8, 16, 1)):
            layers += [_conv(a, b, dilation=dilation), _leaky()]
        self.netMain = nn.Sequential(*layers, _conv(32, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.netMain(x)


class PWCNet(nn.Module):
    """Frames [N, 3, H, W] in [0, 1] -> flow from the first to the second [N, 2, H, W], in pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.netExtractor = Extractor()
        for level, name in zip(range(2, 7), LEVEL_NAMES[1:]):
            setattr(self, f"net{name}", Decoder(level))
        self.netRefiner = Refiner()

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        height, width = first.shape[2:]
        padded = (math.ceil(height / 64) * 64, math.ceil(width / 64) * 64)
        a = self.netExtractor(F.interpolate(first, size=padded, mode="bilinear", align_corners=False))
        b = self.netExtractor(F.interpolate(second, size=padded, mode="bilinear", align_corners=False))
        estimate = None
        for level in range(6, 1, -1):
            estimate = getattr(self, f"net{LEVEL_NAMES[level - 1]}")(a[level - 1], b[level - 1], estimate)
        flow = estimate[0] + self.netRefiner(estimate[1])
        flow = FLOW_SCALE * F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False)
        return torch.stack([flow[:, 0] * (width / padded[1]), flow[:, 1] * (height / padded[0])], 1)


def load_pwcnet(path: Path, what: str) -> PWCNet:
    """PWC-Net from sniklaus' ``network-default.pytorch`` (``module`` read as ``net``), read weights-only."""
    from kfbench.metrics.checkpoint import build_loaded
    from kfbench.utils.safeload import load_weights_only, state_dict_of

    state = state_dict_of(load_weights_only(path, what), what, path)
    state = {k.replace("module", "net"): v for k, v in state.items()}
    return build_loaded(PWCNet, state, path, what, "pytorch-pwc's network-default.pytorch")
