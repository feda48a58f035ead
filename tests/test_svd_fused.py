"""Issue 8 item 1: both directions in one batched UNet call on shared weights equal the sequential reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kfbench.methods.svd import model as svd_model
from kfbench.registry import create_method


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", ["ours", "ours-wo-ft", "ours-wo-ra", "trf"])
def test_fused_call_equals_sequential(tiny_models, monkeypatch, name):
    latents = {}
    original = svd_model.SVDModel.decode

    def keep(self, z, num_frames, chunk):
        latents[self] = z.clone()
        return original(self, z, num_frames, chunk)

    monkeypatch.setattr(svd_model.SVDModel, "decode", keep)
    rng = np.random.default_rng(2)
    first = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    last = np.roll(first, 7, axis=0)
    kw = dict(model=str(tiny_models["svd"]), checkpoint_base=str(tiny_models["svd-img2vid"]), height=64, width=96,
              num_inference_steps=3, release_compat=True)
    if name in ("ours", "ours-wo-ra"):
        kw["checkpoint"] = str(tiny_models[f"{name}-delta"])
    if name.startswith("ours"):
        kw["recurrence"] = 1
    else:
        kw.update(jump_length=1, repeat_step_ratio=0.34)  # one jump: steps 0, 1, back to level 1, 1, 2
    outputs, models = {}, {}
    for fused in (False, True):
        method = create_method(name, fused_call=fused, **kw)
        outputs[fused] = method.interpolate(first, last, num_frames=8, seed=11)
        models[fused] = method.loaded()
        assert method.stats["unet_calls"] == 8
    torch.testing.assert_close(latents[models[True]], latents[models[False]], rtol=1e-4, atol=1e-4)
    assert np.abs(outputs[True].astype(int) - outputs[False].astype(int)).max() <= 1
    assert not models[True].control.maps
