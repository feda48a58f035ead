"""Frechet distance in float64 against closed forms, scipy and torchmetrics; KID; sample-size errors."""

import warnings

import numpy as np
import pytest
import scipy.linalg

from kfbench.errors import KfbenchError
from kfbench.metrics.bootstrap import bootstrap_interval
from kfbench.metrics.frechet import (
    FrechetResampler,
    SampleSizeWarning,
    frechet_distance,
    frechet_distance_features,
    gaussian_stats,
)
from kfbench.metrics.kid import kernel_distance


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def scipy_fd(mu1, s1, mu2, s2):
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


def test_diagonal_gaussians_match_the_closed_form():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 3, 16), rng.uniform(0.1, 3, 16)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("c", [0.5, 1.0, 2.5])
def test_scaled_covariance_gives_one_minus_c_squared_trace(c):
    rng = np.random.default_rng(1)
    sigma = random_spd(rng, 24)
    mu = rng.normal(size=24)
    assert frechet_distance(mu, sigma, mu, c**2 * sigma) == pytest.approx((1 - c) ** 2 * np.trace(sigma), abs=1e-9)


def test_equal_covariances_leave_the_mean_term():
    rng = np.random.default_rng(2)
    sigma = random_spd(rng, 20)
    mu1, mu2 = rng.normal(size=20), rng.normal(size=20)
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(np.sum((mu1 - mu2) ** 2), abs=1e-9)


@pytest.mark.parametrize("n1, n2, d", [(300, 250, 12), (15, 20, 64), (40, 9, 30)])
@pytest.mark.parametrize("covariance", ["n-1", "n"])
def test_features_path_matches_scipy_in_float64(n1, n2, d, covariance):
    rng = np.random.default_rng(n1 + d)
    x = rng.normal(size=(n1, d)) @ rng.normal(size=(d, d))
    y = rng.normal(loc=0.3, size=(n2, d)) @ rng.normal(size=(d, d))
    ddof = 1 if covariance == "n-1" else 0
    s1, s2 = np.cov(x, rowvar=False, ddof=ddof), np.cov(y, rowvar=False, ddof=ddof)
    with pytest.warns(SampleSizeWarning) if min(n1, n2) < d else _no_warning():
        value = frechet_distance_features(x.astype(np.float32), y, covariance)
    assert value == pytest.approx(scipy_fd(x.mean(0), s1, y.mean(0), s2), rel=1e-6)


def test_the_two_covariance_conventions_differ_as_stated():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 3))
    assert np.allclose(gaussian_stats(x, "n")[1] * 10 / 9, gaussian_stats(x, "n-1")[1])


def test_fewer_than_two_samples_is_an_error_and_fewer_than_dims_a_warning():
    rng = np.random.default_rng(4)
    with pytest.raises(KfbenchError, match="needs at least 2 samples"):
        frechet_distance_features(rng.normal(size=(1, 8)), rng.normal(size=(5, 8)), what="FID")
    with pytest.warns(SampleSizeWarning, match="the value is biased at this n"):
        frechet_distance_features(rng.normal(size=(5, 8)), rng.normal(size=(5, 8)), what="FID")
    with pytest.raises(KfbenchError, match="KID needs at least 2 samples"):
        kernel_distance(rng.normal(size=(1, 8)), rng.normal(size=(5, 8)))
    with pytest.raises(KfbenchError, match="covariance convention"):
        frechet_distance_features(rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), "biased")


def test_fid_path_matches_torchmetrics_with_the_same_random_extractor():
    import torch
    from torchmetrics.image.fid import FrechetInceptionDistance

    from kfbench.metrics.inception import ImageFeatures

    torch.manual_seed(0)
    extractor = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 24))
    wrapped = torch.nn.Sequential(_ToFloat(), extractor)
    wrapped.num_features = 24
    rng = np.random.default_rng(5)
    real = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    fake = np.clip(real.astype(int) + rng.integers(-60, 60, real.shape), 0, 255).astype(np.uint8)
    metric = FrechetInceptionDistance(feature=wrapped)
    metric.update(torch.from_numpy(real).permute(0, 3, 1, 2), real=True)
    metric.update(torch.from_numpy(fake).permute(0, 3, 1, 2), real=False)
    features = ImageFeatures(wrapped, "random", 24)
    ours = frechet_distance_features(features(fake), features(real), "n-1")
    assert ours == pytest.approx(float(metric.compute()), rel=1e-4)


def test_kid_matches_torchmetrics_when_subsets_cover_the_sets():
    import torch
    from torchmetrics.image.kid import KernelInceptionDistance

    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(30, 16)), rng.normal(loc=0.5, size=(30, 16))
    metric = KernelInceptionDistance(feature=torch.nn.Identity(), subsets=3, subset_size=30)
    metric.update(torch.from_numpy(x), real=True)
    metric.update(torch.from_numpy(y), real=False)
    assert kernel_distance(y, x) == pytest.approx(float(metric.compute()[0]), rel=1e-6)
    assert kernel_distance(y, x, subset_size=10, subsets=20) == pytest.approx(kernel_distance(y, x), rel=0.5)


def test_bootstrap_interval_contains_the_point_and_shrinks_with_n():
    rng = np.random.default_rng(7)
    small, large = rng.normal(size=10), rng.normal(size=1000)
    widths = []
    for data in (small, large):
        low, high = bootstrap_interval(
            lambda idx, d=data: float(d[idx].mean()), len(data), float(data.mean()), resamples=300
        )
        assert low <= data.mean() <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 4


class _ToFloat(__import__("torch").nn.Module):
    def forward(self, x):
        return x.float() / 255


class _no_warning:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error", SampleSizeWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


def test_resampling_inflates_frechet_distance_and_the_bias_shift_recentres_the_interval():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(40, 64)), rng.normal(loc=0.2, size=(40, 64))
    with pytest.warns(SampleSizeWarning):
        point = frechet_distance_features(x, y)

    def statistic(idx):
        return frechet_distance_features(x[idx], y[idx])

    with pytest.warns(SampleSizeWarning):
        plain = bootstrap_interval(statistic, 40, point, resamples=100)
        corrected = bootstrap_interval(statistic, 40, point, resamples=100, interval="shifted-percentile")
    assert plain[0] > point  # duplicated samples raise FD: the plain percentiles miss the estimate
    assert corrected[0] < point < corrected[1]
    assert corrected[1] - corrected[0] == pytest.approx(plain[1] - plain[0])


@pytest.mark.parametrize("rows, d", [(30, 8), (12, 40)])
@pytest.mark.parametrize("covariance", ["n-1", "n"])
def test_row_counts_equal_repeating_the_rows(rows, d, covariance):
    """A bootstrap resample given as distinct rows and counts is the FD of the repeated rows (both QR and Gram
    paths)."""
    rng = np.random.default_rng(rows + d)
    x, y = rng.normal(size=(rows, d)), rng.normal(0.2, size=(rows, d)) @ rng.normal(size=(d, d))
    ix, iy = rng.integers(0, rows, rows), rng.integers(0, rows, rows)
    (u, cu), (v, cv) = np.unique(ix, return_counts=True), np.unique(iy, return_counts=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        repeated = frechet_distance_features(x[ix], y[iy], covariance)
        counted = frechet_distance_features(x[u], y[v], covariance, x_counts=cu, y_counts=cv)
    ddof = 1 if covariance == "n-1" else 0
    s1, s2 = np.cov(x[ix], rowvar=False, ddof=ddof), np.cov(y[iy], rowvar=False, ddof=ddof)
    assert counted == pytest.approx(repeated, rel=1e-9)
    assert counted == pytest.approx(scipy_fd(x[ix].mean(0), s1, y[iy].mean(0), s2), rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        resampled = FrechetResampler(x, y, covariance)(
            ix, iy
        )  # precomputed cross products, or the counted path past D rows
    assert resampled == pytest.approx(repeated, rel=1e-9)
