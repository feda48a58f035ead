"""The shapes metrics share: per-frame values, distances between feature sets, a row of figures per pair.

A metric module subclasses one of these and adds its metadata and maths (``kfbench.metrics.psnr``,
``kfbench.metrics.fid``, ``kfbench.metrics.flicker``, ...). Networks are imported when first used.
"""

from __future__ import annotations

from abc import abstractmethod
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.base import Metric
from kfbench.metrics.clipmetric import ClipDistributionMetric

if TYPE_CHECKING:
    from kfbench.metrics.config import EvalConfig
    from kfbench.metrics.loaded import Features, LoadedPair
    from kfbench.metrics.tidy import Context, Scorer


class PerFrame(Metric):
    """A value per compared frame against the ground truth; the mean over frames, interval over pairs."""

    per_frame = True
    reads = "frames"

    @abstractmethod
    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """One value per frame of uint8 [N, H, W, 3] generated frames against the ground truth's."""

    @abstractmethod
    def details(self) -> dict[str, Any]:
        """Its conventions, recorded with the result."""

    def read(self, pair: LoadedPair, features: Features) -> np.ndarray:
        return self.measure(pair.grid.generated, pair.grid.truth)

    def pair_values(self, kept: list[np.ndarray]) -> list[float]:
        return [float(v.mean()) for v in kept]

    def rows(self, kept: list[np.ndarray], ctx: Context) -> list[dict[str, Any]]:
        n = sum(len(v) for v in kept)
        return [
            ctx.percentile_row(
                self.name,
                lambda idx: float(np.concatenate([kept[i] for i in idx]).mean()),
                len(kept),
                n,
                self.extractor_tag,
                {**self.details(), "n_counts": "frames"},
            )
        ]


def frechet(config: EvalConfig, what: str, covariance: str) -> Scorer:
    """Frechet distance of the rows ix of x and iy of y (repeated rows given as distinct rows and counts)."""
    from kfbench.metrics.frechet import FrechetResampler

    def prepare(x: np.ndarray, y: np.ndarray) -> Any:
        distance = FrechetResampler(x, y, covariance, what=what, device=config.device)
        return lambda ix, iy, resample: distance(ix, iy)

    return prepare


class InceptionDistance(Metric):
    """A distance between the generated and the real frames' InceptionV3 features (cached per pair)."""

    caches = True
    reads = "frames"
    reference_set = True

    @cached_property
    def image(self) -> Any:
        def load() -> Any:
            from kfbench.metrics.inception import ImageFeatures, load_inception

            resize = self.config.inception_resize
            model = load_inception(self.weights_paths[0], antialias=resize == "antialias")
            return ImageFeatures(
                model, f"inception-v3-2015-12-05/pool3/{resize}-resize", 2048, device=self.config.device
            )

        return self.models.get(("inception", self.weights_paths, self.config.inception_resize), load)

    def read(self, pair: LoadedPair, features: Features) -> tuple[np.ndarray, np.ndarray]:
        g, paths = pair.grid, self.weights_paths
        return (
            features.generated(self.image.tag, paths, g.pair_id, g.generated, lambda: self.image(g.generated)),
            features.real(self.image.tag, paths, g.pair_id, g.truth_indices, lambda: self.image(g.truth)),
        )

    def settings(self, ctx: Context) -> dict[str, Any]:
        return {
            **ctx.base,
            **self.weights_settings(),
            "resize_to_299": self.config.inception_resize,
            "n_counts": "frames",
        }


class ClipDistance(Metric):
    """A distance between the generated and the real clips' features over a window of the compared frames."""

    caches = True
    reads = "clips"
    reference_set = True
    min_frames = 1

    @abstractmethod
    def window_length(self, count: int) -> int | None:
        """Frames per clip for ``count`` compared frames (None: every one)."""

    def window(self, count: int) -> slice | str:
        """The window of the compared frames, or why there is none."""
        from kfbench.metrics.timegrid import clip_window

        try:
            return clip_window(count, self.window_length(count), self.config.conventions().fvd_window_start)
        except KfbenchError as exc:
            return str(exc)

    @property
    @abstractmethod
    def extractor(self) -> Any:
        """Called with uint8 [T, H, W, 3] clip frames; has a ``tag``."""

    def read(self, pair: LoadedPair, features: Features) -> tuple[np.ndarray, np.ndarray] | None:
        window = self.window(len(pair.grid.positions))
        if isinstance(window, str) or window.stop - window.start < self.min_frames:
            return None
        g, tag, paths = pair.grid, self.extractor.tag, self.weights_paths
        fake, truth = g.generated[window], g.truth[window]
        return (
            features.generated(tag, paths, g.pair_id, fake, lambda: self.extractor(fake)),
            features.real(tag, paths, g.pair_id, g.truth_indices[window], lambda: self.extractor(truth)),
        )


class OwnObject(Metric):
    """A metric around its own computing object (a feature extractor and score), built once per weights."""

    @abstractmethod
    def build(self) -> Any:
        """The object, its networks loaded."""

    @cached_property
    def metric(self) -> Any:
        return self.models.get((self.name, self.weights_paths), self.build)


class LearnedClipDistance(ClipDistance, OwnObject):
    """A ``ClipDistributionMetric`` on the 16 compared frames of each pair (window as FVD's)."""

    min_frames = ClipDistributionMetric.clip_length
    frechet = False  # a Frechet distance: clipped at 0, biased below as many clips as feature dimensions

    def window_length(self, count: int) -> int | None:
        return self.min_frames if count >= self.min_frames else None

    @cached_property
    def extractor(self) -> Any:
        return _OneClip(self.metric)

    @abstractmethod
    def reference(self) -> dict[str, Any]:
        """The package it is computed as, and its conventions."""

    def rows(self, kept: list[Any], ctx: Context) -> list[dict[str, Any]]:
        count = len(ctx.first.positions)
        if count < self.min_frames:
            reason = (
                f"{self.name} is defined on {self.min_frames}-frame clips; this protocol compares {count} frames "
                "per pair; use --include-keyframes or a protocol with more frames"
            )
            return [ctx.row(self.name, n=ctx.pairs, missing_reason=reason)]
        window = self.window(count)
        first = ctx.first
        settings = {
            **ctx.base,
            **self.weights_settings(),
            "n_counts": "clips",
            "clip_frames": self.min_frames,
            "window": f"grid frames {first.positions[window][0]}-{first.positions[window][-1]} of {first.num_grid} "
            f"({self.config.conventions().fvd_window_start} window)",
            "input": "each frame resized whole to 224x224, bilinear",
        }
        return [
            self.distance_row(ctx, kept, self.metric.extractor, {**settings, **self.reference()}, frechet=self.frechet)
        ]

    def prepare(self) -> Scorer:
        metric = self.metric
        return lambda x, y: lambda ix, iy, resample: metric.score(x[ix], y[iy])

    def missing_rows(self, ctx: Context) -> list[dict[str, Any]]:
        return [ctx.row(self.name, n=ctx.pairs, missing_reason=self.missing)]


class _OneClip:
    """A clip metric's features of one clip [T, H, W, 3] -> [1, D]."""

    def __init__(self, metric: ClipDistributionMetric):
        self.metric, self.tag = metric, metric.extractor

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self.metric.features(frames[None])


class PairFigures(OwnObject):
    """A row of figures per pair; the headline and its companions, interval over pairs."""

    @abstractmethod
    def frames_read(self) -> str:
        """Which frames it reads, recorded with the result."""

    def described(self, table: np.ndarray) -> dict[str, Any]:
        """What the headline value is, when the figures alone do not say."""
        return {}

    def rows(self, kept: list[np.ndarray], ctx: Context) -> list[dict[str, Any]]:
        table = np.stack(kept)
        figures = self.metric.score(table)
        headline = next(iter(figures))
        settings = {
            "n_counts": "pairs",
            "frames_read": self.frames_read(),
            "figures": figures,
            **(self.weights_settings() if self.weights_paths else {}),
            **self.described(table),
        }
        return [
            ctx.percentile_row(
                self.name,
                lambda idx: self.metric.score(table[idx])[headline],
                len(kept),
                len(kept),
                self.metric.extractor,
                settings,
            )
        ]

    def pair_values(self, kept: list[np.ndarray]) -> list[float]:
        return [float(next(iter(self.metric.score(row[None]).values()))) for row in kept]


class KeyframeFigures(PairFigures):
    """The method's first and last frames against the input keyframes (``kfbench.metrics.keyframe``)."""

    reads = "frames"
    needs_truth = False

    def read(self, pair: LoadedPair, features: Features) -> np.ndarray:
        return self.metric.features(pair.frames, *pair.keyframes())

    def frames_read(self) -> str:
        return "the method's first and last frames against the input keyframes, at the generated size"


class TemporalFigures(PairFigures):
    """A figure of the method's whole clip and of the ground truth at the same times; the latter cached per pair."""

    caches = True
    reads = "clips"
    needs_truth = False  # without it: the generated clip's raw figure

    def read(self, pair: LoadedPair, features: Features) -> np.ndarray:
        metric, pair_id = self.metric, pair.pair_id
        if pair.truth is None:
            frames = pair.frames
            fake = features.generated(metric.extractor, (), pair_id, frames, lambda: np.array([metric.figure(frames)]))
            return np.array([fake[0], np.nan])
        generated, truth, indices = pair.clip_at_times()
        fake = features.generated(
            metric.extractor, (), pair_id, generated, lambda: np.array([metric.figure(generated)])
        )
        real = features.real(metric.extractor, (), pair_id, indices, lambda: np.array([metric.figure(truth)]))
        return np.concatenate([fake, real])

    def frames_read(self) -> str:
        return (
            "every frame the method output (keyframes included) and the ground-truth frames nearest their times, "
            "both at the compared size (without ground truth: the method's frames at their own size)"
        )

    def described(self, table: np.ndarray) -> dict[str, Any]:
        return {"quantity": self.metric.quantity(with_truth=not np.isnan(table[:, 1]).all())}
