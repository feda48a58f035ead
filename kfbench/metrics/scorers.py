"""The registered metrics at evaluation time: each reads every loaded pair once, then gives its tidy rows.

A scorer's ``pair(p, features)`` returns what it keeps of a pair (per-frame values, features, a row of
figures); ``rows(kept, ctx)`` scores them with intervals over pairs. A metric whose weights are missing
never reads a pair and gives one row saying why (``missing``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.errors import KfbenchError
from kfbench.metrics.clipmetric import ClipDistributionMetric
from kfbench.metrics.config import EvalConfig
from kfbench.metrics.frechet import FrechetResampler
from kfbench.metrics.kid import KernelDistance
from kfbench.metrics.loaded import Features, LoadedPair
from kfbench.metrics.registry import MetricEntry
from kfbench.metrics.tidy import Context, Scorer
from kfbench.metrics.timegrid import clip_window

KID_BOOTSTRAP_SUBSETS = 10


class Models:
    """Networks loaded once per evaluation and shared by the metrics that read them (FID and KID: one InceptionV3)."""

    def __init__(self) -> None:
        self._loaded: dict[Any, Any] = {}

    def get(self, key: Any, load: Any) -> Any:
        if key not in self._loaded:
            self._loaded[key] = load()
        return self._loaded[key]


class MetricScorer(ABC):
    """A registered metric with its weights resolved (or the reason they are missing)."""

    per_frame = False  # its values go to the per-frame table
    caches = False  # it reads cached features (`kfbench evaluate --shard` extracts them)
    extractor_tag = ""

    def __init__(self, entry: MetricEntry, config: EvalConfig, weights: tuple[Path, ...] | str, models: Models):
        self.entry, self.name, self.config, self.models = entry, entry.name, config, models
        self.missing = weights if isinstance(weights, str) else ""
        self.weights: tuple[Path, ...] = () if self.missing else weights

    @abstractmethod
    def pair(self, p: LoadedPair, features: Features) -> Any:
        """What this metric keeps of one loaded pair."""

    @abstractmethod
    def rows(self, kept: list[Any], ctx: Context) -> list[dict[str, Any]]:
        """Its tidy row(s) from what it kept of every pair."""

    def missing_rows(self, kept: list[Any], ctx: Context) -> list[dict[str, Any]]:
        """The row saying why it cannot be computed."""
        return [ctx.row(self.name, missing_reason=self.missing, extractor=self.extractor_tag, settings=ctx.base)]

    def weights_settings(self) -> dict[str, Any]:
        return {"weights": str(self.weights[0]) if len(self.weights) == 1 else [str(w) for w in self.weights]}


# -- per-frame fidelity: PSNR, SSIM, LPIPS ------------------------------------------------------------


class PerFrame(MetricScorer):
    """A value per compared frame against the ground truth; the mean over frames, interval over pairs."""

    per_frame = True

    @abstractmethod
    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def details(self) -> dict[str, Any]: ...

    def pair(self, p: LoadedPair, features: Features) -> np.ndarray:
        return self.measure(p.grid.generated, p.grid.truth)

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


class Psnr(PerFrame):
    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        from kfbench.metrics.fidelity import psnr_per_frame

        return psnr_per_frame(generated, truth)

    def details(self) -> dict[str, Any]:
        from kfbench.metrics.fidelity import PSNR_CONVENTION

        return PSNR_CONVENTION


class Ssim(PerFrame):
    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        from kfbench.metrics.fidelity import ssim_per_frame

        return ssim_per_frame(generated, truth)

    def details(self) -> dict[str, Any]:
        from kfbench.metrics.fidelity import SSIM_CONVENTION

        return SSIM_CONVENTION


class Lpips(PerFrame):
    extractor_tag = "lpips-v0.1-alexnet"

    @cached_property
    def model(self) -> Any:
        from kfbench.metrics.fidelity import LpipsPerFrame

        return self.models.get(
            ("lpips", self.weights), lambda: LpipsPerFrame(self.weights[0], device=self.config.device)
        )

    def measure(self, generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return self.model(generated, truth)

    def details(self) -> dict[str, Any]:
        return {"net": "alex", "version": "0.1", "weights": str(self.weights[0])}


# -- distribution distances: FID, KID on frames; FVD on I3D clips -------------------------------------


def frechet(config: EvalConfig, what: str, covariance: str) -> Scorer:
    """Frechet distance of the rows ix of x and iy of y (repeated rows given as distinct rows and counts)."""

    def prepare(x: np.ndarray, y: np.ndarray) -> Any:
        distance = FrechetResampler(x, y, covariance, what=what, device=config.device)
        return lambda ix, iy, resample: distance(ix, iy)

    return prepare


class InceptionDistance(MetricScorer):
    """A distance between the generated and the real frames' InceptionV3 features (cached per pair)."""

    caches = True

    @cached_property
    def image(self) -> Any:
        def load() -> Any:
            from kfbench.metrics.inception import ImageFeatures, load_inception

            resize = self.config.inception_resize
            model = load_inception(self.weights[0], antialias=resize == "antialias")
            return ImageFeatures(
                model, f"inception-v3-2015-12-05/pool3/{resize}-resize", 2048, device=self.config.device
            )

        return self.models.get(("inception", self.weights, self.config.inception_resize), load)

    def pair(self, p: LoadedPair, features: Features) -> tuple[np.ndarray, np.ndarray]:
        g = p.grid
        return (
            features.generated(self.image.tag, self.weights, g.pair_id, g.generated, lambda: self.image(g.generated)),
            features.real(self.image.tag, self.weights, g.pair_id, g.truth_indices, lambda: self.image(g.truth)),
        )

    def settings(self, ctx: Context) -> dict[str, Any]:
        return {
            **ctx.base,
            **self.weights_settings(),
            "resize_to_299": self.config.inception_resize,
            "n_counts": "frames",
        }


class Fid(InceptionDistance):
    def rows(self, kept: list[tuple[np.ndarray, np.ndarray]], ctx: Context) -> list[dict[str, Any]]:
        covariance = self.config.conventions().fid_covariance
        return [
            ctx.distance_row(
                "fid",
                [k[0] for k in kept],
                [k[1] for k in kept],
                self.image.tag,
                {**self.settings(ctx), "covariance": covariance},
                frechet(self.config, "FID", covariance),
                frechet=True,
            )
        ]


class Kid(InceptionDistance):
    def rows(self, kept: list[tuple[np.ndarray, np.ndarray]], ctx: Context) -> list[dict[str, Any]]:
        config = self.config

        def prepare(x: np.ndarray, y: np.ndarray) -> Any:
            kernels = KernelDistance(x, y, device=config.device)
            return lambda ix, iy, resample: kernels(
                ix,
                iy,
                subsets=min(config.kid_subsets, KID_BOOTSTRAP_SUBSETS) if resample else config.kid_subsets,
                subset_size=config.kid_subset_size,
                seed=config.seed,
            )

        settings = {
            **self.settings(ctx),
            "subsets": config.kid_subsets,
            "subset_size": config.kid_subset_size,
            "bootstrap_subsets": min(config.kid_subsets, KID_BOOTSTRAP_SUBSETS),
            "kernel": "cubic polynomial, gamma 1/D, coef 1",
        }
        return [
            ctx.distance_row(
                "kid", [k[0] for k in kept], [k[1] for k in kept], self.image.tag, settings, prepare, frechet=False
            )
        ]


class ClipDistance(MetricScorer):
    """A distance between the generated and the real clips' features over a window of the compared frames."""

    caches = True
    min_frames = 1

    @abstractmethod
    def window_length(self, count: int) -> int | None:
        """Frames per clip for ``count`` compared frames (None: every one)."""
        ...

    def window(self, count: int) -> slice | str:
        """The window of the compared frames, or why there is none."""
        protocol = self.config.conventions()
        try:
            window = clip_window(count, self.window_length(count), protocol.fvd_window_start)
        except KfbenchError as exc:
            return str(exc)
        return window

    @property
    @abstractmethod
    def extractor(self) -> Any:
        """Called with uint8 [T, H, W, 3] clip frames; has a ``tag``."""
        ...

    def pair(self, p: LoadedPair, features: Features) -> tuple[np.ndarray, np.ndarray] | None:
        window = self.window(len(p.grid.positions))
        if isinstance(window, str) or window.stop - window.start < self.min_frames:
            return None
        g, tag = p.grid, self.extractor.tag
        fake, truth = g.generated[window], g.truth[window]
        return (
            features.generated(tag, self.weights, g.pair_id, fake, lambda: self.extractor(fake)),
            features.real(tag, self.weights, g.pair_id, g.truth_indices[window], lambda: self.extractor(truth)),
        )


class I3dFvd(ClipDistance):
    """FVD on Kinetics-400 I3D logits of each pair's clip (the protocol's window)."""

    @property
    def min_frames(self) -> int:
        from kfbench.metrics.i3d import MIN_FRAMES

        return MIN_FRAMES

    def window_length(self, count: int) -> int | None:
        return self.config.conventions().fvd_window

    @cached_property
    def extractor(self) -> Any:
        def load() -> Any:
            from kfbench.metrics.i3d import ClipFeatures

            return ClipFeatures(
                self.weights[0],
                device=self.config.device,
                allow_torchscript_code=self.config.allow_torchscript_code,
                bn_eps=self.config.i3d_bn_eps,
            )

        return self.models.get(("i3d", self.weights, self.config.allow_torchscript_code, self.config.i3d_bn_eps), load)

    def settings(self, ctx: Context, window: slice) -> dict[str, Any]:
        protocol, first = self.config.conventions(), ctx.first
        length = window.stop - window.start
        eps = (
            "the TorchScript file's own"
            if not self.missing and getattr(self.extractor, "runs_code", False)
            else self.config.i3d_bn_eps
        )
        return {
            **ctx.base,
            "covariance": protocol.fvd_covariance,
            "n_counts": "clips",
            "clip_frames": length,
            "window": f"grid frames {first.positions[window][0]}-{first.positions[window][-1]} of {first.num_grid} "
            f"({length}-frame clips, {protocol.fvd_window_start} window; ground-truth frames "
            f"{first.truth_indices[window][0]}-{first.truth_indices[window][-1]} of {first.num_truth}); "
            f"comparable only to FVD over the same clips",
            "input": "224x224, [-1, 1]",
            "i3d_bn_eps": eps,
        }

    def missing_rows(self, kept: list[Any], ctx: Context) -> list[dict[str, Any]]:
        return self.rows(kept, ctx)

    def rows(self, kept: list[Any], ctx: Context) -> list[dict[str, Any]]:
        window = self.window(len(ctx.first.positions))
        if isinstance(window, str):
            return [ctx.row("fvd", n=ctx.pairs, missing_reason=window)]
        settings, length = self.settings(ctx, window), window.stop - window.start
        if length < self.min_frames:
            reason = (
                f"FVD needs clips of at least {self.min_frames} frames (I3D pools time by 8, then a 2-frame window); "
                f"this window has {length}; use --include-keyframes or a larger --fvd-window"
            )
            return [ctx.row("fvd", n=ctx.pairs, settings=settings, missing_reason=reason)]
        if self.missing:
            return [ctx.row("fvd", n=ctx.pairs, settings=settings, missing_reason=self.missing)]
        covariance = self.config.conventions().fvd_covariance
        return [
            ctx.distance_row(
                "fvd",
                [k[0] for k in kept],
                [k[1] for k in kept],
                self.extractor.tag,
                {**settings, **self.weights_settings()},
                frechet(self.config, "FVD", covariance),
                frechet=True,
            )
        ]


class OwnObject(MetricScorer):
    """A scorer around the metric's own object (``videomae``, ``jedi``, ``keyframe``, ``temporal``), built once per
    weights."""

    @abstractmethod
    def build(self) -> Any: ...

    @cached_property
    def metric(self) -> Any:
        return self.models.get((self.name, self.weights), self.build)


class LearnedClipScorer(ClipDistance, OwnObject):
    """``fvd_videomae`` and ``jedi``: a ``ClipDistributionMetric`` on the 16 compared frames of each pair (window as
    FVD's)."""

    min_frames = ClipDistributionMetric.clip_length
    frechet = False  # a Frechet distance: clipped at 0, biased below as many clips as feature dimensions

    def window_length(self, count: int) -> int | None:
        return self.min_frames if count >= self.min_frames else None

    @cached_property
    def extractor(self) -> Any:
        return _OneClip(self.metric)

    def rows(self, kept: list[Any], ctx: Context) -> list[dict[str, Any]]:
        count = len(ctx.first.positions)
        if count < self.min_frames:
            reason = (
                f"{self.name} is defined on {self.min_frames}-frame clips; this protocol compares {count} frames per "
                "pair; "
                "use --include-keyframes or a protocol with more frames"
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
        metric = self.metric
        return [
            ctx.distance_row(
                self.name,
                [k[0] for k in kept],
                [k[1] for k in kept],
                metric.extractor,
                {**settings, **self.reference()},
                lambda x, y: lambda ix, iy, resample: metric.score(x[ix], y[iy]),
                frechet=self.frechet,
            )
        ]

    def missing_rows(self, kept: list[Any], ctx: Context) -> list[dict[str, Any]]:
        return [ctx.row(self.name, n=ctx.pairs, missing_reason=self.missing)]

    @abstractmethod
    def reference(self) -> dict[str, Any]: ...


class FvdVideoMAEScorer(LearnedClipScorer):
    frechet = True

    def build(self) -> Any:
        from kfbench.metrics.videomae import FvdVideoMAE

        return FvdVideoMAE(self.weights[0], device=self.config.device)

    def reference(self) -> dict[str, Any]:
        return {"covariance": "n", "as": "cd-fvd 0.1.1, model videomae"}


class JediScorer(LearnedClipScorer):
    def build(self) -> Any:
        from kfbench.metrics.jedi import Jedi

        return Jedi(self.weights[0], self.weights[1], device=self.config.device)

    def reference(self) -> dict[str, Any]:
        return {"kernel": "(<x, y> / D)^2, biased MMD^2 x 100", "as": "videojedi 1.1.0"}


class _OneClip:
    """A clip metric's features of one clip [T, H, W, 3] -> [1, D]."""

    def __init__(self, metric: ClipDistributionMetric):
        self.metric, self.tag = metric, metric.extractor

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self.metric.features(frames[None])


# -- per-pair figures: keyframe fidelity, temporal consistency ----------------------------------------


class PairFigures(OwnObject):
    """A row of figures per pair (``keyframe``, ``temporal``); the headline and its companions, interval over pairs."""

    @abstractmethod
    def frames_read(self) -> str: ...

    def rows(self, kept: list[np.ndarray], ctx: Context) -> list[dict[str, Any]]:
        table = np.stack(kept)
        figures = self.metric.score(table)
        headline = next(iter(figures))
        settings = {
            "n_counts": "pairs",
            "frames_read": self.frames_read(),
            "figures": figures,
            **(self.weights_settings() if self.weights else {}),
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


class KeyframeScorer(PairFigures):
    def pair(self, p: LoadedPair, features: Features) -> np.ndarray:
        return self.metric.features(p.frames, *p.keyframes())

    def frames_read(self) -> str:
        return "the method's first and last frames against the input keyframes, at the generated size"


class KeyframePsnrScorer(KeyframeScorer):
    def build(self) -> Any:
        from kfbench.metrics.keyframe import KeyframePsnr

        return KeyframePsnr()


class KeyframeLpipsScorer(KeyframeScorer):
    def build(self) -> Any:
        from kfbench.metrics.keyframe import KeyframeLpips

        return KeyframeLpips(self.weights[0], device=self.config.device)


class TemporalScorer(PairFigures):
    """The figure of the method's whole clip and of the ground truth at the same times; the latter cached per pair."""

    caches = True

    def pair(self, p: LoadedPair, features: Features) -> np.ndarray:
        generated, truth, indices = p.clip_at_times()
        metric, pair_id = self.metric, p.grid.pair_id
        fake = features.generated(
            metric.extractor, (), pair_id, generated, lambda: np.array([metric.figure(generated)])
        )
        real = features.real(metric.extractor, (), pair_id, indices, lambda: np.array([metric.figure(truth)]))
        return np.concatenate([fake, real])

    def frames_read(self) -> str:
        return (
            "every frame the method output (keyframes included) and the ground-truth frames nearest their times, "
            "both at the compared size"
        )


class WarpErrorScorer(TemporalScorer):
    def build(self) -> Any:
        from kfbench.metrics.temporal import WarpError

        return WarpError()


class FlickerScorer(TemporalScorer):
    def build(self) -> Any:
        from kfbench.metrics.temporal import Flicker

        return Flicker()
