"""kfbench: a toolkit for keyframe interpolation (generative inbetweening) benchmarks."""

from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator, Pair, PairDataset
from kfbench.registry import create_dataset, create_method, list_datasets, list_methods

__all__ = [
    "Interpolator",
    "KfbenchError",
    "Pair",
    "PairDataset",
    "create_dataset",
    "create_method",
    "list_datasets",
    "list_methods",
]
__version__ = "0.1.0"
