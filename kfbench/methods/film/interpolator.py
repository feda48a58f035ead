"""The `film` method: FILM frames between two keyframes under a chosen schedule, batched per round."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator
from kfbench.methods.film.network import FilmNet
from kfbench.methods.film.schedules import SCHEDULES, Schedule, Step, plan
from kfbench.methods.film.weights import load_film
from kfbench.utils.devices import resolve_device
from kfbench.utils.dtypes import DTYPES
from kfbench.utils.progress import track

Box = tuple[int, int, int, int]


class FilmInterpolator(Interpolator):
    """FILM (film_net "Style") on RGB in [0, 1], zero-padded to multiples of 64 per call, cropped back.

    FILM was trained for the midpoint only; ``schedule`` says how the other frames are made (see
    kfbench.methods.film.schedules). Frames made along the way stay float32, clamped to [0, 1] as
    the port does; each call pads its inputs and crops its output, as the original's interpolator
    does. ``dtype`` "auto" is float16 on CUDA and float32 on CPU. ``network`` (a component, not an
    option) replaces the checkpoint by an in-memory network, e.g. random full-size weights for `kfbench bench`.
    ``stats`` counts ``film_calls`` (frames synthesised, one network evaluation each) and
    ``film_forward_passes`` (batched forward passes). FILM is deterministic: seed and latents are unused.
    A TorchScript checkpoint is read as data; ``allow_torchscript_code`` (``--allow-torchscript-code``)
    loads it with torch.jit.load instead, which runs the file's code.
    """

    tiny_models = "kfbench.methods.film.weights:make_tiny_film"
    random_weights = "kfbench.methods.film.randomweights:random_film_method"
    random_models = "kfbench.methods.film.randomweights:RANDOM_MODELS"

    def __init__(
        self,
        network: FilmNet | None = None,
        *,
        checkpoint: str | None = None,
        schedule: Schedule = "greedy",
        device: str = "auto",
        dtype: Literal["auto", "float32", "float16"] = "auto",
        batch_size: int = 8,
        allow_torchscript_code: bool = False,
    ) -> None:
        super().__init__()
        if schedule not in SCHEDULES:
            raise KfbenchError(f"unknown FILM schedule '{schedule}'; valid: {', '.join(SCHEDULES)}")
        if batch_size < 1:
            raise KfbenchError(f"batch_size must be at least 1, got {batch_size}")
        if checkpoint is None and network is None:
            raise KfbenchError(
                "method 'film' needs its weights: pass --checkpoint PATH to the PyTorch port's film_net_fp32.pt "
                "(or a file written by `kfbench convert-checkpoint --method film`)"
            )
        self.schedule = schedule
        self.batch_size = batch_size
        device = resolve_device(device)
        try:
            self.device = torch.device(device)
        except RuntimeError:
            raise KfbenchError(f"invalid device '{device}'; use auto, cpu, cuda or cuda:N") from None
        if dtype == "auto":
            dtype = "float16" if self.device.type == "cuda" else "float32"
        self.dtype = DTYPES[dtype]
        loaded = (
            network if network is not None else load_film(checkpoint, allow_torchscript_code=allow_torchscript_code)
        )
        self.network: FilmNet = loaded.to(self.device, self.dtype)

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
        rounds = plan(self.schedule, num_frames)
        frames: dict[int, torch.Tensor] = {0: to_unit(first, self.device), num_frames - 1: to_unit(last, self.device)}
        calls = passes = 0
        for steps in track(rounds, f"FILM {self.schedule}"):
            for start in range(0, len(steps), self.batch_size):
                chunk = steps[start : start + self.batch_size]
                for step, frame in zip(chunk, self.predict(frames, chunk)):
                    frames[step.target] = frame
                calls, passes = calls + len(chunk), passes + 1
        self.stats = {"film_calls": calls, "film_forward_passes": passes}
        middle = [to_uint8(frames[i]) for i in range(1, num_frames - 1)]
        return np.stack([first, *middle, last])

    @torch.inference_mode()
    def predict(self, frames: dict[int, torch.Tensor], steps: list[Step]) -> torch.Tensor:
        """One batched forward pass: frame ``step.target`` for every step, float32 in [0, 1]."""
        x0, box = pad_to_multiple(torch.stack([frames[s.left] for s in steps]), self.network.config.align)
        x1, _ = pad_to_multiple(torch.stack([frames[s.right] for s in steps]), self.network.config.align)
        time = torch.tensor([s.time for s in steps], dtype=torch.float32, device=self.device)
        out = self.network(x0.to(self.dtype), x1.to(self.dtype), time)
        return crop(out.float(), box).clamp(0, 1)


def to_unit(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 H x W x 3 -> float32 3 x H x W in [0, 1]."""
    return torch.from_numpy(image).to(device).permute(2, 0, 1).float() / 255


def to_uint8(frame: torch.Tensor) -> np.ndarray:
    """float 3 x H x W in [0, 1] -> uint8 H x W x 3, rounding half up as FILM's image writer does."""
    return (frame * 255 + 0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def pad_to_multiple(batch: torch.Tensor, multiple: int) -> tuple[torch.Tensor, Box]:
    """Zero-pad B x C x H x W so H and W divide by ``multiple``, the image centred (extra pixel bottom/right).

    Returns the padded batch and the (top, left, height, width) box that :func:`crop` undoes it with.
    """
    height, width = batch.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    top, left = pad_h // 2, pad_w // 2
    padded = torch.nn.functional.pad(batch, (left, pad_w - left, top, pad_h - top))
    return padded, (top, left, height, width)


def crop(batch: torch.Tensor, box: Box) -> torch.Tensor:
    top, left, height, width = box
    return batch[..., top : top + height, left : left + width]
