"""Random-weight feature extractors saved in the real file formats and key names (no downloads)."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from kfbench.metrics.i3d import InceptionI3d


def save_random_inception(path: Path) -> Path:
    """torch-fidelity's InceptionV3 state_dict (the layout of weights-inception-2015-12-05-6726825d.pth)."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    empty = path.with_suffix(".empty")
    torch.save({}, empty)
    torch.manual_seed(0)
    with mock.patch.object(nn.Module, "load_state_dict", lambda self, state, strict=True: None):
        model = NoTrainInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    torch.save(model.state_dict(), path)
    return path


def random_i3d(seed: int = 0) -> InceptionI3d:
    torch.manual_seed(seed)
    model = InceptionI3d()
    for module in model.modules():  # non-trivial batch-norm statistics, like trained weights
        if isinstance(module, nn.BatchNorm3d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


class StyleGanVDetector(nn.Module):
    """The call signature of StyleGAN-V's i3d_torchscript.pt: (x, rescale, resize, return_features)."""

    def __init__(self, i3d: InceptionI3d):
        super().__init__()
        self.i3d = i3d

    def forward(
        self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = False
    ) -> torch.Tensor:
        x = x.float()
        if rescale:
            x = x / 127.5 - 1.0
        if resize:
            b, c, t, h, w = x.shape
            frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
            frames = F.interpolate(frames, size=(224, 224), mode="bilinear", align_corners=False)
            x = frames.reshape(b, t, c, 224, 224).permute(0, 2, 1, 3, 4)
        logits = self.i3d(x)
        return logits if return_features else torch.softmax(logits, dim=1)


def save_random_i3d(folder: Path) -> tuple[Path, Path, InceptionI3d]:
    """(i3d_pretrained_400.pt state_dict, i3d_torchscript.pt TorchScript archive, the module)."""
    model = random_i3d()
    state_path, script_path = folder / "i3d_pretrained_400.pt", folder / "i3d_torchscript.pt"
    torch.save(model.state_dict(), state_path)
    torch.jit.save(torch.jit.script(StyleGanVDetector(model)), str(script_path))
    return state_path, script_path, model


def save_random_alexnet(path: Path) -> Path:
    """torchvision's AlexNet state_dict (the layout of alexnet-owt-7be5be79.pth)."""
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def random_vgg16_features(seed: int = 0) -> nn.Sequential:
    """torchvision's VGG16 convolutional part (``vgg16().features``), randomly initialised."""
    torch.manual_seed(seed)
    return torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])


def save_random_vgg16(path: Path, seed: int = 0) -> Path:
    """torchvision's VGG16 state_dict keys of vgg16-397923af.pth (``features.*``; the classifier, unread, left out)."""
    state = random_vgg16_features(seed).state_dict()
    torch.save({f"features.{k}": v for k, v in state.items()}, path)
    return path


def random_state(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Uniform random tensors in +-1/sqrt(fan-in) for each name (sorted) and shape: weights in any layout, reproducible
    without building the network that reads them."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name in sorted(shapes):
        shape = shapes[name]
        fan_in = max(1, int(torch.tensor(shape[1:]).prod()) if len(shape) > 1 else 1)
        bound = 1 / fan_in**0.5 if len(shape) > 1 else 0.1
        state[name] = (torch.rand(shape, generator=generator) * 2 - 1) * bound
    return state


def save_random_pwcnet(path: Path, seed: int = 0) -> Path:
    """sniklaus' pytorch-pwc network-default.pytorch layout (``module`` prefixes), random values."""
    from kfbench.metrics.pwcnet import PWCNet

    with torch.device("meta"):
        shapes = {k.replace("net", "module"): tuple(v.shape) for k, v in PWCNet().state_dict().items()}
    torch.save(random_state(shapes, seed), path)
    return path


def save_random_alexnet_features(path: Path, seed: int = 0) -> Path:
    """torchvision's AlexNet keys of alexnet-owt-7be5be79.pth (``features.*``; the classifier, unread, left out),
    random values, without building the 61M-parameter classifier."""
    with torch.device("meta"):
        shapes = {
            f"features.{k}": tuple(v.shape) for k, v in torchvision.models.alexnet().features.state_dict().items()
        }
    torch.save(random_state(shapes, seed), path)
    return path
