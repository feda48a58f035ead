"""Weights files in the layouts real releases use, built the way their producers' code builds them (random weights).

- FILM before the PyTorch port's 2023-11-21 ``util.conv`` change: convolutions without an activation are
  bare ``Conv2d`` modules, so 16 tensors lack the inner ``.0`` (``fuse.convs.0.0.weight``); saved as a
  traced TorchScript archive like ``film_net_fp32.pt``.
- StyleGAN-V's ``i3d_torchscript.pt``: hassony2/kinetics_i3d_pytorch's ``I3D`` module tree (``conv3d_1a_7x7``,
  ``mixed_3b.branch_1.0.batch3d``, BatchNorm eps 1e-3, its 'SAME' padding and ceil-mode max pools),
  scripted inside a detector called as ``detector(x, rescale=True, resize=True, return_features=True)``.
  Written here from that repository's description of the model (src/i3dpt.py), not copied.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from kfbench.methods.film.network import Conv, FilmNet


class BareConv(nn.Conv2d):
    """The old port's convolution without activation: a Conv2d itself (TF 'same' padding for even kernels)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel_size[0] % 2 == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return super().forward(x)


def old_layout_film(seed: int = 0) -> nn.Module:
    """A random FilmNet whose activation-free convolutions are bare Conv2d modules (the pre-2023-11-21 names)."""
    torch.manual_seed(seed)
    network = FilmNet().eval()
    for name, module in list(network.named_modules()):
        if isinstance(module, Conv) and not module.activate:
            conv = module[0]
            bare = BareConv(conv.in_channels, conv.out_channels, conv.kernel_size, padding=conv.padding)
            bare.load_state_dict(conv.state_dict())
            parent_name, _, child = name.rpartition(".")
            setattr(network.get_submodule(parent_name), child, bare)
    return network


def save_old_layout_film(path: Path, seed: int = 0) -> tuple[Path, nn.Module]:
    network = old_layout_film(seed)
    x = torch.rand(1, 3, 64, 64)
    traced = torch.jit.trace(network, (x, x.flip(-1), torch.full((1,), 0.5)), check_trace=False)
    torch.jit.save(traced, str(path))
    return path, network


class Unit(nn.Module):
    """Conv3d with TF 'SAME' padding (time by the input length modulo the stride, height/width as if divisible),
    then BatchNorm (eps 1e-3) and ReLU, or a biased linear output."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: tuple[int, int, int],
        stride: tuple[int, int, int] = (1, 1, 1),
        logits: bool = False,
    ) -> None:
        super().__init__()
        self.kernel, self.stride, self.logits = kernel, stride, logits
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride=stride, bias=logits)
        self.batch3d = nn.Identity() if logits else nn.BatchNorm3d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for dim in (2, 1, 0):
            k, s = self.kernel[dim], self.stride[dim]
            mod = x.shape[2] % s if dim == 0 else 0
            along = max(k - mod, 0) if mod > 0 else max(k - s, 0)
            pads += [along // 2, along - along // 2]
        x = self.batch3d(self.conv3d(F.pad(x, pads)))
        return x if self.logits else F.relu(x)


class Pool(nn.Module):
    """Max pool padded by (kernel - stride) whatever the input size, in ceil mode."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for dim in (2, 1, 0):
            along = max(self.kernel[dim] - self.stride[dim], 0)
            pads += [along // 2, along - along // 2]
        return F.max_pool3d(F.pad(x, pads), self.kernel, self.stride, ceil_mode=True)


class Mixed(nn.Module):
    def __init__(self, cin: int, w: list[int]) -> None:
        super().__init__()
        one, three = (1, 1, 1), (3, 3, 3)
        self.branch_0 = Unit(cin, w[0], one)
        self.branch_1 = nn.Sequential(Unit(cin, w[1], one), Unit(w[1], w[2], three))
        self.branch_2 = nn.Sequential(Unit(cin, w[3], one), Unit(w[3], w[4], three))
        self.branch_3 = nn.Sequential(Pool(three, one), Unit(cin, w[5], one))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch_0(x), self.branch_1(x), self.branch_2(x), self.branch_3(x)], 1)


class HassonyI3D(nn.Module):
    def __init__(self, classes: int = 400) -> None:
        super().__init__()
        self.conv3d_1a_7x7 = Unit(3, 64, (7, 7, 7), (2, 2, 2))
        self.maxPool3d_2a_3x3 = Pool((1, 3, 3), (1, 2, 2))
        self.conv3d_2b_1x1 = Unit(64, 64, (1, 1, 1))
        self.conv3d_2c_3x3 = Unit(64, 192, (3, 3, 3))
        self.maxPool3d_3a_3x3 = Pool((1, 3, 3), (1, 2, 2))
        self.mixed_3b = Mixed(192, [64, 96, 128, 16, 32, 32])
        self.mixed_3c = Mixed(256, [128, 128, 192, 32, 96, 64])
        self.maxPool3d_4a_3x3 = Pool((3, 3, 3), (2, 2, 2))
        self.mixed_4b = Mixed(480, [192, 96, 208, 16, 48, 64])
        self.mixed_4c = Mixed(512, [160, 112, 224, 24, 64, 64])
        self.mixed_4d = Mixed(512, [128, 128, 256, 24, 64, 64])
        self.mixed_4e = Mixed(512, [112, 144, 288, 32, 64, 64])
        self.mixed_4f = Mixed(528, [256, 160, 320, 32, 128, 128])
        self.maxPool3d_5a_2x2 = Pool((2, 2, 2), (2, 2, 2))
        self.mixed_5b = Mixed(832, [256, 160, 320, 32, 128, 128])
        self.mixed_5c = Mixed(832, [384, 192, 384, 48, 128, 128])
        self.conv3d_0c_1x1 = Unit(1024, classes, (1, 1, 1), logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxPool3d_3a_3x3(self.conv3d_2c_3x3(self.conv3d_2b_1x1(self.maxPool3d_2a_3x3(self.conv3d_1a_7x7(x)))))
        x = self.maxPool3d_4a_3x3(self.mixed_3c(self.mixed_3b(x)))
        x = self.mixed_4f(self.mixed_4e(self.mixed_4d(self.mixed_4c(self.mixed_4b(x)))))
        x = self.mixed_5c(self.mixed_5b(self.maxPool3d_5a_2x2(x)))
        x = self.conv3d_0c_1x1(F.avg_pool3d(x, (2, 7, 7), (1, 1, 1)))
        return x.mean(dim=[2, 3, 4])


class Detector(nn.Module):
    """StyleGAN-V's calling convention around the I3D: uint8 [B, 3, T, H, W] in, 400 logits out."""

    def __init__(self) -> None:
        super().__init__()
        self.i3d = HassonyI3D()

    def forward(
        self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = False
    ) -> torch.Tensor:
        b, c, t, h, w = x.shape
        x = x.float()
        if resize:
            frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
            frames = F.interpolate(frames, size=(224, 224), mode="bilinear", align_corners=False)
            x = frames.reshape(b, t, c, 224, 224).permute(0, 2, 1, 3, 4)
        if rescale:
            x = x / 127.5 - 1.0
        return self.i3d(x)


def save_stylegan_v_i3d(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    detector = Detector().eval()
    with torch.no_grad():
        for module in detector.modules():
            if isinstance(module, nn.BatchNorm3d):  # small variances, so that eps matters
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(1e-3, 2e-3)
    torch.jit.save(torch.jit.script(detector), str(path))
    return path
