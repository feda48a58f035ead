"""FVD features: the Kinetics-400 I3D (Carreira & Zisserman 2017), in two file forms.

- ``InceptionI3d``: written here; its state_dict keys are those of the common
  ``i3d_pretrained_400.pt`` (converted from TF-hub ``i3d-kinetics-400/1``): ``Conv3d_1a_7x7.conv3d.weight``,
  ``Mixed_3b.b1b.bn.running_mean``, ``logits.conv3d.bias``, ... Convolutions and max pools pad
  like TF's 'SAME'; the final average pool is [2, 7, 7] 'VALID'. Features are the 400 logits
  averaged over time.
- StyleGAN-V's TorchScript ``i3d_torchscript.pt``: by default its tensors are read as data
  (kfbench.utils.safeload) into ``InceptionI3d``, which then runs as for the state_dict; only with
  ``--allow-torchscript-code`` is the archive loaded with torch.jit.load (running its code) and called as
  ``detector(x, rescale=True, resize=True, return_features=True)`` on uint8 [B, 3, T, H, W].

Both need at least 9 frames per clip.

BatchNorm epsilon: TF-hub's I3D uses 1e-3; the PyTorch port that made ``i3d_pretrained_400.pt``
(piergiaj/pytorch-i3d, as used by TATS, VideoGPT and cd-fvd) builds its modules with PyTorch's
1e-5 and its converted statistics are used with that value. The state_dict form follows its port
(``"port"``, the default); ``"tensorflow"`` (1e-3) is kept as a named option.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kfbench.errors import KfbenchError
from kfbench.utils.parallel import chunks
from kfbench.utils.safeload import (
    CODE_FLAG,
    is_torchscript,
    load_weights_only,
    read_torchscript,
    run_torchscript,
    state_dict_of,
)

MIN_FRAMES = 9
I3D_SIZE = 224
BN_EPS = {"port": 1e-5, "tensorflow": 1e-3}


def _same_pad(x: torch.Tensor, kernel: list[int], stride: list[int]) -> torch.Tensor:
    """Zero padding so that a strided window covers the input like TF's 'SAME'."""
    pads: list[int] = []
    for dim in (2, 1, 0):  # F.pad takes the last dimension first: W, H, T
        size = x.shape[2 + dim]
        total = max(kernel[dim] - (stride[dim] if size % stride[dim] == 0 else size % stride[dim]), 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class Unit3D(nn.Module):
    """Conv3d ('SAME') + optional BatchNorm3d + optional ReLU."""

    def __init__(
        self, cin: int, cout: int, kernel: list[int], stride: list[int] | None = None, *, logits: bool = False
    ):
        super().__init__()
        stride = [1, 1, 1] if stride is None else stride  # a list: TorchScript types the attribute from its value
        self.kernel, self.stride, self.relu = kernel, stride, not logits
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride=stride, bias=logits)
        self.bn = nn.Identity() if logits else nn.BatchNorm3d(cout, eps=BN_EPS["port"], momentum=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv3d(_same_pad(x, self.kernel, self.stride)))
        return F.relu(x) if self.relu else x


class MaxPoolSame(nn.Module):
    """TF 'SAME' max pooling; with ``fixed`` the hassony2 port's form: padding (k - s) split as for an input that
    the stride divides, whatever its size, and ceil mode (the two differ in time when an odd length is pooled by 2)."""

    def __init__(self, kernel: list[int], stride: list[int]):
        super().__init__()
        self.kernel, self.stride, self.fixed = kernel, stride, False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fixed:
            return F.max_pool3d(_same_pad(x, self.kernel, self.stride), self.kernel, self.stride)
        pads: list[int] = []
        for dim in (2, 1, 0):
            total = max(self.kernel[dim] - self.stride[dim], 0)
            pads += [total // 2, total - total // 2]
        return F.max_pool3d(F.pad(x, pads), self.kernel, self.stride, ceil_mode=True)


class InceptionModule(nn.Module):
    """Four branches: 1x1; 1x1 -> 3x3x3; 1x1 -> 3x3x3; 3x3x3 max pool -> 1x1."""

    def __init__(self, cin: int, widths: list[int]):
        super().__init__()
        self.b0 = Unit3D(cin, widths[0], [1, 1, 1])
        self.b1a = Unit3D(cin, widths[1], [1, 1, 1])
        self.b1b = Unit3D(widths[1], widths[2], [3, 3, 3])
        self.b2a = Unit3D(cin, widths[3], [1, 1, 1])
        self.b2b = Unit3D(widths[3], widths[4], [3, 3, 3])
        self.b3a = MaxPoolSame([3, 3, 3], [1, 1, 1])
        self.b3b = Unit3D(cin, widths[5], [1, 1, 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


class InceptionI3d(nn.Module):
    """Inception-v1 I3D; input [B, 3, T, 224, 224] in [-1, 1]; output time-averaged logits [B, classes]."""

    def __init__(self, num_classes: int = 400):
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, [7, 7, 7], [2, 2, 2])
        self.MaxPool3d_2a_3x3 = MaxPoolSame([1, 3, 3], [1, 2, 2])
        self.Conv3d_2b_1x1 = Unit3D(64, 64, [1, 1, 1])
        self.Conv3d_2c_3x3 = Unit3D(64, 192, [3, 3, 3])
        self.MaxPool3d_3a_3x3 = MaxPoolSame([1, 3, 3], [1, 2, 2])
        self.Mixed_3b = InceptionModule(192, [64, 96, 128, 16, 32, 32])
        self.Mixed_3c = InceptionModule(256, [128, 128, 192, 32, 96, 64])
        self.MaxPool3d_4a_3x3 = MaxPoolSame([3, 3, 3], [2, 2, 2])
        self.Mixed_4b = InceptionModule(480, [192, 96, 208, 16, 48, 64])
        self.Mixed_4c = InceptionModule(512, [160, 112, 224, 24, 64, 64])
        self.Mixed_4d = InceptionModule(512, [128, 128, 256, 24, 64, 64])
        self.Mixed_4e = InceptionModule(512, [112, 144, 288, 32, 64, 64])
        self.Mixed_4f = InceptionModule(528, [256, 160, 320, 32, 128, 128])
        self.MaxPool3d_5a_2x2 = MaxPoolSame([2, 2, 2], [2, 2, 2])
        self.Mixed_5b = InceptionModule(832, [256, 160, 320, 32, 128, 128])
        self.Mixed_5c = InceptionModule(832, [384, 192, 384, 48, 128, 128])
        self.logits = Unit3D(1024, num_classes, [1, 1, 1], logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.MaxPool3d_3a_3x3(self.Conv3d_2c_3x3(self.Conv3d_2b_1x1(self.MaxPool3d_2a_3x3(self.Conv3d_1a_7x7(x)))))
        x = self.MaxPool3d_4a_3x3(self.Mixed_3c(self.Mixed_3b(x)))
        x = self.Mixed_4f(self.Mixed_4e(self.Mixed_4d(self.Mixed_4c(self.Mixed_4b(x)))))
        x = self.Mixed_5c(self.Mixed_5b(self.MaxPool3d_5a_2x2(x)))
        x = self.logits(F.avg_pool3d(x, [2, 7, 7], stride=1))
        return x.mean(dim=[2, 3, 4])


WHAT = "I3D weights file"
_FIRST_KEY = "Conv3d_1a_7x7.conv3d.weight"


def set_bn_eps(model: nn.Module, convention: str) -> nn.Module:
    """Every BatchNorm's epsilon set to a named convention of ``BN_EPS``."""
    if convention not in BN_EPS:
        raise KfbenchError(f"I3D BatchNorm epsilon convention must be one of {', '.join(BN_EPS)}, got '{convention}'")
    for module in model.modules():
        if isinstance(module, nn.BatchNorm3d):
            module.eps = BN_EPS[convention]
    return model


def load_i3d_state_dict(path: Path) -> InceptionI3d:
    """InceptionI3d with the weights of an ``i3d_pretrained_400.pt``-style state_dict (loaded weights-only)."""
    state = state_dict_of(load_weights_only(path, WHAT), WHAT, path)
    return _i3d_with({k.removeprefix("module."): v for k, v in state.items()}, path, "i3d_pretrained_400.pt keys")


def load_i3d_torchscript_weights(path: Path) -> tuple[InceptionI3d, bool]:
    """InceptionI3d with the tensors of a TorchScript archive, read as data (its code does not run); and whether
    the archive is hassony2/kinetics_i3d_pytorch's ``I3D`` (StyleGAN-V's ``i3d_torchscript.pt``).

    The archive's tensor names must be InceptionI3d's, or hassony2's ``I3D`` names, under one common
    prefix (e.g. ``i3d.``); anything else is refused rather than guessed. hassony2's model is
    rebuilt as it computes: BatchNorm epsilon 1e-3 and its max-pool padding (:class:`MaxPoolSame`).
    """
    tensors = read_torchscript(path, WHAT)
    for first in (_FIRST_KEY, _HASSONY2_FIRST_KEY):
        prefixes = {name[: -len(first)] for name in tensors if name.endswith(first)}
        prefix = next(iter(prefixes), "")
        if len(prefixes) == 1 and all(name.startswith(prefix) for name in tensors):
            state = {k[len(prefix) :]: v for k, v in tensors.items()}
            break
    else:
        raise KfbenchError(
            f"the TorchScript archive '{path}' does not name its tensors like InceptionI3d or hassony2's I3D under one "
            f"prefix (found e.g. {sorted(tensors)[:3]}), so kfbench cannot read its weights as data; pass an "
            f"i3d_pretrained_400.pt state_dict, or {CODE_FLAG} to run the archive's own code"
        )
    if first == _FIRST_KEY:
        return _i3d_with(state, path, "InceptionI3d names"), False
    model = set_bn_eps(_i3d_with(_from_hassony2(state, path), path, "hassony2 I3D names"), "tensorflow")
    for module in model.modules():
        if isinstance(module, MaxPoolSame):
            module.fixed = True
    return model, True


_HASSONY2_FIRST_KEY = "conv3d_1a_7x7.conv3d.weight"
_HASSONY2_NAME = re.compile(
    r"(conv3d_1a_7x7|conv3d_2b_1x1|conv3d_2c_3x3|conv3d_0c_1x1|mixed_[345][b-f])\."
    r"(?:(branch_0|branch_[12]\.[01]|branch_3\.1)\.)?(conv3d|batch3d)\.(\w+)"
)
_HASSONY2_BRANCHES = {
    "branch_0": "b0",
    "branch_1.0": "b1a",
    "branch_1.1": "b1b",
    "branch_2.0": "b2a",
    "branch_2.1": "b2b",
    "branch_3.1": "b3b",
}


def _from_hassony2(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """hassony2 ``I3D`` names -> InceptionI3d names (``mixed_3b.branch_1.0.batch3d.weight`` ->
    ``Mixed_3b.b1a.bn.weight``)."""
    mapped = {}
    for name, tensor in state.items():
        match = _HASSONY2_NAME.fullmatch(name)
        if match is None:
            raise KfbenchError(
                f"'{path}' has hassony2 I3D names but also {name!r}, which that model does not have; "
                f"kfbench cannot read it as data: pass {CODE_FLAG} to run the archive's own code"
            )
        block, branch, layer, field = match.groups()
        block = "logits" if block == "conv3d_0c_1x1" else block[0].upper() + block[1:]
        parts = [block, *([_HASSONY2_BRANCHES[branch]] if branch else []), "bn" if layer == "batch3d" else layer, field]
        mapped[".".join(parts)] = tensor
    return mapped


def _i3d_with(state: dict[str, torch.Tensor], path: Path, layout: str) -> InceptionI3d:
    """InceptionI3d loaded from ``state``; any missing (but num_batches_tracked) or unexpected key is an error."""
    bias = state.get("logits.conv3d.bias")
    model = InceptionI3d(num_classes=bias.shape[0] if bias is not None and bias.ndim == 1 else 400)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # wrong shapes
        raise KfbenchError(
            f"'{path}' does not match InceptionI3d ({layout}): {str(exc).splitlines()[-1].strip()}"
        ) from None
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise KfbenchError(
            f"'{path}' does not match InceptionI3d ({layout}): "
            f"missing {missing[:3]}, unexpected {result.unexpected_keys[:3]}"
        )
    return model.eval()


class ClipFeatures:
    """One clip uint8 [T, H, W, 3] -> I3D features [1, D], from either weights form.

    A TorchScript file's tensors are read into InceptionI3d as data; with ``allow_torchscript_code``
    the archive itself is loaded and called, which runs its code.
    """

    def __init__(self, path: Path, *, device: str = "cpu", allow_torchscript_code: bool = False, bn_eps: str = "port"):
        self.torchscript = is_torchscript(path)
        self.runs_code = self.torchscript and allow_torchscript_code
        if self.runs_code:
            self.model = run_torchscript(path, WHAT, device=device)
        self.hassony2 = False
        if self.runs_code:
            pass
        elif self.torchscript:
            self.model, self.hassony2 = load_i3d_torchscript_weights(path)
            if not self.hassony2:
                set_bn_eps(self.model, bn_eps)
        else:
            self.model = set_bn_eps(load_i3d_state_dict(path), bn_eps)
        self.model = self.model.to(device).eval()
        eps = "" if bn_eps == "port" or self.runs_code or self.hassony2 else f"-bn-eps-{BN_EPS[bn_eps]:g}"
        form = (
            "torchscript"
            if self.runs_code
            else "torchscript-weights-hassony2"
            if self.hassony2
            else "torchscript-weights"
            if self.torchscript
            else "state-dict"
        )
        self.tag = f"i3d-kinetics400-{form}{eps}/logits"
        self.dims, self.device = 400, device

    @torch.no_grad()
    def __call__(self, clip: np.ndarray) -> np.ndarray:
        if len(clip) < MIN_FRAMES:
            raise KfbenchError(
                f"FVD needs clips of at least {MIN_FRAMES} frames (I3D pools time by 8, then a 2-frame window), "
                f"got {len(clip)}; use --include-keyframes or a larger --fvd-window"
            )
        video = torch.from_numpy(np.ascontiguousarray(clip)).to(self.device)  # [T, H, W, 3] uint8
        if self.runs_code:
            x = video.permute(3, 0, 1, 2)[None]
            out = self.model(x, rescale=True, resize=True, return_features=True)
        else:
            frames = torch.cat(  # a few frames as floats at a time (a whole 81-frame 1080p clip is 2 GB of them)
                [
                    F.interpolate(
                        video[part].permute(0, 3, 1, 2).float(),
                        size=(I3D_SIZE, I3D_SIZE),
                        mode="bilinear",
                        align_corners=False,
                    )
                    for part in chunks(len(video))
                ]
            )
            out = self.model((frames / 127.5 - 1.0).permute(1, 0, 2, 3)[None])
        return out.double().cpu().numpy().reshape(1, -1)
