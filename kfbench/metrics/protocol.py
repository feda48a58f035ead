"""Evaluation protocols: named bundles of frames, size, FVD window and conventions (``kfbench evaluate --protocol``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from kfbench.errors import KfbenchError

Covariance = Literal["n-1", "n"]  # divisor of the covariance in a Frechet distance
COVARIANCES: tuple[str, ...] = ("n-1", "n")

WINDOW_STARTS = ("centre", "first")


@dataclass(frozen=True)
class Protocol:
    """Which frames are compared and with which conventions; every field is recorded with each result."""

    name: str
    description: str
    frames: int | None  # grid frames per pair; None: the pair's ground-truth frames
    size: tuple[int, int] | None  # compared at (W, H); None: the ground truth's size
    include_keyframes: bool
    fvd_window: int | None  # frames per FVD clip; None: every compared frame
    fvd_window_start: str  # "centre" or "first" of the compared frames
    fid_covariance: str
    fvd_covariance: str

    def settings(self) -> dict[str, Any]:
        return asdict(self)


PROTOCOLS = {
    "kfbench": Protocol(
        "kfbench",
        "the pair's ground-truth frames as the grid, in-between frames only, at the ground truth's size; "
        "FID covariance n-1 (torchmetrics, pytorch-fid); FVD on every compared frame, covariance n (cd-fvd, "
        "StyleGAN-V)",
        None,
        None,
        False,
        None,
        "centre",
        "n-1",
        "n",
    ),
    "paper": Protocol(
        "paper",
        "closest reading of Wang et al. 2024 (Sec. 5.1): 25-frame videos (both keyframes included) at 1024x576; "
        "FID covariance n-1; FVD on the 25-frame videos with cd-fvd's conventions (the paper cites Ge et al. 2024), "
        "covariance n",
        25,
        (1024, 576),
        True,
        None,
        "centre",
        "n-1",
        "n",
    ),
    "stylegan-v": Protocol(
        "stylegan-v",
        "StyleGAN-V's FVD: 16 consecutive frames from the first frame of each video (its generated clips "
        "start at frame 0; its real clips start at a random offset, here the same aligned 16 ground-truth frames); "
        "keyframes included; FID and FVD covariance n (StyleGAN-V's FeatureStats)",
        None,
        None,
        True,
        16,
        "first",
        "n",
        "n",
    ),
}


def resolve_protocol(name: str, **overrides: Any) -> Protocol:
    """The named protocol with the given (not None) fields replaced; a clear error for unknown values."""
    if name not in PROTOCOLS:
        raise KfbenchError(f"unknown protocol '{name}'; valid: {', '.join(PROTOCOLS)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    for key in ("fid_covariance", "fvd_covariance"):
        if key in given and given[key] not in COVARIANCES:
            raise KfbenchError(f"--{key.replace('_', '-')} takes {' or '.join(COVARIANCES)}, got '{given[key]}'")
    if given.get("fvd_window_start", "centre") not in WINDOW_STARTS:
        raise KfbenchError(f"--fvd-window-start takes {' or '.join(WINDOW_STARTS)}, got '{given['fvd_window_start']}'")
    protocol = replace(PROTOCOLS[name], **given)
    return replace(protocol, name=name + ("" if not given else " (changed: " + ", ".join(sorted(given)) + ")"))
