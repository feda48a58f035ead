"""The `amt` method: AMT-S / AMT-L / AMT-G frames at any time t between two keyframes."""

from __future__ import annotations

from typing import Any, Literal

import torch

from kfbench.errors import KfbenchError
from kfbench.methods.amt.network import AMT, CORR_LEVELS, VARIANTS
from kfbench.methods.amt.weights import load_amt
from kfbench.methods.vfi.interpolator import FrameInterpolator, crop, pad_to_multiple
from kfbench.methods.vfi.schedules import Schedule

ALIGN = 16  # the release's InputPadder divisor at scale 1
SMALLEST = 8 * 2**CORR_LEVELS  # below this the coarsest correlation level is 1 pixel wide and its lookup undefined


class AmtInterpolator(FrameInterpolator):
    """AMT at the release's rules: RGB in [0, 1], edge-replicate padded, centred, to a multiple of 16 / scale
    (``InputPadder``), the output unpadded and written as ``(frame * 255)`` clipped and cast to 8 bits (truncation,
    ``tensor2img``), float32 as the release runs (its correlation lookups are float32).

    AMT takes t (``embt``), so the default ``schedule`` is ``uniform``: every in-between directly at
    t = i / (num_frames - 1), as the release's ``demo_8x.py`` does. ``variant``: AMT-S, AMT-L or AMT-G (pass the
    matching ``amt-s.pth``, ``amt-l.pth``, ``amt-g.pth``). ``scale``: the release's ``scale_factor`` (its 2x demo
    lowers it to fit GPU memory; 16 / scale must be a whole number), 1 by default. The padded frame (times
    ``scale``) must be at least 128 pixels each way. ``network`` (a component, not an option) replaces the
    checkpoint, e.g. random full-size weights for `kfbench bench`. ``stats``: ``amt_calls``, ``amt_forward_passes``.
    """

    family = "amt"
    tiny_models = "kfbench.methods.amt.weights:make_tiny_amt"
    random_models = "kfbench.methods.amt.randomweights:RANDOM_MODELS"
    rounding = "truncate"
    half_on_cuda = False

    def __init__(
        self,
        network: AMT | None = None,
        *,
        checkpoint: str | None = None,
        variant: Literal["AMT-S", "AMT-L", "AMT-G"] = "AMT-S",
        scale: float = 1.0,
        schedule: Schedule = "uniform",
        device: str = "auto",
        batch_size: int = 4,
    ) -> None:
        if variant not in VARIANTS:
            raise KfbenchError(f"unknown AMT variant '{variant}'; valid: {', '.join(VARIANTS)}")
        if not (0 < scale <= 1 and (ALIGN / scale).is_integer()):
            raise KfbenchError(
                f"AMT scale must be in (0, 1] with 16 / scale a whole number (1, 0.5, 0.25, ...), got {scale}"
            )
        super().__init__(schedule=schedule, device=device, dtype="float32", batch_size=batch_size)
        if checkpoint is None and network is None:
            raise KfbenchError(
                f"method 'amt' needs its weights: pass --checkpoint PATH to the release's {variant.lower()}.pth "
                "(--variant picks AMT-S, AMT-L or AMT-G)"
            )
        self.variant, self.scale = variant, float(scale)
        self.multiple = int(ALIGN / scale)
        self.use_network(network if network is not None else load_amt(checkpoint, variant))

    @classmethod
    def random_model(cls, options: dict[str, Any]) -> str:
        return str(options.get("variant", "AMT-S")).lower()

    def predict(self, x0: torch.Tensor, x1: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        x0, box = pad_to_multiple(x0, self.multiple, mode="replicate")
        x1, _ = pad_to_multiple(x1, self.multiple, mode="replicate")
        if min(x0.shape[-2:]) * self.scale < SMALLEST:
            raise KfbenchError(
                f"AMT needs frames of at least {SMALLEST} pixels each way at its scale {self.scale:g} "
                f"(padded {x0.shape[-1]}x{x0.shape[-2]} here); use larger keyframes (--height/--width)"
            )
        return crop(self.network(x0, x1, time.view(-1, 1, 1, 1), self.scale), box)
