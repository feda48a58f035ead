"""AMT's building blocks: RAFT-style feature encoders and update blocks, the bidirectional correlation, IFRNet decoders.

Module and attribute names follow the release's checkpoints (``networks/blocks/*.py`` of MCG-NKU/AMT), so
their ``state_dict`` keys load as saved. Norms are instance norms without parameters, as the releases use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def resize(x: torch.Tensor, factor: float) -> torch.Tensor:
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward-warp ``image`` by ``flow`` (pixels, x then y): bilinear, border padding, align_corners=True."""
    batch, _, height, width = flow.shape
    xs = torch.linspace(-1.0, 1.0, width).view(1, 1, 1, width).expand(batch, -1, height, -1)
    ys = torch.linspace(-1.0, 1.0, height).view(1, 1, height, 1).expand(batch, -1, -1, width)
    grid = torch.cat([xs, ys], 1).to(image)
    scaled = torch.cat([flow[:, 0:1] / ((width - 1.0) / 2.0), flow[:, 1:2] / ((height - 1.0) / 2.0)], 1)
    return F.grid_sample(
        image, (grid + scaled).permute(0, 2, 3, 1), mode="bilinear", padding_mode="border", align_corners=True
    )


def conv_prelu(cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.PReLU(cout))


# ----------------------------------------------------------------------------- feature encoders (1/8 resolution)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride) -> 1x1 at a quarter of the width, each instance-normed, with a residual (SmallEncoder)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout // 4, 1)
        self.conv2 = nn.Conv2d(cout // 4, cout // 4, 3, stride, 1)
        self.conv3 = nn.Conv2d(cout // 4, cout, 1)
        self.norm1, self.norm2, self.norm3 = (nn.InstanceNorm2d(c) for c in (cout // 4, cout // 4, cout))
        self.downsample = (
            None if stride == 1 else nn.Sequential(nn.Conv2d(cin, cout, 1, stride), nn.InstanceNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = F.relu(self.norm2(self.conv2(y)))
        y = F.relu(self.norm3(self.conv3(y)))
        return F.relu((x if self.downsample is None else self.downsample(x)) + y)


class Residual(nn.Module):
    """Two instance-normed 3x3 convolutions (the first with the stride) and a residual (Basic/LargeEncoder)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.norm1, self.norm2 = nn.InstanceNorm2d(cout), nn.InstanceNorm2d(cout)
        self.downsample = (
            None if stride == 1 else nn.Sequential(nn.Conv2d(cin, cout, 1, stride), nn.InstanceNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = F.relu(self.norm2(self.conv2(y)))
        return F.relu((x if self.downsample is None else self.downsample(x)) + y)


class FeatureEncoder(nn.Module):
    """7x7 stride-2 stem, stages of two blocks each (``layer1``, ``layer2``, ...), 1x1 output: features at 1/8.

    ``stages`` lists (attribute name, width, stride); AMT-S: bottleneck blocks 32/64/96 (SmallEncoder), AMT-L:
    residual blocks 64/72/128 (BasicEncoder), AMT-G: residual 64/112/160 and a fourth stage ``layer3_2``
    (LargeEncoder).
    """

    def __init__(self, stem: int, stages: tuple[tuple[str, int, int], ...], output: int, bottleneck: bool) -> None:
        super().__init__()
        block = Bottleneck if bottleneck else Residual
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3)
        self.norm1 = nn.InstanceNorm2d(stem)
        self.stages = [name for name, _, _ in stages]
        width = stem
        for name, out, stride in stages:
            self.add_module(name, nn.Sequential(block(width, out, stride), block(out, out, 1)))
            width = out
        self.conv2 = nn.Conv2d(width, output, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm1(self.conv1(x)))
        for name in self.stages:
            x = getattr(self, name)(x)
        return self.conv2(x)


# ----------------------------------------------------------------------------- correlation and update blocks


def coords_grid(batch: int, height: int, width: int, device: torch.device) -> torch.Tensor:
    """B x 2 x H x W pixel coordinates (x, y)."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    return torch.stack([xs, ys], dim=0).float()[None].repeat(batch, 1, 1, 1)


def sample_pixels(volume: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """grid_sample at pixel coordinates (align_corners=True, zero outside)."""
    height, width = volume.shape[-2:]
    x, y = coords.split([1, 1], dim=-1)
    return F.grid_sample(
        volume, torch.cat([2 * x / (width - 1) - 1, 2 * y / (height - 1) - 1], dim=-1), align_corners=True
    )


class BidirCorrelation:
    """All-pairs correlation of two 1/8 feature maps, pooled into ``levels``, looked up both ways in a radius."""

    def __init__(self, fmap0: torch.Tensor, fmap1: torch.Tensor, levels: int, radius: int) -> None:
        self.levels, self.radius = levels, radius
        batch, dim, height, width = fmap0.shape
        corr = torch.matmul(
            fmap0.view(batch, dim, height * width).transpose(1, 2), fmap1.view(batch, dim, height * width)
        )
        corr = corr.view(batch, height, width, 1, height, width) / torch.sqrt(torch.tensor(dim).float())
        forward = corr.reshape(batch * height * width, 1, height, width)
        backward = corr.permute(0, 4, 5, 3, 1, 2).reshape(batch * height * width, 1, height, width)
        self.pyramid, self.pyramid_t = [forward], [backward]
        for _ in range(levels - 1):
            self.pyramid.append(F.avg_pool2d(self.pyramid[-1], 2, stride=2))
            self.pyramid_t.append(F.avg_pool2d(self.pyramid_t[-1], 2, stride=2))

    def __call__(self, coords0: torch.Tensor, coords1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r = self.radius
        batch, _, height, width = coords0.shape
        steps = torch.linspace(-r, r, 2 * r + 1, device=coords0.device)
        delta = torch.stack(torch.meshgrid(steps, steps, indexing="ij"), dim=-1).view(1, 2 * r + 1, 2 * r + 1, 2)
        outputs = []
        for coords, pyramid in ((coords0, self.pyramid), (coords1, self.pyramid_t)):
            centres = coords.permute(0, 2, 3, 1).reshape(batch * height * width, 1, 1, 2)
            looked = [
                sample_pixels(pyramid[i], centres / 2**i + delta).view(batch, height, width, -1)
                for i in range(self.levels)
            ]
            outputs.append(torch.cat(looked, dim=-1).permute(0, 3, 1, 2).contiguous().float())
        return outputs[0], outputs[1]


class UpdateBlock(nn.Module):
    """Residual update of a decoder's feature and both flows from correlation lookups (RAFT's, without GRU state).

    ``corr_dim2`` adds a second correlation convolution (BasicUpdateBlock, AMT-L/G); without it SmallUpdateBlock
    (AMT-S). ``scale``: the block works at 1/scale of the decoder level and upsamples its outputs back.
    """

    def __init__(
        self, cdim: int, hidden: int, flow_dim: int, corr_dim: int, fc_dim: int, corr_planes: int,
        corr_dim2: int | None = None, scale: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.scale = scale
        self.convc1 = nn.Conv2d(2 * corr_planes, corr_dim, 1)
        if corr_dim2 is not None:
            self.convc2 = nn.Conv2d(corr_dim, corr_dim2, 3, padding=1)
        self.convf1 = nn.Conv2d(4, flow_dim * 2, 7, padding=3)
        self.convf2 = nn.Conv2d(flow_dim * 2, flow_dim, 3, padding=1)
        self.conv = nn.Conv2d((corr_dim2 or corr_dim) + flow_dim, fc_dim, 3, padding=1)
        self.gru = self.head(fc_dim + 4 + cdim, hidden, hidden)
        self.feat_head = self.head(hidden, hidden, cdim)
        self.flow_head = self.head(hidden, hidden, 4)

    @staticmethod
    def head(cin: int, hidden: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, hidden, 3, padding=1), nn.LeakyReLU(0.1, True), nn.Conv2d(hidden, cout, 3, padding=1)
        )

    def forward(self, net: torch.Tensor, flow: torch.Tensor, corr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.scale is not None:
            net = resize(net, 1 / self.scale)
        cor = F.leaky_relu(self.convc1(corr), 0.1)
        if hasattr(self, "convc2"):
            cor = F.leaky_relu(self.convc2(cor), 0.1)
        flo = F.leaky_relu(self.convf2(F.leaky_relu(self.convf1(flow), 0.1)), 0.1)
        inp = F.leaky_relu(self.conv(torch.cat([cor, flo], dim=1)), 0.1)
        out = self.gru(torch.cat([inp, flow, net], dim=1))
        delta_net, delta_flow = self.feat_head(out), self.flow_head(out)
        if self.scale is not None:
            delta_net = resize(delta_net, self.scale)
            delta_flow = self.scale * resize(delta_flow, self.scale)
        return delta_net, delta_flow


# ----------------------------------------------------------------------------- IFRNet-style pyramid and decoders


class ResBlock(nn.Module):
    """IFRNet's residual block: its last ``side`` channels get extra 3x3 convolutions between the full-width ones."""

    def __init__(self, channels: int, side: int) -> None:
        super().__init__()
        self.side = side
        self.conv1 = conv_prelu(channels, channels)
        self.conv2 = conv_prelu(side, side)
        self.conv3 = conv_prelu(channels, channels)
        self.conv4 = conv_prelu(side, side)
        self.conv5 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.prelu = nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        out = self.conv3(torch.cat([out[:, : -self.side], self.conv2(out[:, -self.side :])], 1))
        out = self.conv5(torch.cat([out[:, : -self.side], self.conv4(out[:, -self.side :])], 1))
        return self.prelu(x + out)


class Pyramid(nn.Module):
    """Context features at 1/2, 1/4, 1/8, 1/16 (``pyramid1`` .. ``pyramid4``); ``large``: a 7x7 first convolution."""

    def __init__(self, channels: tuple[int, ...], large: bool) -> None:
        super().__init__()
        self.levels = len(channels)
        previous = 3
        for index, width in enumerate(channels, 1):
            kernel = 7 if large and index == 1 else 3
            self.add_module(
                f"pyramid{index}",
                nn.Sequential(conv_prelu(previous, width, kernel, 2, kernel // 2), conv_prelu(width, width)),
            )
            previous = width

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for index in range(1, self.levels + 1):
            x = getattr(self, f"pyramid{index}")(x)
            features.append(x)
        return features


class Decoder(nn.Module):
    """One level up: a convolution, an IFRNet ResBlock and a 2x transposed convolution to ``outputs`` channels.

    The first (coarsest) decoder reads both frames' features and t; the others the intermediate feature, both
    frames' features warped by the flows so far, and those flows, and add the flows (upsampled 2x, doubled) back.
    """

    def __init__(self, width: int, inputs: int, outputs: int, side: int) -> None:
        super().__init__()
        self.convblock = nn.Sequential(
            conv_prelu(inputs, width), ResBlock(width, side), nn.ConvTranspose2d(width, outputs, 4, 2, 1)
        )

    def first(self, f0: torch.Tensor, f1: torch.Tensor, embt: torch.Tensor) -> torch.Tensor:
        height, width = f0.shape[2:]
        return self.convblock(torch.cat([f0, f1, embt.repeat(1, 1, height, width)], 1))

    def refine(
        self, ft: torch.Tensor, f0: torch.Tensor, f1: torch.Tensor, flow0: torch.Tensor, flow1: torch.Tensor
    ) -> torch.Tensor:
        return self.convblock(torch.cat([ft, warp(f0, flow0), warp(f1, flow1), flow0, flow1], 1))
