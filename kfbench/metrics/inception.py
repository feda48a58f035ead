"""FID/KID features: torchmetrics' InceptionV3 (pool3, 2048-d) loaded from a local weights file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torchmetrics.image.fid import NoTrainInceptionV3

from kfbench.errors import KfbenchError
from kfbench.utils.parallel import frames_per_batch
from kfbench.utils.safeload import load_weights_only, state_dict_of

WHAT = "InceptionV3 FID weights file"


def load_inception(path: Path, *, antialias: bool = False) -> NoTrainInceptionV3:
    """The FID InceptionV3 from torch-fidelity's state_dict file, loaded weights-only.

    torch-fidelity's constructor would ``torch.load(weights_only=False)`` whatever path it is given
    (or the hub cache's copy when given none), so it never sees the file: it gets an in-memory
    ``torch.save`` of the tensors read here weights-only.
    ``antialias=False`` resizes to 299 with the TF1-compatible bilinear of the original FID;
    True uses torch's antialiased bilinear (torchmetrics' default).
    """
    state = state_dict_of(load_weights_only(path, WHAT), WHAT, path)
    tensors = io.BytesIO()
    torch.save({k: v.contiguous() for k, v in state.items()}, tensors)
    tensors.seek(0)
    try:
        return NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=["2048"],
            feature_extractor_weights_path=tensors,
            antialias=antialias,
        )
    except (RuntimeError, KeyError, ValueError) as exc:
        raise KfbenchError(
            f"'{path}' is not torch-fidelity's InceptionV3 state_dict ({str(exc).splitlines()[0]})"
        ) from None


class ImageFeatures:
    """uint8 frames [N, H, W, 3] -> features [N, D] (float64), ``batch_size`` frames at a time up to 576x1024 and as
    many pixels at larger sizes (``frames_per_batch``: a 1080p batch of 32 took 1.1 GB, of 9 about 0.3 GB)."""

    def __init__(self, model: torch.nn.Module, tag: str, dims: int, *, device: str = "cpu", batch_size: int = 32):
        self.model, self.tag, self.dims = model.to(device).eval(), tag, dims
        self.device, self.batch_size = device, batch_size

    @torch.no_grad()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out, size = [], frames_per_batch(*frames.shape[1:3], self.batch_size)
        for start in range(0, len(frames), size):
            batch = torch.from_numpy(np.ascontiguousarray(frames[start : start + size])).permute(0, 3, 1, 2)
            out.append(self.model(batch.to(self.device)).double().cpu().numpy())
        return np.concatenate(out).reshape(len(frames), -1)
