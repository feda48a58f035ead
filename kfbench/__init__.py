"""kfbench: a toolkit for keyframe interpolation (generative inbetweening) benchmarks."""

from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator, Pair, PairDataset
from kfbench.registry import create_dataset, create_method, list_datasets, list_methods

# The notebook API (kfbench/api.py), imported on first use so `import kfbench` stays light.
_API = ("Frames", "benchmark", "evaluate", "interpolate", "load_results", "save_frames", "save_video")

__all__ = [
    *_API,
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


def __getattr__(name: str):
    if name in _API:
        from kfbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'kfbench' has no attribute '{name}'")
