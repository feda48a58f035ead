"""The SVD-family interpolator: one factory whose configuration makes `ours`, its ablations, `trf` and `svd`."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import torch

from kfbench.errors import KfbenchError
from kfbench.imageops import resize_center_crop
from kfbench.interfaces import Interpolator
from kfbench.methods.svd import attention, loading, schedules
from kfbench.methods.svd.attention import AttentionControl, Pass
from kfbench.methods.svd.conditioning import encode_keyframes
from kfbench.methods.svd.denoiser import Denoiser
from kfbench.methods.svd.sampler import Directions, sample
from kfbench.methods.svd.steps import Fusion, fusion_weights

Backward = Literal["none", "base", "finetuned"]
Rotation = Literal["all", "up", "none"]
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    """fp16 on GPU and float32 on CPU unless asked otherwise."""
    if dtype == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    return DTYPES[dtype]


class SVDModel:
    """The loaded pipeline, its one UNet with kfbench's attention processors, and the backward model's tensors."""

    def __init__(self, interpolator: "SVDInterpolator") -> None:
        o = interpolator
        self.device = resolve_device(o.device)
        self.pipe = loading.load_pipeline(o.model, dtype=resolve_dtype(o.dtype, self.device))
        self.pipe.set_progress_bar_config(disable=True)
        if o.cpu_offload:
            if not self.device.startswith("cuda"):
                raise KfbenchError("--cpu-offload needs a CUDA device; drop it on CPU")
            self.pipe.enable_model_cpu_offload(device=self.device)
        else:
            self.pipe.to(self.device)
        self.control = AttentionControl()
        self.layers = attention.install(self.pipe.unet, self.control, release_compat=o.release_compat)
        if not self.layers:
            raise KfbenchError(f"'{o.model}' has no temporal self-attention layers ({attention.TEMPORAL_SELF_ATTENTION}); is it an SVD model?")
        self.backward_weights = None
        if o.backward == "finetuned":
            deltas = loading.load_deltas(o.checkpoint, o.checkpoint_base, o.finetuned_tensors)
            self.backward_weights = loading.backward_tensors(self.pipe.unet, self.layers, deltas, o.finetuned_tensors)

    @classmethod
    def around(cls, pipe, control: AttentionControl, layers: list[str], backward_weights) -> "SVDModel":
        """A loaded pipeline whose processors are installed (training samples with its in-progress weights)."""
        model = cls.__new__(cls)
        model.device, model.pipe, model.control, model.layers = str(pipe.device), pipe, control, layers
        model.backward_weights = backward_weights
        return model

    def rotated_layers(self, rotation: Rotation) -> frozenset[str]:
        """Layers whose backward pass uses the forward pass's rotated map."""
        if rotation == "all":
            return frozenset(self.layers)
        if rotation == "up":
            return frozenset(n for n in self.layers if n.startswith("up_blocks."))
        return frozenset()


class SVDInterpolator(Interpolator):
    """Stable Video Diffusion keyframe interpolation on one sampler (see kfbench/methods/svd/sampler.py).

    Configuration (set by each method's preset): ``backward`` (no backward direction, the
    unmodified UNet, or the UNet with the checkpoint's fine-tuned tensors), ``rotated_attention``
    (blocks whose backward temporal self-attention uses the forward pass's rotated map),
    ``finetuned_tensors`` (W_v,W_o or W_q,W_k,W_v,W_o), ``blend`` (fuse v-predictions or Euler
    results) and ``fused_call`` (both directions in one batched UNet call).
    """

    def __init__(
        self,
        *,
        model: str = loading.DEFAULT_MODEL,
        checkpoint: str | None = None,
        checkpoint_base: str = loading.DEFAULT_CHECKPOINT_BASE,
        device: str | None = None,
        dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto",
        height: int = 576,
        width: int = 1024,
        num_inference_steps: int = 50,
        min_guidance_scale: float = 1.0,
        max_guidance_scale: float = 3.0,
        fps: int = 7,
        motion_bucket_id: int = 127,
        noise_aug_strength: float = 0.02,
        decode_chunk_size: int | None = None,
        recurrence: int = 5,
        recurrence_ratio: float = 0.5,
        fusion: Fusion = "average",
        cpu_offload: bool = False,
        release_compat: bool = False,
        jump_length: int = 5,
        jump_n_sample: int = 2,
        repeat_step_ratio: float = 1.0,
        noise_scale_ratio: float = 1.0,
        backward: Backward = "finetuned",
        rotated_attention: Rotation = "all",
        finetuned_tensors: loading.FineTuned = "vo",
        blend: Literal["prediction", "latents"] = "prediction",
        fused_call: bool = False,
    ) -> None:
        super().__init__()
        self.model, self.checkpoint, self.checkpoint_base = model, checkpoint, checkpoint_base
        self.device, self.dtype, self.cpu_offload, self.release_compat = device, dtype, cpu_offload, release_compat
        self.height, self.width, self.num_inference_steps = height, width, num_inference_steps
        self.min_guidance_scale, self.max_guidance_scale = min_guidance_scale, max_guidance_scale
        self.fps, self.motion_bucket_id, self.noise_aug_strength = fps, motion_bucket_id, noise_aug_strength
        self.decode_chunk_size = decode_chunk_size
        self.recurrence, self.recurrence_ratio, self.fusion = recurrence, recurrence_ratio, fusion
        self.jump_length, self.jump_n_sample = jump_length, jump_n_sample
        self.repeat_step_ratio, self.noise_scale_ratio = repeat_step_ratio, noise_scale_ratio
        self.backward, self.rotated_attention, self.finetuned_tensors = backward, rotated_attention, finetuned_tensors
        self.blend, self.fused_call = blend, fused_call
        self._check()
        self._model: SVDModel | None = None

    def _check(self) -> None:
        if self.height % 8 or self.width % 8:
            raise KfbenchError(f"height and width must be multiples of 8, got {self.height}x{self.width}")
        if self.num_inference_steps < 1:
            raise KfbenchError(f"num_inference_steps must be at least 1, got {self.num_inference_steps}")
        if self.backward == "finetuned" and not self.checkpoint:
            raise KfbenchError(
                "this method needs the backward model's fine-tuned weights: pass --checkpoint with the released UNet "
                "folder (e.g. checkpoints/svd_reverse_motion_with_attnflip) or a compact delta file from "
                "`kfbench convert-checkpoint` / `kfbench train`"
            )
        if self.backward != "finetuned" and self.checkpoint:
            warnings.warn(f"this method uses no fine-tuned weights; --checkpoint {self.checkpoint} is ignored", stacklevel=3)
        if self.backward == "none" and self.rotated_attention != "none":
            raise KfbenchError("rotated attention needs a backward direction (backward='base' or 'finetuned')")
        if self.recurrence < 0 or not 0 <= self.recurrence_ratio <= 1:
            raise KfbenchError("recurrence must be >= 0 and recurrence_ratio within [0, 1]")
        if not 0 < self.repeat_step_ratio <= 1 or self.jump_length < 1 or self.jump_n_sample < 1:
            raise KfbenchError("repeat_step_ratio must be within (0, 1], jump_length and jump_n_sample at least 1")
        if self.recurrence > 0 and self.recurrence_ratio > 0 and self.repeat_step_ratio < 1:
            raise KfbenchError("choose one re-injection scheme: per-step recurrence (--recurrence) or TRF jumps (--repeat-step-ratio < 1)")

    @property
    def frame_size(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def bidirectional(self) -> bool:
        return self.backward != "none"

    def schedule(self) -> list[schedules.Move]:
        """The moves between noise levels: recurrence, TRF jumps, or plain steps."""
        steps = self.num_inference_steps
        if self.recurrence > 0 and self.recurrence_ratio > 0:
            return schedules.recurrence_schedule(steps, self.recurrence, self.recurrence_ratio)
        if self.repeat_step_ratio < 1:
            return schedules.jump_schedule(steps, self.jump_length, self.jump_n_sample, self.repeat_step_ratio, self.noise_scale_ratio)
        return schedules.plain_schedule(steps)

    def unet_calls_per_video(self) -> int:
        """CFG-batched UNet calls one video takes (2 per denoise move with a backward direction)."""
        return schedules.denoise_count(self.schedule()) * (2 if self.bidirectional else 1)

    def use_model(self, model: SVDModel) -> None:
        """Sample with an already loaded model instead of loading one (see SVDModel.around)."""
        self._model = model

    def loaded(self) -> SVDModel:
        if self._model is None:
            self._model = SVDModel(self)
        return self._model

    def directions(self, m: SVDModel) -> Directions:
        if not self.bidirectional:
            return Directions(Pass(), None)
        rotated = m.rotated_layers(self.rotated_attention)
        return Directions(
            forward=Pass(record=rotated),
            backward=Pass(weights=m.backward_weights, rotated=rotated),
            blend=self.blend,
            fused_call=self.fused_call,
        )

    def initial_latents(self, latents: Any, num_frames: int, generator: torch.Generator, channels: int) -> torch.Tensor:
        """Unscaled initial noise [1, N, C, H/8, W/8]: the given one, or drawn from the run's generator."""
        shape = (1, num_frames, channels, self.height // 8, self.width // 8)
        if latents is None:
            return torch.randn(shape, generator=generator, dtype=torch.float32)
        latents = torch.as_tensor(np.asarray(latents) if not isinstance(latents, torch.Tensor) else latents).float()
        if tuple(latents.shape) != shape:
            raise KfbenchError(f"latents must have shape {list(shape)} (before scaling by the scheduler's init sigma), got {list(latents.shape)}")
        return latents

    @torch.no_grad()
    def _interpolate(self, first: np.ndarray, last: np.ndarray, *, num_frames: int, seed: int, latents: Any) -> np.ndarray:
        m = self.loaded()
        pipe = m.pipe
        first, last = (resize_center_crop(k, self.height, self.width) for k in (first, last))
        generator = torch.Generator("cpu").manual_seed(seed)
        keyframes = [first, last] if self.bidirectional else [first]
        conditions = encode_keyframes(
            pipe,
            keyframes,
            num_frames=num_frames,
            fps=self.fps,
            motion_bucket_id=self.motion_bucket_id,
            noise_aug_strength=self.noise_aug_strength,
            cfg=self.max_guidance_scale > 1,
            generator=generator,
        )
        scheduler = pipe.scheduler
        scheduler.set_timesteps(self.num_inference_steps, device="cpu")
        channels = pipe.unet.config.in_channels // 2
        z = self.initial_latents(latents, num_frames, generator, channels) * scheduler.init_noise_sigma
        denoiser = Denoiser(pipe.unet, m.control, release_compat=self.release_compat)
        moves = self.schedule()
        z = sample(
            denoiser,
            z.to(pipe._execution_device),
            sigmas=scheduler.sigmas,
            timesteps=scheduler.timesteps,
            moves=moves,
            first=conditions[0],
            last=conditions[1] if self.bidirectional else None,
            weights=fusion_weights(self.fusion if self.bidirectional else "weighted", num_frames, self.min_guidance_scale, self.max_guidance_scale),
            directions=self.directions(m),
            generator=generator,
        )
        m.control.maps.clear()
        frames = self.decode(z, num_frames)
        self.stats = {
            "unet_calls": denoiser.stats["unet_calls"],
            "denoise_steps": schedules.denoise_count(moves),
            "renoise_moves": len(moves) - schedules.denoise_count(moves),
        }
        return frames

    def decode(self, z: torch.Tensor, num_frames: int) -> np.ndarray:
        """VAE decode in chunks of ``decode_chunk_size`` frames -> uint8 [N, H, W, 3]."""
        pipe = self.loaded().pipe
        video = pipe.decode_latents(z.to(pipe.vae.dtype), num_frames, self.decode_chunk_size or num_frames)
        frames = pipe.video_processor.postprocess_video(video=video, output_type="np")[0]
        return np.clip(np.round(frames * 255), 0, 255).astype(np.uint8)
