"""``dists`` against the DISTS_pytorch package itself: identical random VGG16 weights, the package's own weights.pt."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchvision

from kfbench.metrics.dists import DISTS_WEIGHTS, DistsPerFrame
from tests.helpers.metric_weights import random_vgg16_features, save_random_vgg16

DISTS_pt = pytest.importorskip("DISTS_pytorch.DISTS_pt", reason="DISTS_pytorch is the reference (test extra)")


@pytest.fixture(scope="module")
def vgg16(tmp_path_factory) -> Path:
    return save_random_vgg16(tmp_path_factory.mktemp("vgg") / "vgg16-397923af.pth")


def package_dists(vgg16: Path, monkeypatch) -> torch.nn.Module:
    """DISTS_pytorch's DISTS with its torchvision download replaced by the same random VGG16 file."""

    def random_vgg(pretrained: bool = False, **kwargs) -> SimpleNamespace:
        features = random_vgg16_features(seed=1)  # other values, then the file's
        state = torch.load(vgg16, weights_only=True)
        features.load_state_dict({k.removeprefix("features."): v for k, v in state.items()})
        return SimpleNamespace(features=features)

    monkeypatch.setattr(DISTS_pt.models, "vgg16", random_vgg)
    assert Path(sys.prefix, "weights.pt").is_file()  # where the package reads its alpha/beta (the wheel puts it there)
    return DISTS_pt.DISTS().eval()


def frames(seed: int, n: int = 3, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """Smooth random frames (a blurred noise field), as images rather than white noise."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (n, size[0] // 8, size[1] // 8, 3)).astype(np.float32)
    up = torch.nn.functional.interpolate(torch.from_numpy(noise).permute(0, 3, 1, 2), size=size, mode="bicubic")
    return up.clamp(0, 255).round().byte().permute(0, 2, 3, 1).numpy()


def test_dists_equals_the_package_on_identical_random_vgg16(vgg16, monkeypatch):
    reference = package_dists(vgg16, monkeypatch)
    shipped = DISTS_WEIGHTS.resolve(None)
    assert isinstance(shipped, Path) and shipped.parent.name == "DISTS_pytorch"
    ours = DistsPerFrame(vgg16, shipped)
    truth, generated = frames(0), frames(1)
    with torch.no_grad():
        expected = reference(
            torch.from_numpy(truth).permute(0, 3, 1, 2).float() / 255,
            torch.from_numpy(generated).permute(0, 3, 1, 2).float() / 255,
        ).numpy()
    got = ours(generated, truth)
    assert got.shape == (3,) and np.all(got > 0)
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert np.allclose(ours(truth, truth), 0, atol=1e-6)


def test_dists_ranks_a_blurred_copy_below_a_sharp_one(vgg16):
    """Synthetic sanity check: the heavier the blur of the ground truth, the larger DISTS."""
    ours = DistsPerFrame(vgg16, DISTS_WEIGHTS.resolve(None))
    truth = frames(2, size=(64, 64))
    light = np.stack(
        [
            torchvision.transforms.functional.gaussian_blur(torch.from_numpy(f).permute(2, 0, 1), 3, 0.6)
            .permute(1, 2, 0)
            .numpy()
            for f in truth
        ]
    )
    heavy = np.stack(
        [
            torchvision.transforms.functional.gaussian_blur(torch.from_numpy(f).permute(2, 0, 1), 9, 3.0)
            .permute(1, 2, 0)
            .numpy()
            for f in truth
        ]
    )
    assert np.all(ours(light, truth) < ours(heavy, truth))
