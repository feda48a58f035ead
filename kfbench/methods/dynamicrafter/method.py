"""DynamiCrafter generative frame interpolation: 16 frames from keyframe 1 to keyframe 2.

Follows the release's interpolation path (scripts/evaluation/inference.py with ``--interp``):
keyframe 1 feeds the CLIP image branch; ``c_concat`` holds keyframe 1's latent at frame 0, keyframe
2's at frame 15 and zeros between; the unconditional branch uses the empty prompt, the image
branch of an all-zero image and the same ``c_concat`` and frame stride.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import numpy as np
import torch

from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator
from kfbench.methods.dynamicrafter.model import DynamiCrafter
from kfbench.methods.dynamicrafter.sampler import sample
from kfbench.methods.dynamicrafter.schedule import ddim_schedule
from kfbench.utils.devices import resolve_device
from kfbench.utils.dtypes import DTYPES
from kfbench.utils.imageops import resize_center_crop

NATIVE_FRAMES = 16
DEFAULT_CHECKPOINT = "Doubiiu/DynamiCrafter_512_Interp"


class DynamiCrafterInterpolator(Interpolator):
    """DynamiCrafter (Xing et al.) with the released interpolation checkpoint.

    ``seed``: ``None`` (default) uses the seed of each ``interpolate`` call (``kfbench run --seed``);
    an integer fixes the seed of every pair (the release's scripts use 12306). ``latents`` given to
    ``interpolate`` replace the initial noise x_T ([1, 4, 16, height/8, width/8]). The DDIM noise comes
    from a generator on ``device`` seeded with it, the VAE posterior noise from a CPU generator
    seeded with it (the release draws the latter from the global CPU stream, whose state after model
    construction cannot be reproduced). ``model``: an already built :class:`DynamiCrafter` (e.g. random
    full-size weights) instead of loading the checkpoint. ``prompt`` is the text of every pair without one
    of its own (a pairs CSV's prompt column, ``--prompts``).
    """

    takes_prompt = True
    tiny_models = "kfbench.methods.dynamicrafter.tiny:make_tiny_dynamicrafter_models"
    random_weights = "kfbench.methods.dynamicrafter.randomweights:random_dynamicrafter_method"
    random_models = "kfbench.methods.dynamicrafter.randomweights:RANDOM_MODELS"

    def __init__(
        self,
        model: DynamiCrafter | None = None,
        *,
        checkpoint: str = DEFAULT_CHECKPOINT,
        device: str = "auto",
        dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto",
        num_inference_steps: int = 50,
        guidance_scale: float = 7.5,
        guidance_rescale: float = 0.7,
        eta: float = 1.0,
        frame_stride: int = 5,
        prompt: str = "",
        height: int = 320,
        width: int = 512,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if num_inference_steps < 1:
            raise KfbenchError(f"num_inference_steps must be >= 1, got {num_inference_steps}")
        if height < 8 or width < 8:
            raise KfbenchError(f"height and width must be positive multiples of 64, got {height}x{width}")
        self.checkpoint = checkpoint
        self.device = torch.device(resolve_device(device))
        if dtype == "auto":
            dtype = "float16" if self.device.type == "cuda" else "float32"
        self.dtype = dtype
        self.num_inference_steps, self.eta = num_inference_steps, eta
        self.guidance_scale, self.guidance_rescale = guidance_scale, guidance_rescale
        self.frame_stride, self.prompt = frame_stride, prompt
        self.height, self.width, self.seed = height, width, seed
        self._model: DynamiCrafter | None = None
        if model is not None:
            self._place(model)

    @property
    def frame_size(self) -> tuple[int, int]:
        return (self.height, self.width)

    def output_times(self, num_frames: int) -> list[float]:
        """Always the 16 native frames, evenly spaced from keyframe 1 (0) to keyframe 2 (1)."""
        return [i / (NATIVE_FRAMES - 1) for i in range(NATIVE_FRAMES)]

    def model(self) -> DynamiCrafter:
        """The loaded model: UNet, VAE and resampler on ``device``; the CLIP towers wait on the CPU."""
        if self._model is None:
            from kfbench.methods.dynamicrafter.checkpoint import load_model

            self._place(load_model(self.checkpoint))
        return self._model

    def _place(self, model: DynamiCrafter) -> None:
        """Sample with ``model`` (loaded, or random full-size weights): checked, placed as :meth:`model` says."""
        if self.dtype == "float32":
            model.float()  # e.g. a float16 safetensors conversion run without autocast
        multiple = model.size_multiple
        if self.height % multiple or self.width % multiple:
            raise KfbenchError(
                f"height and width must be multiples of {multiple} for this model, got {self.height}x{self.width}"
            )
        for part in (model.model, model.first_stage_model, model.image_proj_model):
            part.to(self.device)
        for name in ("betas", "alphas_cumprod", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod"):
            setattr(model, name, getattr(model, name).to(self.device))
        self._model = model

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == "float32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=DTYPES[self.dtype])

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
        model = self.model()
        seed = seed if self.seed is None else self.seed
        keyframes = torch.stack([_to_model_range(f, self.height, self.width) for f in (first, last)]).to(self.device)
        with torch.no_grad(), self._autocast():
            context, uncond_context = self._contexts(model, keyframes[:1], self.prompt if prompt is None else prompt)
            c_concat = self._concat_latents(model, keyframes, torch.Generator().manual_seed(seed))
            fs = torch.full((1,), self.frame_stride, dtype=torch.long, device=self.device)
            unet = model.model
            calls = 0

            def denoiser(ctx: torch.Tensor):
                def run(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
                    nonlocal calls
                    calls += 1
                    return unet(x, t, c_concat, ctx, fs)

                return run

            schedule = ddim_schedule(
                model.alphas_cumprod, getattr(model, "scale_arr", None), self.num_inference_steps, self.eta
            )
            generator = torch.Generator(self.device).manual_seed(seed)
            noise = torch.randn(c_concat.shape, generator=generator, device=self.device, dtype=torch.float32)
            if latents is not None:  # caller-supplied initial noise x_T; later draws still come from the seed
                noise = _initial_latents(latents, tuple(c_concat.shape), self.device)
            z = sample(
                noise,
                schedule,
                model.sqrt_alphas_cumprod,
                model.sqrt_one_minus_alphas_cumprod,
                denoiser(context),
                denoiser(uncond_context),
                guidance_scale=self.guidance_scale,
                guidance_rescale=self.guidance_rescale,
                generator=generator,
            )
            video = torch.cat(
                [model.first_stage_model.decode(z[:, :, i] / model.scale_factor) for i in range(z.shape[2])]
            )
        self.stats = {
            "unet_calls": calls, "seed": seed, "native_frames": NATIVE_FRAMES,
            "device": str(self.device), "dtype": self.dtype, "prompt": self.prompt if prompt is None else prompt,
        }  # fmt: skip
        # The release writes (clamp(x, -1, 1) + 1) / 2 * 255 truncated to uint8.
        video = ((video.float().clamp(-1.0, 1.0) + 1.0) / 2.0 * 255).to(torch.uint8)
        return video.permute(0, 2, 3, 1).cpu().numpy()

    def _contexts(self, model: DynamiCrafter, first: torch.Tensor, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Conditional and unconditional cross-attention contexts: [text tokens, resampled image tokens]."""
        text_tower, image_tower = model.cond_stage_model, model.embedder
        with _on(text_tower, self.device):
            text = text_tower([prompt, ""])
        with _on(image_tower, self.device):
            image = image_tower(torch.cat([first, torch.zeros_like(first)]))
        image = model.image_proj_model(image)
        return torch.cat([text[:1], image[:1]], dim=1), torch.cat([text[1:], image[1:]], dim=1)

    def _concat_latents(
        self, model: DynamiCrafter, keyframes: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """[1, 4, 16, h, w]: keyframe latents (posterior samples x scale factor) at frames 0 and 15, zeros between.

        The release encodes all 16 input frames (8 copies of each keyframe) one by one, drawing one
        posterior noise per frame; the same draws are made here and frames 0 and 15 kept.
        """
        (mean_first, std_first), (mean_last, std_last) = (
            model.first_stage_model.encode_moments(keyframes[i : i + 1]) for i in range(2)
        )
        draws = [torch.randn(mean_first.shape, generator=generator) for _ in range(NATIVE_FRAMES)]
        z_first = mean_first + std_first * draws[0].to(self.device)
        z_last = mean_last + std_last * draws[-1].to(self.device)
        shape = (1, mean_first.shape[1], NATIVE_FRAMES, *mean_first.shape[2:])
        c_concat = torch.zeros(shape, device=self.device, dtype=z_first.dtype)
        c_concat[:, :, 0] = model.scale_factor * z_first
        c_concat[:, :, -1] = model.scale_factor * z_last
        return c_concat


def _initial_latents(latents: Any, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """``latents`` as a float32 tensor of ``shape`` ([1, 4, 16, h, w]) on ``device``."""
    tensor = torch.as_tensor(np.asarray(latents) if not torch.is_tensor(latents) else latents)
    if tuple(tensor.shape) != shape:
        raise KfbenchError(f"latents must have shape {list(shape)} (initial noise), got {list(tensor.shape)}")
    return tensor.to(device=device, dtype=torch.float32)


@contextlib.contextmanager
def _on(module: torch.nn.Module, device: torch.device):
    """Run ``module`` on ``device`` and send it back to the CPU afterwards (encoder offload)."""
    module.to(device)
    try:
        yield module
    finally:
        module.to("cpu")


def _to_model_range(frame: np.ndarray, height: int, width: int) -> torch.Tensor:
    """uint8 HxWx3 -> float [3, height, width] in [-1, 1] (resized and centre-cropped if needed)."""
    frame = resize_center_crop(frame, height, width)
    return (torch.from_numpy(frame).permute(2, 0, 1).float() / 255.0 - 0.5) / 0.5
