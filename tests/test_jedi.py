"""jedi equals the videojedi package itself on the same clips and the same (tiny, random) V-JEPA weights."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from kfbench.errors import KfbenchError
from kfbench.metrics.clipmetric import resize_frames
from kfbench.metrics.vjepa import Jedi, mmd_polynomial
from tests.helpers.video_metric_weights import random_clips, save_random_vjepa

HEADS, WIDTH, CLIPS = 2, 16, 8
NOT_INSTALLED = (
    "the videojedi reference is not installed: pip install --no-deps videojedi==1.1.0 vjepa==0.1.2 "
    "(their pins would replace torch's torchvision) and pip install -e '.[test]' for scikit-learn"
)
CONFIG = Path(__file__).parent / "data" / "jedi_vith16_ssv2_16x2x3.yaml"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_random_vjepa(tmp_path_factory.mktemp("vjepa"), dim=WIDTH)


@pytest.fixture
def videojedi_model(monkeypatch, weights):
    """videojedi's own VJEPA (encoder + SSv2 pooler), its ViT-H constructor shrunk to the checkpoint's width; no
    network."""
    videojedi = pytest.importorskip("videojedi", reason=NOT_INSTALLED)
    import torch.distributed as dist
    from videojedi import V_JEPA
    from vjepa.models.vision_transformer import VisionTransformer

    tiny_vit = partial(
        VisionTransformer,
        embed_dim=WIDTH,
        depth=2,
        num_heads=HEADS,
        mlp_ratio=4,
        qkv_bias=True,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),
    )
    monkeypatch.setitem(V_JEPA.VIT_NAME_LOOKUP, "vit_huge", tiny_vit)
    monkeypatch.setattr(os, "system", lambda command: pytest.fail(f"videojedi tried to run {command}"))
    model = videojedi.VJEPA(model_dir=str(weights[0].parent), config_fname=str(CONFIG))
    yield model
    if dist.is_initialized():  # VJEPA starts a one-process gloo group for its DistributedDataParallel probe
        dist.destroy_process_group()


def test_jedi_equals_videojedi(videojedi_model, weights):
    from videojedi import JEDiMetric

    encoder_state = torch.load(weights[0], weights_only=True)["target_encoder"]
    loaded = videojedi_model.encoder.model.state_dict()
    assert all(torch.equal(loaded[k.removeprefix("module.backbone.")], v) for k, v in encoder_state.items())
    probe_state = torch.load(weights[1], weights_only=True)["classifier"]
    assert all(torch.equal(videojedi_model.classifier.state_dict()[k], v) for k, v in probe_state.items())

    truth, generated = random_clips(CLIPS, seed=3), random_clips(CLIPS, seed=4, bright=40)
    metric = Jedi(*weights, heads=HEADS)
    ours_truth, ours_generated = metric.features(truth), metric.features(generated)

    def their_features(clips: np.ndarray) -> np.ndarray:  # the package's loader format: (B, T, C, H, W) in [0, 1]
        return videojedi_model.get_feats(resize_frames(torch.from_numpy(clips)).permute(0, 2, 1, 3, 4))

    reference = JEDiMetric()
    reference.train_features, reference.test_features = their_features(truth), their_features(generated)
    np.testing.assert_allclose(ours_truth, reference.train_features, rtol=1e-4, atol=1e-5)
    expected = float(reference.compute_metric())
    value = metric.score(ours_generated, ours_truth)
    assert expected > 0.1  # the two sets differ: a value that could be wrong
    assert value == pytest.approx(expected, rel=1e-3)
    assert metric.score(ours_truth, ours_truth) == pytest.approx(0.0, abs=1e-9)


def test_mmd_polynomial_is_the_package_kernel():
    mmd_poly = pytest.importorskip("videojedi.mmd_polynomial", reason=NOT_INSTALLED).mmd_poly
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 5)), rng.normal(0.5, 1.2, size=(20, 5))
    assert mmd_polynomial(x, y) == pytest.approx(mmd_poly(x, y, degree=2, coef0=0), rel=1e-10)


def test_jedi_refuses_a_probe_of_another_width(weights, tmp_path):
    other = save_random_vjepa(tmp_path, dim=32)
    with pytest.raises(KfbenchError, match="probe .* is 32-d, encoder .* 16-d"):
        Jedi(weights[0], other[1], heads=HEADS)


def test_the_published_shapes_give_the_published_vit_h():
    """A state dict shaped like vith16.pth.tar's target encoder (meta device: no memory) builds ViT-H/16."""
    from kfbench.metrics.vjepa import VJepaEncoder

    with torch.device("meta"):
        state = {"patch_embed.proj.weight": torch.empty(1280, 3, 2, 16, 16), "pos_embed": torch.empty(1, 1568, 1280)}
        state |= {f"blocks.{i}.norm1.weight": torch.empty(1280) for i in range(32)}
        state |= {"blocks.0.mlp.fc1.weight": torch.empty(5120, 1280), "blocks.0.attn.qkv.bias": torch.empty(3840)}
        model = VJepaEncoder(state)
    assert len(model.blocks) == 32 and model.blocks[0].attn.heads == 16
    assert 0.62e9 < sum(p.numel() for p in model.parameters()) < 0.64e9  # ViT-H/16: about 632 million parameters
