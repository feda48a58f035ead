"""What `kfbench evaluate` was asked for: metrics, weights files, conventions, intervals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kfbench.metrics.protocol import Covariance, Protocol, resolve_protocol
from kfbench.metrics.registry import metric_names
from kfbench.metrics.weights import WeightsFile


@dataclass
class EvalConfig:
    """Everything that changes a number; written into each result's settings."""

    protocol: str = "kfbench"
    include_keyframes: bool | None = None  # None (here and below): the protocol's
    fid_covariance: Covariance | None = None
    fvd_covariance: Covariance | None = None
    fvd_window: int | None = None
    fvd_window_start: str | None = None
    i3d_bn_eps: str = "port"
    weights: dict[str, str] = field(default_factory=dict)  # WeightsFile.key -> the file given (e.g. "i3d_weights")
    inception_resize: Literal["tensorflow", "antialias"] = "tensorflow"
    allow_torchscript_code: bool = (
        False  # torch.jit.load a TorchScript I3D (runs its code) instead of reading it as data
    )
    bootstrap: int = 200
    confidence: float = 0.95
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    seed: int = 0
    device: str = "cpu"
    metrics: tuple[str, ...] = field(default_factory=metric_names)

    def conventions(self) -> Protocol:
        """The protocol with this config's explicit choices applied."""
        return resolve_protocol(
            self.protocol,
            include_keyframes=self.include_keyframes,
            fid_covariance=self.fid_covariance,
            fvd_covariance=self.fvd_covariance,
            fvd_window=self.fvd_window,
            fvd_window_start=self.fvd_window_start,
        )

    def weights_file(self, weights: WeightsFile) -> str | None:
        """The file given for ``weights`` (with its flag, e.g. ``--videomae-weights``), or None."""
        return self.weights.get(weights.key)
