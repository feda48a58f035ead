"""One adapter for diffusers pipelines that generate a video between a first and a last frame.

The adapter loads the pipeline, resizes the keyframes to the working size, calls the pipeline
with a CPU generator seeded with the run's seed (and ``latents`` when given), and returns its
frames as uint8 with their times. A model is a preset plus a subclass that says how its pipeline
takes the two frames (:meth:`KeyframePipelineInterpolator.keyframe_arguments`) and which folders
it refuses. The pipeline's own loop runs, so a video equals what plain diffusers makes with
``generator=torch.Generator("cpu").manual_seed(seed)`` and the same arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator
from kfbench.methods.keyframe.loading import DTYPES, Offload, load_pipeline, model_folder, read_model_index
from kfbench.utils.devices import resolve_device
from kfbench.utils.imageops import resize_center_crop

VideoFrames = int | Literal["match"]


class KeyframePipelineInterpolator(Interpolator):
    """Base of the keyframe methods: options, loading, size and frame rules, seeding, decoding.

    Subclasses set ``pipeline_class`` (the diffusers class name), ``size_multiple`` and
    ``temporal_factor`` (frames are ``temporal_factor * k + 1``), and implement
    :meth:`keyframe_arguments`; :meth:`check_options` and :meth:`check_folder` refuse options and
    checkpoints the method cannot run. ``pipeline``: an already built pipeline of ``pipeline_class``
    (e.g. random full-size weights) instead of loading ``model``.
    """

    takes_prompt = True
    tiny_models = "kfbench.methods.keyframe.tiny:make_tiny_keyframe_models"
    random_weights = "kfbench.methods.keyframe.randombuild:random_keyframe_method"
    random_models = "kfbench.methods.keyframe.randombuild:RANDOM_MODELS"
    bench = "kfbench.methods.keyframe.bench:KEYFRAME_BENCH"
    tiny_components: str = ""  # module:function(seed) -> the components of its tiny pipeline, in memory
    flops = "kfbench.methods.keyframe.bench:flops_row"
    pipeline_class: str = ""
    transformer_class: str = ""  # the diffusers class of its denoiser (FLOP counts)
    flops_unavailable: str = ""  # why FLOPs cannot be counted on the meta device, if they cannot
    folder_classes: tuple[str, ...] = ()  # model_index class names it loads (default: pipeline_class)
    float32_components: tuple[str, ...] = ()
    size_multiple: int = 16
    temporal_factor: int = 4

    def __init__(
        self,
        pipeline: Any = None,
        *,
        model: str,
        prompt: str = "",
        negative_prompt: str = "",
        guidance_scale: float,
        guidance_scale_2: float | None = None,
        num_inference_steps: int,
        height: int,
        width: int,
        video_frames: VideoFrames,
        fps: float,
        flow_shift: float | None = None,
        device: str = "auto",
        dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto",
        cpu_offload: Offload = "none",
        vae_tiling: bool = False,
    ) -> None:
        super().__init__()
        if num_inference_steps < 1:
            raise KfbenchError(f"num_inference_steps must be >= 1, got {num_inference_steps}")
        if fps <= 0:
            raise KfbenchError(f"fps must be positive, got {fps}")
        if cpu_offload not in ("none", "model", "sequential"):
            raise KfbenchError(f"cpu_offload must be none, model or sequential, got '{cpu_offload}'")
        self.model = model
        self.prompt, self.negative_prompt = prompt, negative_prompt
        self.guidance_scale, self.guidance_scale_2 = guidance_scale, guidance_scale_2
        self.num_inference_steps, self.fps, self.flow_shift = num_inference_steps, fps, flow_shift
        self.height, self.width = height, width
        self.check_size(self.size_multiple)
        if video_frames != "match":
            self.check_frames(video_frames, "--video-frames")
        self.video_frames = video_frames
        self.device = resolve_device(device)
        if cpu_offload != "none" and not self.device.startswith("cuda"):
            raise KfbenchError(
                f"cpu_offload={cpu_offload} moves weights between the CPU and a GPU; it needs --device cuda"
            )
        self.dtype = ("bfloat16" if self.device.startswith("cuda") else "float32") if dtype == "auto" else dtype
        self.cpu_offload, self.vae_tiling = cpu_offload, vae_tiling
        self._pipe: Any = None
        self.check_options()
        if pipeline is not None:
            self._adopt(pipeline)

    def check_options(self) -> None:
        """Model-specific option checks (run at construction, before any weights load)."""

    @property
    def frame_size(self) -> tuple[int, int]:
        return (self.height, self.width)

    def check_size(self, multiple: int) -> None:
        """Refuse (never round) a height or width that is not a multiple of ``multiple``."""
        if self.height % multiple or self.width % multiple or self.height < multiple or self.width < multiple:
            down = (max(multiple, self.height // multiple * multiple), max(multiple, self.width // multiple * multiple))
            raise KfbenchError(
                f"{self.name or type(self).__name__}: height and width must be positive multiples of {multiple}, "
                f"got {self.height}x{self.width}; e.g. --height {down[0]} --width {down[1]}"
            )

    def check_frames(self, frames: int, source: str) -> None:
        k = self.temporal_factor
        if frames < k + 1 or (frames - 1) % k:
            nearest = max(k + 1, round((frames - 1) / k) * k + 1)
            raise KfbenchError(
                f"{self.name or type(self).__name__} generates {k}k+1 frames; {source} gives {frames} "
                f"(nearest: {nearest}); pass --video-frames with a {k}k+1 count"
            )

    def frames_for(self, num_frames: int) -> int:
        """Frames generated for a benchmark asking for ``num_frames``: the model's own count, or with 'match' that
        one."""
        if self.video_frames == "match":
            self.check_frames(num_frames, "the benchmark (--video-frames match)")
            return num_frames
        return int(self.video_frames)

    def frame_positions(self, frames: int) -> tuple[int, int]:
        """(frames the pipeline returns when asked for ``frames``, frame index of keyframe 2 on that scale)."""
        return frames, frames - 1

    def output_times(self, num_frames: int) -> list[float]:
        """Time of each returned frame: keyframe 1 is frame 0 (time 0), keyframe 2 time 1, frames evenly spaced."""
        returned, last = self.frame_positions(self.frames_for(num_frames))
        return [i / last for i in range(returned)]

    def check_folder(self, folder: Path, index: dict[str, Any]) -> None:
        """Refuse a folder whose pipeline is not ``pipeline_class``; subclasses add model-specific refusals."""
        if index.get("_class_name") not in (self.folder_classes or (self.pipeline_class,)):
            raise KfbenchError(
                f"{self.name}: '{self.model}' holds a {index.get('_class_name')}, not a {self.pipeline_class}; "
                "pass the model's diffusers folder or hub id with --model"
            )

    def pipeline(self) -> Any:
        """The loaded pipeline (loaded on first use)."""
        if self._pipe is None:
            import diffusers

            folder = model_folder(self.model)
            index = read_model_index(folder, self.model)
            self.check_folder(folder, index)
            pipe = load_pipeline(
                getattr(diffusers, self.pipeline_class), folder, dtype=DTYPES[self.dtype],
                float32_components=self.float32_components, device=self.device, cpu_offload=self.cpu_offload,
                vae_tiling=self.vae_tiling, flow_shift=self.flow_shift, components=self.extra_components(index),
            )  # fmt: skip
            self._adopt(pipe)
        return self._pipe

    def _adopt(self, pipe: Any) -> None:
        """Run on ``pipe`` (loaded, or built with random weights), after checking its networks' size and frame rules."""
        self.size_multiple, self.temporal_factor = self.loaded_size_multiple(pipe), self.loaded_temporal_factor(pipe)
        self.check_size(self.size_multiple)
        if self.video_frames != "match":
            self.check_frames(self.video_frames, "--video-frames")
        self._pipe = pipe

    def extra_components(self, index: dict[str, Any]) -> dict[str, Any]:
        """Components loaded from elsewhere that replace the folder's own (none by default)."""
        return {}

    def loaded_size_multiple(self, pipe: Any) -> int:
        """The size multiple the loaded checkpoint needs (the class's nominal one unless overridden)."""
        return self.size_multiple

    def loaded_temporal_factor(self, pipe: Any) -> int:
        """The frame-count factor of the loaded checkpoint's VAE (the class's nominal one unless overridden)."""
        return self.temporal_factor

    def denoisers(self, pipe: Any) -> dict[str, torch.nn.Module]:
        """The networks called once per denoising pass (counted in stats)."""
        return {"transformer": pipe.transformer}

    def keyframe_arguments(self, first: Image.Image, last: Image.Image, num_frames: int) -> dict[str, Any]:
        """How this pipeline takes the two keyframes (e.g. ``image`` and ``last_image``)."""
        raise NotImplementedError

    def meta_transformer_inputs(self, config: dict[str, Any], frames: int) -> dict[str, Any]:
        """The tensors (meta device) of one transformer call as the pipeline makes it, for FLOP counting."""
        raise NotImplementedError

    def denoiser_calls(self, scheduler: Any, boundary_ratio: float | None, frames: int) -> dict[str, int]:
        """Transformer calls of one video per denoiser, by the pipeline's rules."""
        raise NotImplementedError

    def flops_passes(self, calls: dict[str, int]) -> int:
        """Transformer passes of one video at the batch of :meth:`meta_transformer_inputs` (one per call by default)."""
        return sum(calls.values())

    def call_arguments(
        self, first: np.ndarray, last: np.ndarray, num_frames: int, seed: int, latents: Any, prompt: str | None = None
    ) -> dict[str, Any]:
        """Every argument of the pipeline call for one pair (``prompt``: the pair's, else the method's own)."""
        a, b = (Image.fromarray(resize_center_crop(f, self.height, self.width)) for f in (first, last))
        arguments = {
            "prompt": prompt if prompt is not None else self.prompt,
            "negative_prompt": self.negative_prompt,
            "height": self.height,
            "width": self.width,
            "num_frames": num_frames,
            "num_inference_steps": self.num_inference_steps,
            "guidance_scale": self.guidance_scale,
            "generator": torch.Generator("cpu").manual_seed(seed),
            "output_type": "np",
            **self.keyframe_arguments(a, b, num_frames),
        }
        if self.guidance_scale_2 is not None:
            arguments["guidance_scale_2"] = self.guidance_scale_2
        if latents is not None:
            arguments["latents"] = latents if torch.is_tensor(latents) else torch.as_tensor(np.asarray(latents))
        return arguments

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
        frames = self.frames_for(num_frames)
        pipe = self.pipeline()
        arguments = self.call_arguments(first, last, frames, seed, latents, prompt)
        with count_calls(self.denoisers(pipe)) as calls:
            video = self.generate(pipe, arguments, seed)
        self.stats = {
            "transformer_calls": sum(calls.values()), "calls_by_denoiser": dict(calls), "seed": seed,
            "prompt": arguments["prompt"], "negative_prompt": self.negative_prompt, "video_frames": frames,
            "model": self.model, "device": self.device, "dtype": self.dtype, "cpu_offload": self.cpu_offload,
            "scheduler": {"class": type(pipe.scheduler).__name__, **dict(pipe.scheduler.config)},
            "libraries": library_versions(), **self.extra_stats(arguments),
        }  # fmt: skip
        return video

    def extra_stats(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Model-specific settings of the call worth recording beside the video (none by default)."""
        return {}

    def generate(self, pipe: Any, arguments: dict[str, Any], seed: int) -> np.ndarray:
        """The uint8 video of one pair: one pipeline call (subclasses may chain documented stages)."""
        return to_uint8(pipe(**arguments).frames[0])


def library_versions() -> dict[str, str]:
    """The diffusers and transformers versions that made the frames (pipelines change between releases)."""
    return {name: metadata.version(name) for name in ("diffusers", "transformers")}


def to_uint8(video: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] -> uint8, rounded as diffusers' numpy_to_pil (and export_to_video's PIL path) does."""
    return (np.asarray(video) * 255).round().astype(np.uint8)


@contextmanager
def count_calls(modules: dict[str, torch.nn.Module]) -> Iterator[dict[str, int]]:
    """Count the forward calls of each module while the block runs."""
    calls = dict.fromkeys(modules, 0)

    def hook(name: str):
        def count(*_: Any) -> None:
            calls[name] += 1

        return count

    handles = [module.register_forward_pre_hook(hook(name)) for name, module in modules.items() if module is not None]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()
