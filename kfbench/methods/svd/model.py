"""The loaded SVD model shared by every method of the family: one UNet, kfbench's attention processors, decoding."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from kfbench.errors import KfbenchError
from kfbench.methods.svd import attention, loading
from kfbench.methods.svd.attention import AttentionControl
from kfbench.utils.devices import resolve_device
from kfbench.utils.dtypes import DTYPES

Rotation = Literal["all", "up", "none"]


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    """fp16 on GPU and float32 on CPU unless asked otherwise."""
    if dtype == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    return DTYPES[dtype]


class SVDModel:
    """The loaded pipeline, its one UNet with kfbench's attention processors, and the backward model's tensors."""

    def __init__(
        self,
        model: str,
        *,
        device: str | None,
        dtype: str,
        cpu_offload: bool = False,
        release_compat: bool = False,
        compile: bool = False,
    ) -> None:
        device = resolve_device(device)
        pipe = loading.load_pipeline(model, dtype=resolve_dtype(dtype, device))
        self._setup(pipe, device, model, cpu_offload=cpu_offload, release_compat=release_compat, compile=compile)

    @classmethod
    def from_pipeline(cls, pipe, device: str, name: str, **options: bool) -> SVDModel:
        """A pipeline built in memory (e.g. random full-size weights), set up as a loaded one is."""
        model = cls.__new__(cls)
        model._setup(pipe, device, name, **options)
        return model

    def _setup(self, pipe, device: str, model: str, *, cpu_offload: bool, release_compat: bool, compile: bool) -> None:
        self.device, self.pipe = device, pipe
        self.pipe.set_progress_bar_config(disable=True)
        if cpu_offload:
            if not self.device.startswith("cuda"):
                raise KfbenchError("--cpu-offload needs a CUDA device; drop it on CPU")
            self.pipe.enable_model_cpu_offload(device=self.device)
        else:
            self.pipe.to(self.device)
        self.control = AttentionControl()
        self.layers = attention.install(self.pipe.unet, self.control, release_compat=release_compat)
        if not self.layers:
            raise KfbenchError(
                f"'{model}' has no temporal self-attention layers ({attention.TEMPORAL_SELF_ATTENTION}); is it an "
                "SVD model?"
            )
        if compile:
            self.pipe.unet.compile()  # torch.compile of the UNet's forward, in place (processors included)
        self.backward_weights: dict[str, dict[str, torch.Tensor]] | None = None

    @classmethod
    def around(cls, pipe, control: AttentionControl, layers: list[str], backward_weights) -> SVDModel:
        """A loaded pipeline whose processors are installed (training samples with its in-progress weights)."""
        model = cls.__new__(cls)
        model.device, model.pipe, model.control, model.layers = str(pipe.device), pipe, control, layers
        model.backward_weights = backward_weights
        return model

    def load_backward(self, checkpoint: str, checkpoint_base: str, tensors: loading.FineTuned) -> None:
        """The backward model's fine-tuned tensors (base + delta); everything else stays shared."""
        deltas = loading.load_deltas(checkpoint, checkpoint_base, tensors)
        self.backward_weights = loading.backward_tensors(self.pipe.unet, self.layers, deltas, tensors)

    def rotated_layers(self, rotation: Rotation) -> frozenset[str]:
        """Layers whose backward pass uses the forward pass's rotated map."""
        if rotation == "all":
            return frozenset(self.layers)
        if rotation == "up":
            return frozenset(n for n in self.layers if n.startswith("up_blocks."))
        return frozenset()

    def sigmas(self, steps: int) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(sigmas, UNet timesteps 0.25 ln sigma, init noise sigma) of the model's scheduler at ``steps`` steps."""
        scheduler = self.pipe.scheduler
        scheduler.set_timesteps(steps, device="cpu")
        return scheduler.sigmas, scheduler.timesteps, float(scheduler.init_noise_sigma)

    def decode(self, z: torch.Tensor, num_frames: int, chunk: int | None) -> np.ndarray:
        """VAE decode in chunks of ``chunk`` frames (None: all at once) -> uint8 [N, H, W, 3]."""
        video = self.pipe.decode_latents(z.to(self.pipe.vae.dtype), num_frames, chunk or num_frames)
        frames = self.pipe.video_processor.postprocess_video(video=video, output_type="np")[0]
        return np.clip(np.round(frames * 255), 0, 255).astype(np.uint8)


def vae_scale_factor(vae_config: Any) -> int:
    """Pixels per latent cell along each axis, as diffusers computes ``pipe.vae_scale_factor`` (8 for SVD's VAE)."""
    return 2 ** (len(vae_config["block_out_channels"]) - 1)


def latent_shape(pipe, num_frames: int, height: int, width: int) -> tuple[int, int, int, int, int]:
    """[1, N, C, H/f, W/f] of the pipeline's diffusion latents, f being its VAE's scale factor."""
    factor = vae_scale_factor(pipe.vae.config)
    return (1, num_frames, pipe.unet.config.in_channels // 2, height // factor, width // factor)


def initial_latents(latents: Any, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Unscaled initial noise of ``shape`` (see latent_shape): the given one, or drawn from the run's generator."""
    if latents is None:
        return torch.randn(shape, generator=generator, dtype=torch.float32)
    latents = torch.as_tensor(np.asarray(latents) if not isinstance(latents, torch.Tensor) else latents).float()
    if tuple(latents.shape) != shape:
        raise KfbenchError(
            f"latents must have shape {list(shape)} (before scaling by the scheduler's init sigma), got "
            f"{list(latents.shape)}"
        )
    return latents
