"""The metrics `kfbench evaluate` computes, one entry each (`kfbench list metrics`).

An entry names the metric, what it reads, its weights files and its direction; ``scorer`` names the
class (``module:Name``, imported only when the metric is computed) that turns loaded pairs into tidy
rows (``kfbench.metrics.scorers``). Adding a metric is one module with its computation and one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kfbench.errors import KfbenchError
from kfbench.metrics.weights import I3D, INCEPTION, LPIPS_BACKBONE, VIDEOMAE, VJEPA_ENCODER, VJEPA_PROBE, WeightsFile

Reads = Literal["frames", "clips", "features"]


@dataclass(frozen=True)
class MetricEntry:
    """One registered metric: its name, what it reads, its weights, its direction and where it is reported."""

    name: str
    description: str
    reads: Reads
    weights: tuple[WeightsFile, ...]
    higher_is_better: bool
    label: str
    digits: int
    table: Literal["table1", "newer"]
    scorer: str  # module:Class in kfbench.metrics.scorers (or elsewhere)


_S = "kfbench.metrics.scorers:"
ENTRIES = (
    MetricEntry(
        "fid",
        "Frechet Inception Distance over the compared frames (InceptionV3 pool3)",
        "frames",
        (INCEPTION,),
        False,
        "FID",
        2,
        "table1",
        _S + "Fid",
    ),
    MetricEntry(
        "kid",
        "Kernel Inception Distance over the compared frames (cubic polynomial MMD)",
        "frames",
        (INCEPTION,),
        False,
        "KID",
        4,
        "table1",
        _S + "Kid",
    ),
    MetricEntry(
        "fvd",
        "Frechet Video Distance on Kinetics-400 I3D logits of each pair's clip",
        "clips",
        (I3D,),
        False,
        "FVD",
        2,
        "table1",
        _S + "I3dFvd",
    ),
    MetricEntry(
        "psnr",
        "PSNR per compared frame against the ground truth (capped at 100 dB)",
        "frames",
        (),
        True,
        "PSNR",
        2,
        "table1",
        _S + "Psnr",
    ),
    MetricEntry(
        "ssim",
        "SSIM per compared frame against the ground truth (torchmetrics)",
        "frames",
        (),
        True,
        "SSIM",
        3,
        "table1",
        _S + "Ssim",
    ),
    MetricEntry(
        "lpips",
        "LPIPS v0.1 (AlexNet) per compared frame against the ground truth",
        "frames",
        (LPIPS_BACKBONE,),
        False,
        "LPIPS",
        3,
        "table1",
        _S + "Lpips",
    ),
    MetricEntry(
        "fvd_videomae",
        "content-debiased FVD on VideoMAE-v2 features of 16-frame clips (cd-fvd)",
        "clips",
        (VIDEOMAE,),
        False,
        "FVD-VideoMAE",
        2,
        "newer",
        _S + "FvdVideoMAEScorer",
    ),
    MetricEntry(
        "jedi",
        "JEDi: polynomial MMD of V-JEPA probe features of 16-frame clips (videojedi)",
        "clips",
        (VJEPA_ENCODER, VJEPA_PROBE),
        False,
        "JEDi",
        3,
        "newer",
        _S + "JediScorer",
    ),
    MetricEntry(
        "keyframe_psnr",
        "PSNR of the generated first and last frames against the input keyframes",
        "frames",
        (),
        True,
        "keyframe PSNR",
        2,
        "newer",
        _S + "KeyframePsnrScorer",
    ),
    MetricEntry(
        "keyframe_lpips",
        "LPIPS of the generated first and last frames against the input keyframes",
        "frames",
        (LPIPS_BACKBONE,),
        False,
        "keyframe LPIPS",
        4,
        "newer",
        _S + "KeyframeLpipsScorer",
    ),
    MetricEntry(
        "warp_error",
        "flow-warping error between consecutive generated frames (OpenCV DIS), beside the ground truth's",
        "clips",
        (),
        False,
        "warp error",
        5,
        "newer",
        _S + "WarpErrorScorer",
    ),
    MetricEntry(
        "flicker",
        "low-pass frame-to-frame change of the generated clip over the ground truth's (1: as steady)",
        "clips",
        (),
        False,
        "flicker",
        3,
        "newer",
        _S + "FlickerScorer",
    ),
)
REGISTRY: dict[str, MetricEntry] = {e.name: e for e in ENTRIES}
METRICS: tuple[str, ...] = tuple(REGISTRY)
HIGHER_IS_BETTER: dict[str, bool] = {e.name: e.higher_is_better for e in ENTRIES}


def metric_entry(name: str) -> MetricEntry:
    if name not in REGISTRY:
        raise KfbenchError(f"unknown metric '{name}'; valid: {', '.join(METRICS)} (kfbench list metrics)")
    return REGISTRY[name]


def listing() -> list[str]:
    """`kfbench list metrics`: name, description, weights file(s) or 'no weights'."""
    width = max(len(n) for n in METRICS)
    return [
        f"{e.name:<{width}}  {e.description}  [{' + '.join(' or '.join(w.names) for w in e.weights) or 'no weights'}]"
        for e in ENTRIES
    ]


def import_scorer(entry: MetricEntry) -> type:
    """The scorer class an entry names (imported now: it may load torch)."""
    from kfbench.registry import import_factory

    return import_factory(entry.scorer)
