"""RAFT optical flow (Teed and Deng, ECCV 2020), the full-size model of ``raft-things.pth``, as VBench's copy of the
authors' code runs it (``test_mode``, 20 iterations, frames padded to multiples of 8 by edge replication).

Layer names are the checkpoint's (its ``module.`` prefix dropped, as VBench loads it): ``fnet`` (features,
instance norm), ``cnet`` (context, batch norm), ``update_block`` (motion encoder, separable ConvGRU, flow
head, upsampling mask). Frames [N, 3, H, W] with values 0..255 -> flow [N, 2, H, W] at the padded size.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

LEVELS, RADIUS = 4, 4
HIDDEN = CONTEXT = 128


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.InstanceNorm2d(channels)


class Residual(nn.Module):
    """Two 3x3 convolutions with norms and a (strided 1x1) shortcut; the shortcut's norm is also ``norm3``."""

    def __init__(self, into: int, out: int, norm: str, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(into, out, 3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(out, out, 3, padding=1)
        self.norm1, self.norm2 = _norm(norm, out), _norm(norm, out)
        self.downsample = None
        if stride != 1:
            self.norm3 = _norm(norm, out)
            self.downsample = nn.Sequential(nn.Conv2d(into, out, 1, stride=stride), self.norm3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x))))))
        return F.relu((x if self.downsample is None else self.downsample(x)) + y)


class Encoder(nn.Module):
    """7x7 stride-2 convolution, three stages of two residual blocks (64, 96, 128; the last two strided), 1x1 out."""

    def __init__(self, out: int, norm: str):
        super().__init__()
        self.conv1, self.norm1 = nn.Conv2d(3, 64, 7, stride=2, padding=3), _norm(norm, 64)
        widths = (64, 64, 96, 128)
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]), 1):
            stride = 1 if i == 1 else 2
            setattr(self, f"layer{i}", nn.Sequential(Residual(a, b, norm, stride), Residual(b, b, norm, 1)))
        self.conv2 = nn.Conv2d(128, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm1(self.conv1(x)))
        return self.conv2(self.layer3(self.layer2(self.layer1(x))))


class MotionEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.convc1 = nn.Conv2d(LEVELS * (2 * RADIUS + 1) ** 2, 256, 1)
        self.convc2 = nn.Conv2d(256, 192, 3, padding=1)
        self.convf1 = nn.Conv2d(2, 128, 7, padding=3)
        self.convf2 = nn.Conv2d(128, 64, 3, padding=1)
        self.conv = nn.Conv2d(256, 126, 3, padding=1)

    def forward(self, flow: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
        cor = F.relu(self.convc2(F.relu(self.convc1(corr))))
        flo = F.relu(self.convf2(F.relu(self.convf1(flow))))
        return torch.cat([F.relu(self.conv(torch.cat([cor, flo], 1))), flow], 1)


class SeparableGRU(nn.Module):
    """A ConvGRU step with 1x5 convolutions, then one with 5x1."""

    def __init__(self) -> None:
        super().__init__()
        into = HIDDEN + 2 * CONTEXT
        for axis, (kernel, pad) in (("1", ((1, 5), (0, 2))), ("2", ((5, 1), (2, 0)))):
            for gate in "zrq":
                setattr(self, f"conv{gate}{axis}", nn.Conv2d(into, HIDDEN, kernel, padding=pad))

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        for axis in "12":
            hx = torch.cat([h, x], 1)
            z = torch.sigmoid(getattr(self, f"convz{axis}")(hx))
            r = torch.sigmoid(getattr(self, f"convr{axis}")(hx))
            q = torch.tanh(getattr(self, f"convq{axis}")(torch.cat([r * h, x], 1)))
            h = (1 - z) * h + z * q
        return h


class FlowHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(HIDDEN, 256, 3, padding=1), nn.Conv2d(256, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.conv1(x)))


class UpdateBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder, self.gru, self.flow_head = MotionEncoder(), SeparableGRU(), FlowHead()
        self.mask = nn.Sequential(nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, 64 * 9, 1))

    def forward(
        self, net: torch.Tensor, inp: torch.Tensor, corr: torch.Tensor, flow: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        net = self.gru(net, torch.cat([inp, self.encoder(flow, corr)], 1))
        return net, 0.25 * self.mask(net), self.flow_head(net)


def correlation_pyramid(fmap1: torch.Tensor, fmap2: torch.Tensor) -> list[torch.Tensor]:
    """All-pairs feature correlation / sqrt(channels), [N*h*w, 1, h, w], average-pooled by 2 for each coarser level."""
    n, dim, h, w = fmap1.shape
    corr = fmap1.reshape(n, dim, h * w).transpose(1, 2) @ fmap2.reshape(n, dim, h * w)
    corr = (corr / torch.sqrt(torch.tensor(dim).float())).reshape(n * h * w, 1, h, w)
    pyramid = [corr]
    for _ in range(LEVELS - 1):
        pyramid.append(F.avg_pool2d(pyramid[-1], 2, stride=2))
    return pyramid


def look_up(pyramid: list[torch.Tensor], coords: torch.Tensor) -> torch.Tensor:
    """The correlations in a (2r+1)^2 window around each pixel's target at every level: [N, levels*(2r+1)^2, h, w]."""
    n, _, h, w = coords.shape
    offsets = torch.linspace(-RADIUS, RADIUS, 2 * RADIUS + 1, device=coords.device)
    # the window's first axis moves x, its second y (RAFT's meshgrid(dy, dx) read as (x, y))
    delta = torch.stack(torch.meshgrid(offsets, offsets, indexing="ij"), -1).view(1, 2 * RADIUS + 1, 2 * RADIUS + 1, 2)
    centre = coords.permute(0, 2, 3, 1).reshape(n * h * w, 1, 1, 2)
    out = []
    for level, corr in enumerate(pyramid):
        points = centre / 2**level + delta
        height, width = corr.shape[-2:]
        grid = torch.cat([2 * points[..., :1] / (width - 1) - 1, 2 * points[..., 1:] / (height - 1) - 1], -1)
        out.append(F.grid_sample(corr, grid, align_corners=True).view(n, h, w, -1))
    return torch.cat(out, -1).permute(0, 3, 1, 2).contiguous().float()


def upsample(flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Flow at 1/8 -> full size, each fine pixel a softmax-weighted combination of its 3x3 coarse neighbours."""
    n, _, h, w = flow.shape
    weights = torch.softmax(mask.view(n, 1, 9, 8, 8, h, w), dim=2)
    neighbours = F.unfold(8 * flow, [3, 3], padding=1).view(n, 2, 9, 1, 1, h, w)
    return (weights * neighbours).sum(2).permute(0, 1, 4, 2, 5, 3).reshape(n, 2, 8 * h, 8 * w)


def pad_to_eight(*frames: torch.Tensor) -> list[torch.Tensor]:
    """RAFT's InputPadder ('sintel'): edge-replicate to multiples of 8, split evenly (the extra pixel after)."""
    height, width = frames[0].shape[-2:]
    ph, pw = (-height) % 8, (-width) % 8
    return [F.pad(f, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], mode="replicate") for f in frames]


class Raft(nn.Module):
    """Two frames [N, 3, H, W] (0..255, H and W multiples of 8) -> the upsampled flow after ``iters`` updates."""

    def __init__(self) -> None:
        super().__init__()
        self.fnet, self.cnet = Encoder(256, "instance"), Encoder(HIDDEN + CONTEXT, "batch")
        self.update_block = UpdateBlock()

    def forward(self, image1: torch.Tensor, image2: torch.Tensor, iters: int = 20) -> torch.Tensor:
        image1, image2 = 2 * (image1 / 255.0) - 1.0, 2 * (image2 / 255.0) - 1.0
        fmaps = self.fnet(torch.cat([image1, image2]))
        pyramid = correlation_pyramid(*fmaps.float().chunk(2))
        net, inp = torch.split(self.cnet(image1), [HIDDEN, CONTEXT], dim=1)
        net, inp = torch.tanh(net), torch.relu(inp)
        n, _, h, w = net.shape
        ys, xs = torch.meshgrid(torch.arange(h, device=net.device), torch.arange(w, device=net.device), indexing="ij")
        coords0 = torch.stack([xs, ys]).float()[None].repeat(n, 1, 1, 1)
        coords1 = coords0.clone()
        for _ in range(iters):
            net, mask, delta = self.update_block(net, inp, look_up(pyramid, coords1), coords1 - coords0)
            coords1 = coords1 + delta
        return upsample(coords1 - coords0, mask)


def load_raft(path: Path, what: str, flag: str) -> Raft:
    """RAFT from the authors' ``raft-things.pth`` (``module.`` prefixes dropped), read weights-only."""
    from kfbench.metrics.checkpoint import build_loaded
    from kfbench.utils.safeload import load_weights_only, state_dict_of

    state = state_dict_of(load_weights_only(path, what), what, path)
    state = {k.replace("module.", ""): v for k, v in state.items()}
    return build_loaded(Raft, state, path, what, f"RAFT's raft-things.pth (pass that with {flag})")
