"""``fvd``: Frechet Video Distance on Kinetics-400 I3D logits of each pair's clip (the protocol's window).

The I3D network and its two weights forms are ``kfbench.metrics.i3d``'s; the distance is
``kfbench.metrics.frechet``'s, with the protocol's covariance convention (n: cd-fvd, StyleGAN-V).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from kfbench.metrics.shapes import ClipDistance, frechet
from kfbench.metrics.weights import WeightsFile

if TYPE_CHECKING:
    from kfbench.metrics.tidy import Context, Scorer

I3D = WeightsFile(
    "Kinetics-400 I3D weights",
    "--i3d-weights",
    ("i3d_torchscript.pt", "i3d_pretrained_400.pt"),
    "StyleGAN-V's TorchScript detector i3d_torchscript.pt or the InceptionI3d state_dict i3d_pretrained_400.pt "
    "(converted from TF-hub i3d-kinetics-400/1)",
)


class FvdMetric(ClipDistance):
    name = "fvd"
    description = "Frechet Video Distance on Kinetics-400 I3D logits of each pair's clip"
    higher_is_better = False
    label, digits, table = "FVD", 2, "table1"
    weights = (I3D,)
    papers = (
        "Unterthiner et al.: Towards accurate generative models of video: a new metric and challenges, "
        "arXiv:1812.01717",
    )

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
                self.weights_paths[0],
                device=self.config.device,
                allow_torchscript_code=self.config.allow_torchscript_code,
                bn_eps=self.config.i3d_bn_eps,
            )

        key = ("i3d", self.weights_paths, self.config.allow_torchscript_code, self.config.i3d_bn_eps)
        return self.models.get(key, load)

    def settings(self, ctx: Context, window: slice) -> dict[str, Any]:
        protocol, first = self.config.conventions(), ctx.first
        length = window.stop - window.start
        extractor = None if self.missing else self.extractor
        eps = (
            "the TorchScript file's own"
            if getattr(extractor, "runs_code", False)
            else "1e-3 (hassony2 I3D, as that file computes)"
            if getattr(extractor, "hassony2", False)
            else self.config.i3d_bn_eps
        )
        return {
            **ctx.base,
            "covariance": protocol.fvd_covariance,
            "n_counts": "clips",
            "clip_frames": length,
            "window": f"grid frames {first.positions[window][0]}-{first.positions[window][-1]} of {first.num_grid} "
            f"({length}-frame clips, {protocol.fvd_window_start} window; {ctx.real_name} frames "
            f"{first.truth_indices[window][0]}-{first.truth_indices[window][-1]} of {first.num_truth}); "
            f"comparable only to FVD over the same clips",
            "input": "224x224, [-1, 1]",
            "i3d_bn_eps": eps,
        }

    def missing_rows(self, ctx: Context) -> list[dict[str, Any]]:
        return self.rows([], ctx)

    def rows(self, kept: list[Any], ctx: Context) -> list[dict[str, Any]]:
        window = self.window(len(ctx.first.positions))
        if isinstance(window, str):
            return [ctx.row(self.name, n=ctx.pairs, missing_reason=window)]
        settings, length = self.settings(ctx, window), window.stop - window.start
        if length < self.min_frames:
            reason = (
                f"FVD needs clips of at least {self.min_frames} frames (I3D pools time by 8, then a 2-frame window); "
                f"this window has {length}; use --include-keyframes or a larger --fvd-window"
            )
            return [ctx.row(self.name, n=ctx.pairs, settings=settings, missing_reason=reason)]
        if self.missing:
            return [ctx.row(self.name, n=ctx.pairs, settings=settings, missing_reason=self.missing)]
        return [self.distance_row(ctx, kept, self.extractor.tag, {**settings, **self.weights_settings()}, frechet=True)]

    def prepare(self) -> Scorer:
        return frechet(self.config, "FVD", self.config.conventions().fvd_covariance)
