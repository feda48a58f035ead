"""fvd_videomae equals the cd-fvd package itself on the same clips and the same (tiny, random) weights."""

from __future__ import annotations

import argparse
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from kfbench.errors import KfbenchError
from kfbench.metrics.videomae import FvdVideoMAE
from tests.helpers.video_metric_weights import random_clips, save_random_videomae

HEADS, WIDTH, CLIPS = 2, 8, 10  # more clips than feature dimensions: cd-fvd's sqrtm is then well conditioned


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_random_videomae(tmp_path_factory.mktemp("videomae") / "vit_g_hybrid_pt_1200e_ssv2_ft.pth", dim=WIDTH)


def _cdfvd(monkeypatch, weights):
    """cd-fvd's own cdfvd(model='videomae'), its ViT-g constructor shrunk to the checkpoint's width; no network."""
    cdfvd = pytest.importorskip("cdfvd.fvd", reason="the cd-fvd reference is not installed: pip install -e '.[test]'")
    from cdfvd.third_party.VideoMAEv2 import utils as videomae_utils
    from cdfvd.third_party.VideoMAEv2.videomaev2_finetune import VisionTransformer

    def tiny_vit(pretrained=False, **kwargs):
        return VisionTransformer(
            patch_size=14,
            embed_dim=WIDTH,
            depth=2,
            num_heads=HEADS,
            mlp_ratio=4,
            qkv_bias=True,
            norm_layer=partial(nn.LayerNorm, eps=1e-6),
            **kwargs,
        )

    monkeypatch.setattr(videomae_utils, "vit_giant_patch14_224", tiny_vit)
    monkeypatch.setattr(videomae_utils.requests, "get", lambda *a, **k: pytest.fail("cd-fvd tried to download"))
    return cdfvd.cdfvd(model="videomae", ckpt_path=str(weights), device="cpu"), videomae_utils


def test_fvd_videomae_equals_cd_fvd(monkeypatch, weights):
    reference, videomae_utils = _cdfvd(monkeypatch, weights)  # its strict load_state_dict also checks our key layout
    truth, generated = random_clips(CLIPS, seed=1), random_clips(CLIPS, seed=2, bright=30)
    for start in range(0, CLIPS, 4):  # cd-fvd's own accumulation, 4 clips at a time
        reference.add_real_stats(truth[start : start + 4])
        reference.add_fake_stats(generated[start : start + 4])
    expected = float(reference.compute_fvd_from_stats())

    metric = FvdVideoMAE(weights, heads=HEADS)
    ours_truth, ours_generated = metric.features(truth), metric.features(generated)
    with torch.no_grad():
        their_features = (
            reference.model.forward_features(videomae_utils.preprocess_videomae(truth[:4])).double().numpy()
        )
    np.testing.assert_allclose(ours_truth[:4], their_features, rtol=1e-4, atol=1e-5)
    value = metric.score(ours_generated, ours_truth)
    assert expected > 0.05  # the two sets differ: a value that could be wrong
    assert value == pytest.approx(expected, rel=1e-3)
    assert metric.score(ours_truth, ours_truth) == pytest.approx(0.0, abs=1e-6)


def test_fvd_videomae_refuses_other_clip_lengths_and_foreign_files(weights, tmp_path):
    metric = FvdVideoMAE(weights, heads=HEADS)
    with pytest.raises(KfbenchError, match="16-frame clips, got 25"):
        metric.features(random_clips(2, seed=0, frames=25))
    other = tmp_path / "other.pth"
    torch.save({"model": {"conv.weight": torch.zeros(3)}}, other)
    with pytest.raises(KfbenchError, match="no 'patch_embed.proj.weight'"):
        FvdVideoMAE(other)
    with pytest.raises(KfbenchError, match="8-wide transformer cannot have 16 attention heads"):
        FvdVideoMAE(weights)
    pickled = tmp_path / "pickled.pth"
    torch.save(
        {"model": {}, "args": argparse.ArgumentParser}, pickled
    )  # not weights-only (argparse.Namespace is allowed)
    with pytest.raises(KfbenchError, match="is not plain weights: its pickle would import argparse.ArgumentParser"):
        FvdVideoMAE(pickled)


def test_the_published_shapes_give_the_published_vit_g():
    """A state dict shaped like vit_g_hybrid_pt_1200e_ssv2_ft.pth (on the meta device: no memory) builds ViT-g/14."""
    from kfbench.metrics.videomae import VideoMAEv2Encoder

    with torch.device("meta"):
        state = {"patch_embed.proj.weight": torch.empty(1408, 3, 2, 14, 14)}
        state |= {f"blocks.{i}.norm1.weight": torch.empty(1408) for i in range(40)}
        state |= {"blocks.0.mlp.fc1.weight": torch.empty(6144, 1408), "blocks.0.attn.q_bias": torch.empty(1408)}
        model = VideoMAEv2Encoder(state)
    assert len(model.blocks) == 40 and model.pos_embed.shape == (1, 2048, 1408)
    assert model.blocks[0].attn.heads == 16 and model.blocks[0].mlp.fc1.out_features == 6144
    assert 1.0e9 < sum(p.numel() for p in model.parameters()) < 1.02e9  # ViT-g: about 1.01 billion parameters
