"""Per-frame fidelity to ground truth: PSNR and SSIM (torchmetrics) and LPIPS (AlexNet, local weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision
from torchmetrics.functional.image import lpips as torchmetrics_lpips
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)
from torchmetrics.functional.image.lpips import _NoTrainLpips

from kfbench.errors import KfbenchError
from kfbench.utils.safeload import load_weights_only, state_dict_of

LPIPS_WHAT = "LPIPS AlexNet backbone file"
# The v0.1 linear layers torchmetrics ships (and its constructor would torch.load without weights_only).
LPIPS_LINEAR_LAYERS = Path(torchmetrics_lpips.__file__).parent / "lpips_models" / "alex.pth"


def _float(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).double()


PSNR_CAP_DB = 100.0
PSNR_CONVENTION = {
    "data_range": 255,
    "cap_db": PSNR_CAP_DB,
    "pooling": f"mean over frames of min(PSNR, {PSNR_CAP_DB:g} dB) per frame; an exact copy (MSE 0, e.g. a keyframe) "
    f"scores {PSNR_CAP_DB:g}",
}
SSIM_CONVENTION = {
    "data_range": 255,
    "window": "gaussian 11x11, sigma 1.5",
    "constants": "K1 0.01, K2 0.03",
    "borders": "reflect-padded",
    "pooling": "mean of the SSIM map over every pixel of the full image and the 3 RGB channels (torchmetrics)",
}


def psnr_per_frame(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """PSNR in dB of each uint8 frame pair (data range 255), capped at ``PSNR_CAP_DB`` so it is always finite."""
    values = peak_signal_noise_ratio(
        _float(generated), _float(truth), data_range=255.0, reduction="none", dim=(1, 2, 3)
    )
    return np.minimum(values.numpy(), PSNR_CAP_DB)


def ssim_per_frame(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """SSIM of each uint8 frame pair, with the conventions of ``SSIM_CONVENTION``."""
    a, b = _float(generated).float(), _float(truth).float()  # float32: float64 convolutions are ~5x slower on CPU
    return structural_similarity_index_measure(a, b, data_range=255.0, reduction="none").double().numpy()


def load_lpips(backbone: Path) -> torch.nn.Module:
    """LPIPS v0.1 (AlexNet): torchmetrics' bundled linear layers + torchvision AlexNet weights from a file.

    Both files are read weights-only here; torchmetrics' constructor is told to load nothing itself.
    """
    state = state_dict_of(load_weights_only(backbone, LPIPS_WHAT), LPIPS_WHAT, backbone)
    model = _NoTrainLpips(pretrained=False, net="alex", pnet_rand=True)
    linear, what = LPIPS_LINEAR_LAYERS, "torchmetrics' LPIPS linear layers"
    result = model.load_state_dict(state_dict_of(load_weights_only(linear, what), what, linear), strict=False)
    if result.unexpected_keys:
        raise KfbenchError(
            f"{what} '{linear}' hold unexpected layers {result.unexpected_keys[:3]}; reinstall torchmetrics"
        )
    alexnet = torchvision.models.alexnet(weights=None)
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    try:
        alexnet.features.load_state_dict({k.removeprefix("features."): v for k, v in features.items()})
    except RuntimeError as exc:
        raise KfbenchError(
            f"'{backbone}' is not torchvision's AlexNet state_dict ({str(exc).splitlines()[0]})"
        ) from None
    for slice_ in (model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5):
        for index, layer in slice_.named_children():
            layer.load_state_dict(alexnet.features[int(index)].state_dict())
    return model.eval()


class LpipsPerFrame:
    """uint8 frame pairs -> LPIPS distance per frame (lower is closer)."""

    tag = "lpips-v0.1-alexnet"

    def __init__(self, backbone: Path, *, device: str = "cpu", batch_size: int = 16):
        self.model, self.device, self.batch_size = load_lpips(backbone).to(device), device, batch_size

    @torch.no_grad()
    def __call__(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(generated), self.batch_size):
            a = _float(generated[start : start + self.batch_size]).float().to(self.device) / 127.5 - 1
            b = _float(truth[start : start + self.batch_size]).float().to(self.device) / 127.5 - 1
            out.append(self.model(a, b).reshape(-1).double().cpu().numpy())
        return np.concatenate(out)
