"""The two interfaces every method and dataset implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.utils.imageops import ImageLike, as_rgb_uint8


class Interpolator(ABC):
    """Generates the frames between two keyframes.

    Subclasses implement :meth:`_interpolate` on validated uint8 arrays. ``stats`` holds per-call
    counters (e.g. ``unet_calls``) that the run store writes into meta.json. Loaded parts (networks,
    pipelines) enter as constructor parameters before the ``*``, as diffusers pipelines take their
    components; options are the keyword-only parameters after it.

    A family declares what kfbench knows about it beyond interpolating as class attributes holding
    lazy ``"module:attr"`` names (empty: the family has none); see docs/adding-a-method.md.
    """

    name: str = ""
    options: dict[str, Any] = {}
    takes_prompt: bool = False  # text-conditioned methods: interpolate's prompt reaches _interpolate
    # The family's declarations (docs/adding-a-method.md):
    # (folder: Path) -> dict[str, Path]: the family's tiny random models in their real formats
    tiny_models: str = ""
    # (name, options, size, seed) -> kfbench.bench.randommethods.Subject: the method on random weights
    random_weights: str = ""
    # dict[str, kfbench.bench.randomweights.RandomModel]: its real-size networks and their published counts
    random_models: str = ""
    # kfbench.bench.measure.BenchHooks: `kfbench bench -m NAME` on the method's own weights
    bench: str = ""
    # (name, options, num_frames) -> row dict: calls and FLOPs of one video on the meta device, no weights
    flops: str = ""
    # `kfbench bench --suite` applies the SVD family's GPU levers (kfbench.methods.svd.levers)
    bench_levers: bool = False

    def __init__(self) -> None:
        self.stats: dict[str, Any] = {}

    @property
    def device_name(self) -> str:
        """The device the method actually runs on (after resolving options such as 'auto')."""
        device = getattr(self, "device", None) or self.options.get("device") or "cpu"
        return str(device)

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """(height, width) the method generates at; None means the keyframes' own size."""
        return None

    def output_times(self, num_frames: int) -> list[float]:
        """Time in [0, 1] of each output frame; the default is ``num_frames`` evenly spaced frames."""
        return [i / (num_frames - 1) for i in range(num_frames)]

    def interpolate(
        self,
        first: ImageLike,
        last: ImageLike,
        *,
        num_frames: int,
        seed: int = 0,
        latents: Any = None,
        prompt: str | None = None,
    ) -> np.ndarray:
        """Frames from ``first`` (frame 0) to ``last`` (frame T-1) as uint8 [T, H, W, 3].

        ``prompt`` (methods with ``takes_prompt`` only) replaces the method's own prompt for this pair.
        """
        a, b = as_rgb_uint8(first), as_rgb_uint8(last)
        if a.shape != b.shape:
            raise KfbenchError(
                f"keyframes differ in size: {a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}; "
                "resize them to the same size"
            )
        if num_frames < 2:
            raise KfbenchError(f"num_frames must be at least 2 (the two keyframes), got {num_frames}")
        if prompt is not None and not self.takes_prompt:
            raise KfbenchError(f"method {self.name} takes no text prompt; drop the per-pair prompt")
        self.stats = {}
        frames = self._interpolate(a, b, num_frames=num_frames, seed=seed, latents=latents, prompt=prompt)
        expected = len(self.output_times(num_frames))
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[0] != expected or frames.shape[3] != 3:
            raise RuntimeError(
                f"method {self.name} returned {frames.dtype} {frames.shape}, expected uint8 [{expected}, H, W, 3]"
            )
        return frames

    @abstractmethod
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
        """The frames of one pair; ``prompt`` (text-conditioned methods) replaces the method's own for this pair."""


@dataclass
class Pair:
    """One benchmark item: two keyframes and, when known, the ground-truth clip between them."""

    id: str
    first: np.ndarray
    last: np.ndarray
    ground_truth: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class PairDataset(ABC):
    """An ordered collection of keyframe pairs, addressable by stable string ids."""

    name: str = ""
    options: dict[str, Any] = {}

    @abstractmethod
    def pair_ids(self) -> list[str]:
        """Ids of every pair, in a deterministic order, without decoding any frames."""

    @abstractmethod
    def load(self, pair_id: str) -> Pair:
        """Decode one pair."""

    def summary(self) -> str:
        """One line on what the dataset holds (clip datasets add what they skipped and why)."""
        return f"{self.name}: {len(self)} pair(s)"

    def __len__(self) -> int:
        return len(self.pair_ids())

    def __iter__(self) -> Iterator[Pair]:
        for pair_id in self.pair_ids():
            yield self.load(pair_id)
