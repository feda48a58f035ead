"""RIFE's random full-size models (kfbench.methods.vfi.bench builds the method on them)."""

from __future__ import annotations

from functools import partial

from kfbench.bench.randomweights import RandomModel
from kfbench.methods.rife.network import build

RANDOM_MODELS = {
    "rife": RandomModel(
        partial(build, "4.25"),
        5_664_776,
        "Practical-RIFE 4.25/4.26 IFNet_HDv3, the flownet.pkl layout (tests/test_rife.py)",
    ),
    "rife-4.26-heavy": RandomModel(
        partial(build, "4.26-heavy"), 5_723_156, "ccvfi's RIFE_IFNet_v426_heavy IFNet (same layout, tests/test_rife.py)"
    ),
}
