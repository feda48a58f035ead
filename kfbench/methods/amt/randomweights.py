"""AMT's random full-size models (kfbench.methods.vfi.bench builds the method on them)."""

from __future__ import annotations

from functools import partial

from kfbench.bench.randomweights import RandomModel
from kfbench.methods.amt.network import build

RANDOM_MODELS = {
    variant.lower(): RandomModel(
        partial(build, variant),
        count,
        f"the release's networks/{variant}.py (vbench's copy: same layout, tests/test_amt.py)",
    )
    for variant, count in (("AMT-S", 2_990_543), ("AMT-L", 12_935_367), ("AMT-G", 30_638_919))
}
