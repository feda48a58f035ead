"""``lpips``: LPIPS v0.1 (AlexNet) of each compared frame against the ground truth, from local weights files.

torchmetrics' LPIPS network with its bundled v0.1 linear layers and torchvision's ImageNet AlexNet
backbone, both read weights-only here (torchmetrics' constructor is told to load nothing itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.psnr import frames_as_float
from kfbench.metrics.shapes import PerFrame
from kfbench.metrics.weights import WeightsFile
from kfbench.utils.parallel import frames_per_batch

LPIPS_BACKBONE = WeightsFile(
    "LPIPS AlexNet backbone weights",
    "--lpips-weights",
    ("alexnet-owt-7be5be79.pth",),
    "torchvision's ImageNet AlexNet (alexnet-owt-7be5be79.pth, https://download.pytorch.org/models/)",
)
LPIPS_WHAT = "LPIPS AlexNet backbone file"
LPIPS_TAG = "lpips-v0.1-alexnet"


def linear_layers() -> Path:
    """The v0.1 linear layers torchmetrics ships (its constructor would torch.load them without weights_only)."""
    from torchmetrics.functional.image import lpips as torchmetrics_lpips

    return Path(torchmetrics_lpips.__file__).parent / "lpips_models" / "alex.pth"


def load_lpips(backbone: Path) -> Any:
    """LPIPS v0.1 (AlexNet): torchmetrics' bundled linear layers + torchvision AlexNet weights from a file."""
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    from kfbench.utils.safeload import load_weights_only, state_dict_of

    state = state_dict_of(load_weights_only(backbone, LPIPS_WHAT), LPIPS_WHAT, backbone)
    model = _NoTrainLpips(pretrained=False, net="alex", pnet_rand=True)
    linear, what = linear_layers(), "torchmetrics' LPIPS linear layers"
    result = model.load_state_dict(state_dict_of(load_weights_only(linear, what), what, linear), strict=False)
    if result.unexpected_keys:
        raise KfbenchError(
            f"{what} '{linear}' hold unexpected layers {result.unexpected_keys[:3]}; reinstall torchmetrics"
        )
    slices = (model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5)
    try:  # the slices' layers keep AlexNet's feature indices as names: features.3 is slice2's "3"
        model.net.load_state_dict(
            {
                f"slice{k}.{name}.{param}": state[f"features.{name}.{param}"]
                for k, slice_ in enumerate(slices, 1)
                for name, layer in slice_.named_children()
                for param, _ in layer.named_parameters()
            }
        )
    except KeyError as exc:
        raise KfbenchError(f"'{backbone}' is not torchvision's AlexNet state_dict (no {exc})") from None
    except RuntimeError as exc:
        raise KfbenchError(
            f"'{backbone}' is not torchvision's AlexNet state_dict ({str(exc).splitlines()[0]})"
        ) from None
    return model.eval()


CPU_BATCH, GPU_BATCH = 4, 16
"""Frames LPIPS takes at once at 576x1024 (``frames_per_batch``: 1 at 1080p on the CPU, where a frame's AlexNet maps
and their differences take about 0.5 GB; the CPU goes no faster with more)."""


class LpipsPerFrame:
    """uint8 frame pairs -> LPIPS distance per frame (lower is closer)."""

    tag = LPIPS_TAG

    def __init__(self, backbone: Path, *, device: str = "cpu", batch_size: int | None = None):
        self.model, self.device = load_lpips(backbone).to(device), device
        self.batch_size = batch_size or (CPU_BATCH if device == "cpu" else GPU_BATCH)

    def __call__(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        import torch

        out, size = [], frames_per_batch(*generated.shape[1:3], self.batch_size)
        with torch.no_grad():
            for start in range(0, len(generated), size):
                a = frames_as_float(generated[start : start + size], "float32").to(self.device) / 127.5 - 1
                b = frames_as_float(truth[start : start + size], "float32").to(self.device) / 127.5 - 1
                out.append(self.model(a, b).reshape(-1).double().cpu().numpy())
        return np.concatenate(out)


class LpipsMetric(PerFrame):
    name = "lpips"
    min_side, min_side_why = 31, "AlexNet's strided convolution and two 3x3 poolings before its last layer"
    description = "LPIPS v0.1 (AlexNet) per compared frame against the ground truth"
    higher_is_better = False
    label, digits, table = "LPIPS", 3, "table1"
    weights = (LPIPS_BACKBONE,)
    papers = ("Zhang et al.: The unreasonable effectiveness of deep features as a perceptual metric, CVPR 2018",)
    extractor_tag = LPIPS_TAG

    def model(self) -> LpipsPerFrame:
        return self.models.get(
            ("lpips", self.weights_paths), lambda: LpipsPerFrame(self.weights_paths[0], device=self.config.device)
        )

    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return self.model()(generated, truth)

    def details(self) -> dict[str, Any]:
        return {"net": "alex", "version": "0.1", "weights": str(self.weights_paths[0])}
