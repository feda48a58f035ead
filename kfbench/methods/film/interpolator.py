"""The `film` method: FILM frames between two keyframes under a chosen schedule, batched per round."""

from __future__ import annotations

from typing import Literal

import torch

from kfbench.errors import KfbenchError
from kfbench.methods.film.network import FilmNet
from kfbench.methods.film.weights import load_film
from kfbench.methods.vfi.interpolator import FrameInterpolator, crop, pad_to_multiple
from kfbench.methods.vfi.schedules import Schedule


class FilmInterpolator(FrameInterpolator):
    """FILM (film_net "Style") on RGB in [0, 1], zero-padded to multiples of 64 per call, cropped back.

    FILM was trained for the midpoint only, so its default ``schedule`` is ``recursive`` bisection
    (every call at t = 0.5, the time of each returned frame recorded); see kfbench.methods.vfi.schedules.
    Frames made along the way stay float32, clamped to [0, 1] as the port does; each call pads its
    inputs and crops its output, as the original's interpolator does; 8-bit output rounds half up as
    FILM's image writer. ``dtype`` "auto" is float16 on CUDA and float32 on CPU. ``network``
    (a component, not an option) replaces the checkpoint by an in-memory network, e.g. random
    full-size weights for `kfbench bench`. ``stats``: ``film_calls``, ``film_forward_passes``.
    A TorchScript checkpoint is read as data; ``allow_torchscript_code`` (``--allow-torchscript-code``)
    loads it with torch.jit.load instead, which runs the file's code.
    """

    family = "film"
    rounding = "half-up"
    tiny_models = "kfbench.methods.film.weights:make_tiny_film"
    random_models = "kfbench.methods.film.randomweights:RANDOM_MODELS"

    def __init__(
        self,
        network: FilmNet | None = None,
        *,
        checkpoint: str | None = None,
        schedule: Schedule = "recursive",
        device: str = "auto",
        dtype: Literal["auto", "float32", "float16"] = "auto",
        batch_size: int = 8,
        allow_torchscript_code: bool = False,
    ) -> None:
        super().__init__(schedule=schedule, device=device, dtype=dtype, batch_size=batch_size)
        if checkpoint is None and network is None:
            raise KfbenchError(
                "method 'film' needs its weights: pass --checkpoint PATH to the PyTorch port's film_net_fp32.pt "
                "(or a file written by `kfbench convert-checkpoint --method film`)"
            )
        self.use_network(
            network if network is not None else load_film(checkpoint, allow_torchscript_code=allow_torchscript_code)
        )

    def predict(self, x0: torch.Tensor, x1: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        x0, box = pad_to_multiple(x0, self.network.config.align)
        x1, _ = pad_to_multiple(x1, self.network.config.align)
        return crop(self.network(x0.to(self.dtype), x1.to(self.dtype), time), box)
