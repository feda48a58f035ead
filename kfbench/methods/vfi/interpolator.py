"""The base of two-frame interpolators: a schedule of network calls, batched per round, and the release's padding.

A family (FILM, RIFE, AMT) gives its network and :meth:`FrameInterpolator.predict` (a batch of
frame pairs and times in, the frames at those times out, at the keyframes' size) and how its
release turns a float frame into 8 bits; this base runs the schedule (kfbench.methods.vfi.schedules),
keeps the frames it made along the way as float32 in [0, 1] (inputs of later rounds) and records
the frame-time map through :meth:`output_times`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator
from kfbench.methods.vfi.schedules import SCHEDULES, Plan, plan
from kfbench.utils.devices import resolve_device
from kfbench.utils.dtypes import DTYPES
from kfbench.utils.progress import track

Box = tuple[int, int, int, int]
Rounding = Literal["half-up", "truncate"]


class FrameInterpolator(Interpolator):
    """Frames between two keyframes by a two-frame model under a schedule (``uniform``, ``recursive``, ``greedy``).

    ``stats`` counts ``<family>_calls`` (frames synthesised, one network evaluation each) and
    ``<family>_forward_passes`` (batched forward passes). The models are deterministic and take no text:
    seed, latents and prompt are unused. ``dtype`` "auto" is float16 on CUDA where the release runs half precision
    (``half_on_cuda``), float32 otherwise.
    """

    family: ClassVar[str] = ""
    rounding: ClassVar[Rounding] = "half-up"
    half_on_cuda: ClassVar[bool] = True
    random_weights = "kfbench.methods.vfi.bench:random_method"
    flops = "kfbench.methods.vfi.bench:flops_row"

    def __init__(self, *, schedule: str, device: str, dtype: str, batch_size: int) -> None:
        super().__init__()
        if schedule not in SCHEDULES:
            raise KfbenchError(f"unknown {self.family} schedule '{schedule}'; valid: {', '.join(SCHEDULES)}")
        if batch_size < 1:
            raise KfbenchError(f"batch_size must be at least 1, got {batch_size}")
        self.schedule = schedule
        self.batch_size = batch_size
        device = resolve_device(device)
        try:
            self.device = torch.device(device)
        except RuntimeError:
            raise KfbenchError(f"invalid device '{device}'; use auto, cpu, cuda or cuda:N") from None
        if dtype == "auto":
            dtype = "float16" if self.half_on_cuda and self.device.type == "cuda" else "float32"
        self.dtype: torch.dtype = DTYPES[dtype]

    @classmethod
    def random_model(cls, options: dict[str, Any]) -> str:
        """The kfbench.bench.randomweights model the method with ``options`` runs (random full-size weights)."""
        return cls.family

    def use_network(self, network: nn.Module) -> None:
        """Run ``network`` (eval mode, on the method's device and dtype)."""
        self.network = network.to(self.device, self.dtype).eval()

    def plan(self, num_frames: int) -> Plan:
        return plan(self.schedule, num_frames)

    def output_times(self, num_frames: int) -> list[float]:
        """The time each returned frame shows (recursive schedule: j / 2^k where the frame count is not 2^k + 1)."""
        return self.plan(num_frames).times

    def _interpolate(
        self,
        first: np.ndarray,
        last: np.ndarray,
        *,
        num_frames: int,
        seed: int,
        latents: Any,
        prompt: str | None = None,
    ) -> np.ndarray:
        schedule = self.plan(num_frames)
        frames = {0: to_unit(first, self.device), schedule.positions - 1: to_unit(last, self.device)}
        passes = 0
        for steps in track(schedule.rounds, f"{self.family.upper()} {self.schedule}"):
            for start in range(0, len(steps), self.batch_size):
                chunk = steps[start : start + self.batch_size]
                x0 = torch.stack([frames[s.left] for s in chunk])
                x1 = torch.stack([frames[s.right] for s in chunk])
                time = torch.tensor([s.time for s in chunk], dtype=torch.float32, device=self.device)
                with torch.inference_mode():
                    made = self.predict(x0, x1, time).float().clamp(0, 1)
                frames.update((s.target, frame) for s, frame in zip(chunk, made))
                passes += 1
        self.stats = {f"{self.family}_calls": schedule.calls, f"{self.family}_forward_passes": passes}
        middle = [to_uint8(frames[p], self.rounding) for p in schedule.kept[1:-1]]
        return np.stack([first, *middle, last])

    @abstractmethod
    def predict(self, x0: torch.Tensor, x1: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """Frames at ``time`` (B) between ``x0`` and ``x1`` (B x 3 x H x W float32 in [0, 1]), at the same size."""


def to_unit(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 H x W x 3 -> float32 3 x H x W in [0, 1]."""
    return torch.from_numpy(image).to(device).permute(2, 0, 1).float() / 255


def to_uint8(frame: torch.Tensor, rounding: Rounding) -> np.ndarray:
    """float 3 x H x W in [0, 1] -> uint8 H x W x 3: ``half-up`` (FILM's image writer), ``truncate`` (x * 255 cast)."""
    scaled = frame * 255 + (0.5 if rounding == "half-up" else 0.0)
    return scaled.clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def pad_to_multiple(
    batch: torch.Tensor, multiple: int, *, centre: bool = True, mode: Literal["constant", "replicate"] = "constant"
) -> tuple[torch.Tensor, Box]:
    """Pad B x C x H x W so H and W divide by ``multiple``: zeros or edge copies, centred (extra pixel bottom/right) or
    all at the bottom/right.

    Returns the padded batch and the (top, left, height, width) box that :func:`crop` undoes it with.
    """
    height, width = batch.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    top, left = (pad_h // 2, pad_w // 2) if centre else (0, 0)
    padded = torch.nn.functional.pad(batch, (left, pad_w - left, top, pad_h - top), mode=mode)
    return padded, (top, left, height, width)


def crop(batch: torch.Tensor, box: Box) -> torch.Tensor:
    top, left, height, width = box
    return batch[..., top : top + height, left : left + width]
