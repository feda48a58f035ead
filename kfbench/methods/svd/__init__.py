"""The SVD family: the paper's dual-directional sampler, its ablations, TRF and plain SVD on one engine."""

from kfbench.methods.svd.interpolator import SVDInterpolator

__all__ = ["SVDInterpolator"]
