"""FVD against the cd-fvd package itself: the same random i3d_pretrained_400.pt, the same clips, /n covariance."""

import numpy as np
import pytest
import torch
from torch import nn

cdfvd_fvd = pytest.importorskip(
    "cdfvd.fvd", reason="cd-fvd (a test dependency: pip install -e .[test]) is not installed"
)


def save_cdfvd_i3d(path, scale: float = 0.01):
    """cd-fvd's own InceptionI3d with random weights and SMALL running variances (~1e-4), saved as its state_dict.

    Each conv's weights and its BatchNorm's statistics are scaled together (weights and mean by s,
    variance by s^2): activations stay O(1) while the epsilon (1e-5 vs 1e-3) matters, as in trained weights.
    """
    from cdfvd.third_party.i3d.pytorch_i3d import InceptionI3d, Unit3D

    torch.manual_seed(0)
    model = InceptionI3d(400, in_channels=3)
    for module in model.modules():
        if isinstance(module, Unit3D) and module._use_batch_norm:
            with torch.no_grad():
                module.conv3d.weight.mul_(scale)
                module.bn.running_mean.uniform_(-0.1, 0.1).mul_(scale)
                module.bn.running_var.uniform_(0.5, 1.5).mul_(scale**2)
    assert max(m.running_var.max() for m in model.modules() if isinstance(m, nn.BatchNorm3d)) < 2e-4
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::scipy.linalg.LinAlgWarning", "ignore::UserWarning")
def test_kfbench_fvd_equals_cd_fvd_with_the_same_state_dict(tmp_path, monkeypatch):
    import requests

    from kfbench.metrics.frechet import frechet_distance_features
    from kfbench.metrics.i3d import ClipFeatures

    def no_network(*args, **kwargs):
        raise AssertionError("cd-fvd tried to download")

    monkeypatch.setattr(requests, "get", no_network)
    path = save_cdfvd_i3d(tmp_path / "i3d_pretrained_400.pt")
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (3, 9, 36, 48, 3), dtype=np.uint8)
    clips[1] = np.clip(clips[0].astype(int) // 2 + 60, 0, 255)  # related clips: a non-trivial distance
    real, fake = [0, 1], [1, 2]

    reference = cdfvd_fvd.cdfvd("i3d", ckpt_path=str(path), device="cpu", n_real="full", n_fake="full")
    everything = cdfvd_fvd.get_i3d_logits(
        cdfvd_fvd.FeatureStats(capture_all=True), reference.model, clips, device="cpu"
    )
    theirs = everything.get_all()
    real_stats, fake_stats = (cdfvd_fvd.FeatureStats(capture_mean_cov=True) for _ in range(2))
    real_stats.append(theirs[real])
    fake_stats.append(theirs[fake])
    expected = float(reference.compute_fvd_from_stats(fake_stats, real_stats))

    ours = np.concatenate([ClipFeatures(path)(clip) for clip in clips])
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-3 * np.abs(theirs).max())
    value = frechet_distance_features(ours[fake], ours[real], "n")
    assert expected > 0 and value == pytest.approx(expected, rel=1e-3)

    tensorflow_eps = ClipFeatures(path, bn_eps="tensorflow")(clips[0])  # the named TF option: not cd-fvd's numbers
    assert np.abs(tensorflow_eps - theirs[:1]).max() > 1e-2 * np.abs(theirs[:1]).max()
