"""The SVD-family interpolator: one factory whose configuration makes `ours`, its ablations, `trf` and `svd`."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import torch

from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator
from kfbench.methods.svd import loading, schedules
from kfbench.methods.svd.attention import Pass
from kfbench.methods.svd.conditioning import encode_keyframes
from kfbench.methods.svd.denoiser import Denoiser
from kfbench.methods.svd.model import Rotation, SVDModel, initial_latents, latent_shape
from kfbench.methods.svd.sampler import Directions, sample
from kfbench.methods.svd.steps import Fusion, fusion_weights
from kfbench.utils.imageops import resize_center_crop

Backward = Literal["none", "base", "finetuned"]


class SVDInterpolator(Interpolator):
    """Stable Video Diffusion keyframe interpolation on one sampler (see kfbench/methods/svd/sampler.py).

    Configuration (set by each method's preset): ``backward`` (no backward direction, the
    unmodified UNet, or the UNet with the checkpoint's fine-tuned tensors), ``rotated_attention``
    (blocks whose backward temporal self-attention uses the forward pass's rotated map),
    ``finetuned_tensors`` (W_v,W_o or W_q,W_k,W_v,W_o), ``blend`` (fuse v-predictions or Euler
    results), ``fused_call`` (both directions in one batched UNet call; same output as two calls
    within float rounding) and ``compile`` (torch.compile the UNet). ``svd_model``: an already built
    :class:`SVDModel` (e.g. random full-size weights, or the training pipeline) instead of loading one.
    """

    tiny_models = "kfbench.methods.svd.tiny:make_tiny_svd_models"
    random_weights = "kfbench.methods.svd.randomweights:random_svd_method"
    random_models = "kfbench.methods.svd.randomweights:RANDOM_MODELS"
    bench = "kfbench.methods.svd.bench:SVD_BENCH"
    flops = "kfbench.methods.svd.bench:flops_row"
    bench_levers = True

    def __init__(
        self,
        svd_model: SVDModel | None = None,
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
        fused_call: bool = True,
        compile: bool = False,
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
        self.blend, self.fused_call, self.compile = blend, fused_call, compile
        self._check()
        self._model: SVDModel | None = svd_model

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
            warnings.warn(
                f"this method uses no fine-tuned weights; --checkpoint {self.checkpoint} is ignored", stacklevel=3
            )
        if self.backward == "none" and self.rotated_attention != "none":
            raise KfbenchError("rotated attention needs a backward direction (backward='base' or 'finetuned')")
        if self.recurrence < 0 or not 0 <= self.recurrence_ratio <= 1:
            raise KfbenchError("recurrence must be >= 0 and recurrence_ratio within [0, 1]")
        if not 0 < self.repeat_step_ratio <= 1 or self.jump_length < 1 or self.jump_n_sample < 1:
            raise KfbenchError("repeat_step_ratio must be within (0, 1], jump_length and jump_n_sample at least 1")
        if self.recurrence > 0 and self.recurrence_ratio > 0 and self.repeat_step_ratio < 1:
            raise KfbenchError(
                "choose one re-injection scheme: per-step recurrence (--recurrence) or TRF jumps "
                "(--repeat-step-ratio < 1)"
            )

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
            return schedules.jump_schedule(
                steps, self.jump_length, self.jump_n_sample, self.repeat_step_ratio, self.noise_scale_ratio
            )
        return schedules.plain_schedule(steps)

    def unet_calls_per_video(self) -> int:
        """CFG-batched UNet calls one video takes (2 per denoise move with a backward direction)."""
        return schedules.denoise_count(self.schedule()) * (2 if self.bidirectional else 1)

    def loaded(self) -> SVDModel:
        if self._model is None:
            model = SVDModel(
                self.model,
                device=self.device,
                dtype=self.dtype,
                cpu_offload=self.cpu_offload,
                release_compat=self.release_compat,
                compile=self.compile,
            )
            if self.backward == "finetuned":
                model.load_backward(self.checkpoint, self.checkpoint_base, self.finetuned_tensors)
            self._model = model
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

    @torch.no_grad()
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
        sigmas, timesteps, init_sigma = m.sigmas(self.num_inference_steps)
        shape = latent_shape(pipe, num_frames, self.height, self.width)
        z = initial_latents(latents, shape, generator) * init_sigma
        denoiser = Denoiser(pipe.unet, m.control, release_compat=self.release_compat)
        moves = self.schedule()
        z = sample(
            denoiser,
            z.to(pipe._execution_device),
            sigmas=sigmas,
            timesteps=timesteps,
            moves=moves,
            first=conditions[0],
            last=conditions[1] if self.bidirectional else None,
            weights=fusion_weights(
                self.fusion if self.bidirectional else "weighted",
                num_frames,
                self.min_guidance_scale,
                self.max_guidance_scale,
            ),
            directions=self.directions(m),
            generator=generator,
        )
        m.control.maps.clear()
        self.stats = {
            "unet_calls": denoiser.stats["unet_calls"],
            "denoise_steps": schedules.denoise_count(moves),
            "renoise_moves": len(moves) - schedules.denoise_count(moves),
        }
        return m.decode(z, num_frames, self.decode_chunk_size)
