"""Integral range of one level-cut image against the exact value from level_cut_s2."""

import numpy as np
import pytest
from scipy import integrate, special, stats

from generators import Exponential, Gaussian, gaussian_field, level_cut, level_cut_s2
from sve.morphology import integral_range
from tests._intervals import N_SIGMA, check_coverage

PHI = 0.3


def ball_lags(radius, ndim):
    """Number n_B of lattice lags h with |h| <= radius (voxels)."""
    reach = int(radius) + 1
    grid = np.indices((2 * reach + 1,) * ndim) - reach
    return int((np.sqrt((grid**2).sum(axis=0)) <= radius).sum())


def check_width(estimate, exact, shape, confidence, *, lower=True):
    """The half-width is t_{k-1} times the jackknife error, and that error is the one
    the estimator's Notes give for a Gaussian-like field, sqrt(2 n_B / N) A, within
    N_SIGMA times the relative sampling error 1/sqrt(2 (k - 1)) of a k-replicate
    jackknife (the upper side only where the field is not Gaussian-like)."""
    k = estimate.replicates
    t = stats.t.ppf(0.5 + confidence / 2, k - 1)
    assert (estimate.high - estimate.low) / 2 == pytest.approx(t * estimate.standard_error)
    theory = exact * np.sqrt(2 * ball_lags(estimate.radius, len(shape)) / np.prod(shape))
    band = N_SIGMA / np.sqrt(2 * (k - 1))
    ratio = estimate.standard_error / theory
    assert ratio < 1 + band, (ratio, band)
    if lower:
        assert ratio > 1 - band, (ratio, band)


def exact_integral_range(model, ndim, phi=PHI):
    """(1 / phi(1 - phi)) * integral over R^d of S2(rho(r)) - phi^2, by quadrature."""
    sphere = 2 * np.pi ** (ndim / 2) / special.gamma(ndim / 2)

    def integrand(r):
        return sphere * r ** (ndim - 1) * (level_cut_s2(model.correlation(r), phi) - phi**2)

    value, _ = integrate.quad(integrand, 0, np.inf, limit=200)
    return value / (phi * (1 - phi))


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("model", "shape", "periodic"),
    [
        (Exponential(2.0), (256, 256), True),
        (Gaussian(3.0), (256, 256), False),
        (Exponential(2.0), (64, 64, 64), True),
    ],
)
def test_exact_value_inside_interval(model, shape, periodic):
    """One pinned image: the 99 % jackknife interval holds the exact integral range.

    The grid sum of the exact covariance differs from the integral by < 0.5 % (checked
    below), far inside the interval; the truncation at the first zero of the sample
    covariance leaves a bias well inside the interval (coverage test below)."""
    exact = exact_integral_range(model, len(shape))
    image = level_cut(gaussian_field(shape, model, spacing=1.0, rng=11), PHI)
    estimate = integral_range(image, periodic=periodic, confidence=0.99)
    assert estimate.low < exact < estimate.high
    check_width(estimate, exact, shape, 0.99)


@pytest.mark.statistical
def test_interval_coverage_over_seeds():
    """95 % intervals over 40 independent images cover the exact value two-sided at the
    nominal rate (bands: 4 binomial standard errors), and their width is the spread of
    the estimates: the mean jackknife error equals the standard deviation of the 40
    values within 4 standard errors of their ratio (sample sd of 40 values: relative
    error 1/sqrt(78); mean of 40 jackknife errors of 16 replicates: 1/sqrt(30 * 40))."""
    model, trials = Exponential(2.0), 40
    exact = exact_integral_range(model, 2)
    estimates = [
        integral_range(level_cut(gaussian_field((192, 192), model, rng=seed), PHI))
        for seed in range(trials)
    ]
    check_coverage([e.low for e in estimates], [e.high for e in estimates], exact, 0.95)
    spread = np.std([e.value for e in estimates], ddof=1)
    ratio = np.mean([e.standard_error for e in estimates]) / spread
    k = estimates[0].replicates
    band = N_SIGMA * np.sqrt(1 / (2 * (trials - 1)) + 1 / (2 * (k - 1) * trials))
    assert abs(ratio - 1) < band, (ratio, band)


def test_grid_sum_matches_integral():
    """The estimator targets the grid sum of C(h); it equals the integral to 0.5 %."""
    model = Exponential(4.0)
    x = np.indices((256, 256)) - 128
    rho = model.correlation(np.sqrt((x**2).sum(0)))
    grid = (level_cut_s2(rho, PHI) - PHI**2).sum() / (PHI * (1 - PHI))
    assert grid == pytest.approx(exact_integral_range(model, 2), rel=5e-3)


def test_spacing_scales_the_volume():
    image = level_cut(gaussian_field((64, 64), Exponential(3.0), rng=1), 0.5)
    unit = integral_range(image)
    scaled = integral_range(image, spacing=0.5, radius=unit.radius * 0.5)
    assert scaled.value == pytest.approx(unit.value * 0.25, rel=1e-12)


def test_bad_inputs():
    image = np.zeros((32, 32), dtype=int)
    image[:16] = 1
    with pytest.raises(ValueError, match=r"radius must be in \(0, 16\]"):
        integral_range(image, radius=20.0)
    with pytest.raises(ValueError, match="blocks must be in"):
        integral_range(image, blocks=1)
    with pytest.raises(ValueError, match="some but not all voxels"):
        integral_range(image, phase=3)
    with pytest.raises(ValueError, match="confidence must be in"):
        integral_range(image, confidence=1.0)


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("shape", "radius"),
    [((512, 512), 3.0), ((64, 64, 64), 2.5)],
)
def test_boolean_model_exact_value_inside_interval(shape, radius):
    """Boolean spheres: the 99 % jackknife interval of one pinned image holds Matheron's
    exact integral range of the grain indicator (generators.boolean_integral_range).

    Voxelizing disks of radius >= 2.5 voxels changes A by a few per cent (measured
    1-3 % low), inside the interval, whose half-width is ~ 2.6 standard errors."""
    from generators import boolean_integral_range, boolean_spheres

    packing = boolean_spheres(shape, radius, volume_fraction=PHI, rng=5)
    intensity = -np.log(1 - PHI) / (
        special.gamma(0.5) ** len(shape) / special.gamma(len(shape) / 2 + 1) * radius ** len(shape)
    )
    exact = boolean_integral_range(intensity, radius, len(shape))
    estimate = integral_range(packing.labels, confidence=0.99)
    assert estimate.low < exact < estimate.high
    # a Boolean indicator is not Gaussian-like: its jackknife error is measured at about
    # half the Gaussian-field value (0.51 in 2-D, 0.45 in 3-D), so only the upper bound
    # of the Gaussian-field width applies
    check_width(estimate, exact, shape, 0.99, lower=False)
