"""Metrics: one module per metric (``kfbench.metrics.registry`` lists them), `kfbench evaluate` and its parts.

Nothing is imported here, so that `kfbench list metrics` and option checks stay fast: import what you
use from its module (``kfbench.metrics.evaluate``, ``kfbench.metrics.frechet``, ...).
"""
