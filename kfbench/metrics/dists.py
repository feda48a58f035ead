"""``dists``: DISTS (structure and texture similarity of VGG16 features) per compared frame against the truth.

As the ``DISTS_pytorch`` package computes it: torchvision's ImageNet VGG16 with its max-pooling layers
replaced by L2 pooling (a 3x3 Hann window, stride 2); six feature maps (the RGB image and relu1_2,
relu2_2, relu3_3, relu4_3, relu5_3); per channel a luminance term (2 mu_x mu_y + c) / (mu_x^2 + mu_y^2 + c) and
a structure term (2 cov_xy + c) / (var_x + var_y + c), c = 1e-6, weighted by the learned alpha and beta
(normalised to sum to 1 together); DISTS = 1 - the weighted sum. Frames in [0, 1] at the compared size, as
the package's ``prepare_image`` without its optional resize. Both files are read weights-only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.shapes import PerFrame
from kfbench.metrics.weights import WeightsFile
from kfbench.utils.parallel import frames_per_batch

VGG16 = WeightsFile(
    "VGG16 ImageNet weights",
    "--vgg16-weights",
    ("vgg16-397923af.pth",),
    "torchvision's ImageNet VGG16 (vgg16-397923af.pth, https://download.pytorch.org/models/)",
)
DISTS_WEIGHTS = WeightsFile(
    "DISTS alpha/beta weights",
    "--dists-weights",
    ("weights.pt",),
    "the weights.pt that the DISTS_pytorch package ships (pip install DISTS_pytorch)",
    shipped_by="DISTS_pytorch",
)
DISTS_TAG = "dists-vgg16-l2pool"
CHANNELS = (3, 64, 128, 256, 512, 512)  # the image, then relu1_2 .. relu5_3
POOLS = (4, 9, 16, 23)  # VGG16's max-pooling layers that L2 pooling replaces
TAPS = (3, 8, 15, 22, 29)  # the layers after which a feature map is read (relu1_2 .. relu5_3)
STABILITY = 1e-6
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def l2_pool(x: Any, channels: int) -> Any:
    """sqrt of the Hann-weighted (3x3 of np.hanning(5)) mean of x^2, stride 2: DISTS's anti-aliased pooling."""
    import torch
    import torch.nn.functional as F

    taps = torch.tensor(np.hanning(5)[1:-1], dtype=x.dtype, device=x.device)
    window = taps[:, None] * taps[None, :]
    window = (window / window.sum()).expand(channels, 1, 3, 3)
    return (F.conv2d(x**2, window, stride=2, padding=1, groups=channels) + 1e-12).sqrt()


def layer_terms(x: Any, y: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """One feature map's weighted luminance and structure sums per image (DISTS_pytorch's per-layer terms)."""
    mean_x, mean_y = x.mean([2, 3], keepdim=True), y.mean([2, 3], keepdim=True)
    luminance = (2 * mean_x * mean_y + STABILITY) / (mean_x**2 + mean_y**2 + STABILITY)
    var_x = (x - mean_x).square_().mean([2, 3], keepdim=True)  # in place: one map-sized temporary, not two
    var_y = (y - mean_y).square_().mean([2, 3], keepdim=True)
    cov = (x * y).mean([2, 3], keepdim=True) - mean_x * mean_y
    structure = (2 * cov + STABILITY) / (var_x + var_y + STABILITY)
    return (a * luminance).sum(1), (b * structure).sum(1)


class DistsNet:
    """VGG16's convolutions with L2 pooling, and DISTS's alpha and beta; images [N, 3, H, W] in [0, 1]."""

    def __init__(self, vgg16: Path, weights: Path, device: str = "cpu"):
        import torch
        import torchvision

        from kfbench.metrics.checkpoint import build_loaded
        from kfbench.utils.safeload import load_weights_only, state_dict_of

        state = state_dict_of(load_weights_only(vgg16, VGG16.what), VGG16.what, vgg16)
        features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        network = build_loaded(
            lambda: torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"]),  # vgg16().features
            features,
            vgg16,
            VGG16.what,
            f"torchvision's VGG16 state_dict (pass vgg16-397923af.pth with {VGG16.flag})",
        )
        learned = load_weights_only(weights, DISTS_WEIGHTS.what)
        shape = (1, sum(CHANNELS), 1, 1)
        if not isinstance(learned, dict) or any(
            getattr(learned.get(k), "shape", None) != shape for k in ("alpha", "beta")
        ):
            raise KfbenchError(
                f"{DISTS_WEIGHTS.what} '{weights}' hold no 'alpha' and 'beta' of shape {list(shape)}; "
                f"pass DISTS_pytorch's weights.pt with {DISTS_WEIGHTS.flag}"
            )
        self.layers = network[: TAPS[-1] + 1].to(device)
        self.alpha, self.beta = learned["alpha"].float().to(device), learned["beta"].float().to(device)
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def layer(self, index: int, h: Any) -> Any:
        """VGG16's layer ``index`` (max pooling replaced by L2 pooling)."""
        return l2_pool(h, h.shape[1]) if index in POOLS else self.layers[index](h)

    def __call__(self, x: Any, y: Any) -> Any:
        """DISTS per image of the six feature maps (the image, then relu1_2 .. relu5_3), each map's terms summed as
        soon as both sides have it: only one map of each side is held at a time (a 1080p frame's relu1_2 alone is
        0.5 GB), the sums in DISTS_pytorch's order."""
        import torch

        total = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / total, list(CHANNELS), dim=1)
        betas = torch.split(self.beta / total, list(CHANNELS), dim=1)
        luminance, structure = layer_terms(x, y, alphas[0], betas[0])
        similarity = 0 + luminance + structure
        hx, hy = (x - self.mean) / self.std, (y - self.mean) / self.std
        for index in range(len(self.layers)):
            hx = self.layer(index, hx)  # two statements: the old map of each side goes before the next is made
            hy = self.layer(index, hy)
            if index in TAPS:
                k = TAPS.index(index) + 1
                luminance, structure = layer_terms(hx, hy, alphas[k], betas[k])
                similarity = similarity + luminance + structure
        return 1 - similarity.reshape(-1)


class DistsPerFrame:
    """uint8 frame pairs -> DISTS per frame (0: identical; lower is closer)."""

    tag = DISTS_TAG

    def __init__(self, vgg16: Path, weights: Path, *, device: str = "cpu", batch_size: int = 4):
        self.net, self.device, self.batch_size = DistsNet(vgg16, weights, device), device, batch_size

    def __call__(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        import torch

        from kfbench.metrics.psnr import frames_as_float

        out, size = [], frames_per_batch(*generated.shape[1:3], self.batch_size)
        with torch.no_grad():
            for start in range(0, len(generated), size):
                a = frames_as_float(generated[start : start + size], "float32").to(self.device) / 255
                b = frames_as_float(truth[start : start + size], "float32").to(self.device) / 255
                out.append(self.net(b, a).double().cpu().numpy())
        return np.concatenate(out)


class DistsMetric(PerFrame):
    name = "dists"
    description = "DISTS (VGG16 structure and texture similarity, as DISTS_pytorch) per compared frame against truth"
    higher_is_better = False
    label, digits, table = "DISTS", 3, "newer"
    weights = (VGG16, DISTS_WEIGHTS)
    papers = (
        "Ding et al.: Image quality assessment: unifying structure and texture similarity, TPAMI 2020",
        "reported in VFI by LDMVFI (Danier et al., AAAI 2024) and PerVFI (Wu et al., CVPR 2024)",
    )
    extractor_tag = DISTS_TAG

    def model(self) -> DistsPerFrame:
        return self.models.get(
            ("dists", self.weights_paths), lambda: DistsPerFrame(*self.weights_paths, device=self.config.device)
        )

    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return self.model()(generated, truth)

    def details(self) -> dict[str, Any]:
        return {
            "reference": "DISTS_pytorch 0.1 (DISTS(x=ground truth, y=generated)), frames in [0, 1], no resize",
            **self.weights_settings(),
        }
