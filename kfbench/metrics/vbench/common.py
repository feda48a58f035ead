"""What VBench's dimensions share: the method's whole clip read as VBench reads a video, per-video figures pooled as
VBench pools them, and its frame transforms.

VBench's ``load_video`` gives float32 [T, 3, H, W] frames with values 0..255 (``torch.Tensor`` of the uint8
frames); its transforms resize those floats (``antialias=False``) before dividing by 255. A dimension keeps
per clip [sum, count]; its value is the sum over clips over the count over clips (VBench's ``sim / cnt`` for
the consistency dimensions, the mean over videos for the others, whose count is 1 per clip).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

from kfbench.metrics.shapes import OwnObject

if TYPE_CHECKING:
    from kfbench.metrics.loaded import Features, LoadedPair
    from kfbench.metrics.tidy import Context

CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
VBENCH = "vbench 0.1.5"


def video_tensor(frames: np.ndarray) -> Any:
    """uint8 [T, H, W, 3] -> float32 [T, 3, H, W] with values 0..255, as VBench's ``load_video``."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(frames)).float().permute(0, 3, 1, 2)


def clip_transform(video: Any, size: int = 224) -> Any:
    """VBench's ``clip_transform``: shorter side to ``size`` (bicubic, no antialias), centre crop, /255, CLIP norm."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    video = TF.resize(video, size, interpolation=InterpolationMode.BICUBIC, antialias=False)
    return TF.normalize(TF.center_crop(video, size).float().div(255.0), CLIP_MEAN, CLIP_STD)


def dino_transform(video: Any, size: int = 224) -> Any:
    """VBench's ``dino_transform``: shorter side to ``size`` (bilinear, no antialias, no crop), /255, ImageNet norm."""
    from torchvision.transforms import functional as TF

    return TF.normalize(TF.resize(video, size, antialias=False).float().div(255.0), IMAGENET_MEAN, IMAGENET_STD)


def longer_side_transform(video: Any, size: int = 512) -> Any:
    """VBench's imaging-quality ``transform(images, 'longer')``: where the longer side exceeds ``size``, resized
    (bilinear, no antialias) by size / longer side, each side truncated to an int; then /255."""
    from torchvision.transforms import functional as TF

    h, w = video.shape[-2:]
    if max(h, w) > size:
        scale = size / max(h, w)
        video = TF.resize(video, [int(scale * h), int(scale * w)], antialias=False)
    return video / 255.0


def consistency(features: Any) -> np.ndarray:
    """VBench's subject/background consistency of one clip's L2-normalised frame features [T, D]: [sum, T - 1] of
    the mean of max(0, cos) to the previous and to the first frame, over frames 2..T."""
    import torch.nn.functional as F

    previous = F.cosine_similarity(features[:-1], features[1:]).clamp_min(0.0)
    first = F.cosine_similarity(features[:1].expand_as(features[1:]), features[1:]).clamp_min(0.0)
    return np.array([float(((previous.double() + first.double()) / 2).sum()), len(features) - 1], np.float64)


class VBenchDimension(OwnObject):
    """A VBench dimension of the method's whole clip (keyframes included, at its own size); no ground truth."""

    reads = "clips"
    needs_truth = False
    table = "newer"
    digits = 4
    higher_is_better = True

    @abstractmethod
    def reference(self) -> str:
        """The vbench function it is computed as."""

    def read(self, pair: LoadedPair, features: Features) -> np.ndarray:
        return self.metric(pair.frames, pair.fps)

    def rows(self, kept: list[np.ndarray], ctx: Context) -> list[dict[str, Any]]:
        table = np.stack(kept)
        settings = {
            "n_counts": "pairs",
            "reference": f"{VBENCH} {self.reference()}",
            "frames_read": "every frame the method output (keyframes included), at its own size, as VBench reads a "
            "video's frames",
            "pooling": "sum over clips / count over clips, as VBench pools",
            **self.weights_settings(),
        }
        return [
            ctx.percentile_row(
                self.name,
                lambda idx: float(table[idx, 0].sum() / table[idx, 1].sum()),
                len(kept),
                len(kept),
                self.extractor_tag,
                settings,
            )
        ]
