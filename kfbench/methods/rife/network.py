"""RIFE's IFNet as released in Practical-RIFE 4.25 and 4.26, and the heavy 4.26 variant, in plain PyTorch.

Five IFBlocks refine a bidirectional flow coarse to fine (at 1/16 .. 1/1 of the frame for scale 1),
each from both frames warped by the flow so far, both frames' Head features warped the same way,
the time t as a constant channel, the previous fusion mask and an 8-channel feature; the frame at
t is the two warped frames blended by the sigmoid of the last mask. 4.25 and 4.26 share this
architecture (Head features of 4 channels); 4.26 heavy has 16-channel Head features. The module
tree matches the release's ``flownet.pkl`` keys (after its ``module.`` prefix): ``block0`` ..
``block4`` (``conv0.{0,1}.0``, ``convblock.{0..7}.conv``/``.beta``, ``lastconv.0``) and ``encode``
(``cnn0`` .. ``cnn3``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

BLOCK_WIDTHS = (192, 128, 96, 64, 32)
BLOCK_SCALES = (16, 8, 4, 2, 1)  # each block's downsampling at scale 1: the release's scale_list
MASK_AND_FEATURE = 1 + 8  # channels an IFBlock passes on besides the 4 flow channels


@dataclass(frozen=True)
class RifeConfig:
    """One released IFNet: its version name and its Head's feature channels per frame."""

    version: str
    head_channels: int


VERSIONS: dict[str, RifeConfig] = {
    "4.25": RifeConfig("4.25", 4),
    "4.26": RifeConfig("4.26", 4),
    "4.26-heavy": RifeConfig("4.26-heavy", 16),
}


def conv_lrelu(cin: int, cout: int) -> nn.Sequential:
    """A stride-2 3x3 convolution and LeakyReLU(0.2): one step of an IFBlock's downsampling stem."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.LeakyReLU(0.2, True))


def resize(x: torch.Tensor, factor: float) -> torch.Tensor:
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward-warp ``image`` by ``flow`` (pixels, x then y): bilinear, border padding, align_corners=True."""
    batch, _, height, width = flow.shape
    xs = torch.linspace(-1.0, 1.0, width, device=flow.device, dtype=flow.dtype).view(1, 1, 1, width)
    ys = torch.linspace(-1.0, 1.0, height, device=flow.device, dtype=flow.dtype).view(1, 1, height, 1)
    grid = torch.cat([xs.expand(batch, 1, height, width), ys.expand(batch, 1, height, width)], 1)
    scaled = torch.cat(
        [flow[:, 0:1] / ((image.shape[3] - 1.0) / 2.0), flow[:, 1:2] / ((image.shape[2] - 1.0) / 2.0)], 1
    )
    sample_at = (grid + scaled).permute(0, 2, 3, 1).to(image.dtype)
    return F.grid_sample(image, sample_at, mode="bilinear", padding_mode="border", align_corners=True)


class Head(nn.Module):
    """Per-frame features at full resolution: three 3x3 convolutions (the first stride 2) and a 2x transposed one."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.cnn0 = nn.Conv2d(3, 16, 3, 2, 1)
        self.cnn1 = nn.Conv2d(16, 16, 3, 1, 1)
        self.cnn2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.cnn3 = nn.ConvTranspose2d(16, channels, 4, 2, 1)
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.cnn0(x))
        x = self.relu(self.cnn1(x))
        x = self.relu(self.cnn2(x))
        return self.cnn3(x)


class ResConv(nn.Module):
    """x + beta * conv(x), then LeakyReLU(0.2); beta is a learned per-channel scale."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones((1, channels, 1, 1)))
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x) * self.beta + x)


class IFBlock(nn.Module):
    """At 1/``scale`` of the frame: 4x down, eight residual convolutions, 4x up to flow (4), mask (1), feature (8)."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(conv_lrelu(in_channels, width // 2), conv_lrelu(width // 2, width))
        self.convblock = nn.Sequential(*(ResConv(width) for _ in range(8)))
        self.lastconv = nn.Sequential(
            nn.ConvTranspose2d(width, 4 * (4 + MASK_AND_FEATURE), 4, 2, 1), nn.PixelShuffle(2)
        )

    def forward(
        self, x: torch.Tensor, flow: torch.Tensor | None, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = resize(x, 1.0 / scale)
        if flow is not None:
            x = torch.cat((x, resize(flow, 1.0 / scale) / scale), 1)
        out = resize(self.lastconv(self.convblock(self.conv0(x))), scale)
        return out[:, :4] * scale, out[:, 4:5], out[:, 5:]


class IFNet(nn.Module):
    """The frame at time t between two frames (B x 3 x H x W in [0, 1], H and W padded as the release pads)."""

    def __init__(self, config: RifeConfig = VERSIONS["4.25"]) -> None:
        super().__init__()
        self.config = config
        features = 2 * config.head_channels
        first = 3 + 3 + features + 1  # both frames, both Head features, t
        later = first + MASK_AND_FEATURE + 4  # frames and features warped in their place, + mask, feature, flow so far
        for index, width in enumerate(BLOCK_WIDTHS):
            self.add_module(f"block{index}", IFBlock(first if index == 0 else later, width))
        self.encode = Head(config.head_channels)

    def blocks(self) -> list[IFBlock]:
        return [getattr(self, f"block{i}") for i in range(len(BLOCK_WIDTHS))]

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, time: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """``time``: one t per batch item; ``scale``: the flow scale (0.5 for 4K): blocks at scale/16 .. scale."""
        batch, _, height, width = img0.shape
        t = time.to(img0.dtype).view(batch, 1, 1, 1).expand(batch, 1, height, width)
        f0, f1 = self.encode(img0), self.encode(img1)
        warped0, warped1 = img0, img1
        flow = mask = feature = None
        for block, level in zip(self.blocks(), BLOCK_SCALES):
            if flow is None:
                flow, mask, feature = block(torch.cat((img0, img1, f0, f1, t), 1), None, level / scale)
            else:
                wf0, wf1 = warp(f0, flow[:, :2]), warp(f1, flow[:, 2:4])
                inputs = torch.cat((warped0, warped1, wf0, wf1, t, mask, feature), 1)
                delta, mask, feature = block(inputs, flow, level / scale)
                flow = flow + delta
            warped0, warped1 = warp(img0, flow[:, :2]), warp(img1, flow[:, 2:4])
        weight = torch.sigmoid(mask)
        return warped0 * weight + warped1 * (1 - weight)


def build(version: str) -> IFNet:
    """The IFNet of ``version`` (random initial weights)."""
    return IFNet(VERSIONS[version])
