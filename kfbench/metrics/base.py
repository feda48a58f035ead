"""What every metric of `kfbench evaluate` is: metadata once on its class, state, ``update`` and ``compute``.

As in torchmetrics, a metric is built once (its weights resolved, or the reason they are missing),
``update`` reads one loaded pair at a time into its state, ``compute`` gives its tidy rows and ``reset``
empties the state for the next (dataset, method). A metric whose weights are missing never reads a pair
and gives one row saying why. Its class attributes are all kfbench knows about it: `kfbench list metrics`,
the evaluate options for its weights files, the report's label, digits and direction come from them.

This module and the metric modules import no torch at the top: listing the metrics reads only their
classes; the networks are imported when a metric first reads a pair.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from kfbench.metrics.weights import WeightsFile

if TYPE_CHECKING:
    from kfbench.metrics.config import EvalConfig
    from kfbench.metrics.loaded import Features, LoadedPair
    from kfbench.metrics.tidy import Context, Scorer

Reads = Literal["frames", "clips", "features"]
Table = Literal["table1", "newer"]


class Models:
    """Networks loaded once per evaluation and shared by the metrics that read them (FID and KID: one InceptionV3)."""

    def __init__(self) -> None:
        self._loaded: dict[Any, Any] = {}

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        if key not in self._loaded:
            self._loaded[key] = load()
        return self._loaded[key]


class Metric(ABC):
    """A metric: its metadata (class attributes), its state (what it kept of each pair), ``update`` and ``compute``."""

    name: ClassVar[str]  # as in --metrics, results.csv and `kfbench list metrics`
    description: ClassVar[str]  # one line for `kfbench list metrics`
    reads: ClassVar[Reads]  # what it reads of each pair
    higher_is_better: ClassVar[bool]
    label: ClassVar[str]  # its column in the report
    digits: ClassVar[int]  # decimals in the report
    table: ClassVar[Table]  # the report table it appears in
    weights: ClassVar[tuple[WeightsFile, ...]] = ()  # files it reads, each an evaluate option (WeightsFile.flag)
    papers: ClassVar[tuple[str, ...]] = ()  # what it follows
    per_frame: ClassVar[bool] = False  # its values go to the per-frame table
    needs_truth: ClassVar[bool] = True  # False: it reads pairs without ground truth too (keyframes-only pairs)
    caches: ClassVar[bool] = False  # it reads cached features (`kfbench evaluate --shard` extracts them)
    reference_set: ClassVar[bool] = False  # a distance to a set of videos: `--reference-run` can stand in for it
    extractor_tag: ClassVar[str] = ""
    min_side: ClassVar[int] = 1  # the smallest frame height and width it can read ...
    min_side_why: ClassVar[str] = ""  # ... and why

    def __init__(self, config: EvalConfig, weights: tuple[Path, ...] | str, models: Models):
        self.config, self.models = config, models
        self.missing = weights if isinstance(weights, str) else ""
        self.weights_paths: tuple[Path, ...] = () if self.missing else weights
        self.kept: list[Any] = []
        self.unreadable = ""  # why this dataset and method's frames are too small for it

    def reset(self) -> None:
        """Forget every pair read (before the next dataset and method)."""
        self.kept, self.unreadable = [], ""

    def update(self, pair: LoadedPair, features: Features) -> None:
        """Read one loaded pair (nothing when its weights are missing or its frames too small for this metric)."""
        truth_side = pair.grid.truth.shape[1:3] if pair.grid is not None else ()
        side = min(*truth_side, *pair.frames.shape[1:3])
        if side < self.min_side:
            self.unreadable = (
                f"frames of {side} px are smaller than the {self.min_side} px {self.name} needs ({self.min_side_why})"
            )
        if not (self.missing or self.unreadable):
            self.kept.append(self.read(pair, features))

    def compute(self, ctx: Context) -> list[dict[str, Any]]:
        """Its tidy row(s) from the pairs read, or the row saying why it cannot be computed."""
        if self.missing:
            return self.missing_rows(ctx)
        if self.unreadable:
            return [ctx.row(self.name, missing_reason=self.unreadable, extractor=self.extractor_tag, settings=ctx.base)]
        return self.rows(self.kept, ctx)

    @abstractmethod
    def read(self, pair: LoadedPair, features: Features) -> Any:
        """What this metric keeps of one loaded pair."""

    @abstractmethod
    def rows(self, kept: list[Any], ctx: Context) -> list[dict[str, Any]]:
        """Its tidy row(s) from what it kept of every pair."""

    def missing_rows(self, ctx: Context) -> list[dict[str, Any]]:
        """The row saying why it cannot be computed."""
        return [ctx.row(self.name, missing_reason=self.missing, extractor=self.extractor_tag, settings=ctx.base)]

    def pair_values(self, kept: list[Any]) -> list[float] | None:
        """Each pair's own value (the metric over that pair alone), or None for a set metric (FID, FVD, ...)."""
        return None

    def prepare(self) -> Scorer | None:
        """A set metric's distance of two feature sets (``tidy.Scorer``), or None for a per-pair one."""
        return None

    def distance_row(self, ctx: Context, kept: list[Any], tag: str, settings: dict[str, Any], *, frechet: bool) -> dict:
        """A set metric's row from the (generated, ground-truth) features kept of every pair (``prepare``'s)."""
        return ctx.distance_row(
            self.name, [k[0] for k in kept], [k[1] for k in kept], tag, settings, self.prepare(), frechet=frechet
        )

    def weights_settings(self) -> dict[str, Any]:
        paths = self.weights_paths
        return {"weights": str(paths[0]) if len(paths) == 1 else [str(w) for w in paths]}

    @classmethod
    def listing_weights(cls) -> str:
        """Its weights files as `kfbench list metrics` shows them."""
        return " + ".join(" or ".join(w.names) for w in cls.weights) or "no weights"
