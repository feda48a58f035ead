"""The `rife` method: Practical-RIFE 4.25 / 4.26 frames at any time t between two keyframes."""

from __future__ import annotations

from typing import Any, Literal

import torch

from kfbench.errors import KfbenchError
from kfbench.methods.rife.network import VERSIONS, IFNet
from kfbench.methods.rife.weights import load_rife
from kfbench.methods.vfi.interpolator import FrameInterpolator, crop, pad_to_multiple
from kfbench.methods.vfi.schedules import Schedule

SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)  # the release's accepted --scale values


class RifeInterpolator(FrameInterpolator):
    """RIFE IFNet at the release's rules: RGB in [0, 1], zero-padded at the bottom and right to a multiple of
    max(128, 128 / scale) (Practical-RIFE's inference_video.py), flow blocks at 16/scale .. 1/scale, the output
    cropped back and written as ``(frame * 255)`` cast to 8 bits (truncation), as the release writes frames.

    RIFE 4.x takes t, so the default ``schedule`` is ``uniform``: every in-between directly at
    t = i / (num_frames - 1), as the release's ``--multi`` does. ``version``: 4.25, 4.26 (one architecture) or
    4.26-heavy (16-channel Head features, as the ``ccvfi`` package's RIFE_IFNet_v426_heavy). ``dtype`` "auto" is
    float16 on CUDA (the release's ``--fp16``: the whole network in half precision) and float32 on CPU.
    ``network`` (a component, not an option) replaces the checkpoint, e.g. random full-size weights for
    `kfbench bench`. ``stats``: ``rife_calls``, ``rife_forward_passes``.
    """

    family = "rife"
    tiny_models = "kfbench.methods.rife.weights:make_tiny_rife"
    random_models = "kfbench.methods.rife.randomweights:RANDOM_MODELS"
    rounding = "truncate"

    def __init__(
        self,
        network: IFNet | None = None,
        *,
        checkpoint: str | None = None,
        version: Literal["4.25", "4.26", "4.26-heavy"] = "4.25",
        scale: float = 1.0,
        schedule: Schedule = "uniform",
        device: str = "auto",
        dtype: Literal["auto", "float32", "float16"] = "auto",
        batch_size: int = 8,
    ) -> None:
        if version not in VERSIONS:
            raise KfbenchError(f"unknown RIFE version '{version}'; valid: {', '.join(VERSIONS)}")
        if scale not in SCALES:
            raise KfbenchError(f"RIFE scale must be one of {', '.join(map(str, SCALES))} (the release's), got {scale}")
        super().__init__(schedule=schedule, device=device, dtype=dtype, batch_size=batch_size)
        if checkpoint is None and network is None:
            raise KfbenchError(
                "method 'rife' needs its weights: pass --checkpoint PATH to Practical-RIFE's train_log/flownet.pkl "
                f"(version {version}; --version picks 4.25, 4.26 or 4.26-heavy)"
            )
        self.version, self.scale = version, float(scale)
        self.multiple = max(128, int(128 / scale))
        self.use_network(network if network is not None else load_rife(checkpoint, version))

    @classmethod
    def random_model(cls, options: dict[str, Any]) -> str:
        return "rife-4.26-heavy" if options.get("version") == "4.26-heavy" else "rife"

    def predict(self, x0: torch.Tensor, x1: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        x0, box = pad_to_multiple(x0, self.multiple, centre=False)
        x1, _ = pad_to_multiple(x1, self.multiple, centre=False)
        return crop(self.network(x0.to(self.dtype), x1.to(self.dtype), time, self.scale), box)
