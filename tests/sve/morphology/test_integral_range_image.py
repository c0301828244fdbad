"""Integral range of one level-cut image against the exact value from level_cut_s2."""

import numpy as np
import pytest
from scipy import integrate, special

from generators import Exponential, Gaussian, gaussian_field, level_cut, level_cut_s2
from sve.morphology import integral_range

PHI = 0.3


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
    assert estimate.standard_error < 0.5 * exact  # informative: sqrt(2 n_B / N) < 0.5


@pytest.mark.statistical
def test_interval_coverage_over_seeds():
    """95 % intervals over 40 independent images cover the exact value at the nominal rate
    (band: 4 binomial standard errors below 0.95)."""
    model, trials = Exponential(2.0), 40
    exact = exact_integral_range(model, 2)
    covered = 0
    for seed in range(trials):
        image = level_cut(gaussian_field((192, 192), model, rng=seed), PHI)
        estimate = integral_range(image)
        covered += estimate.low < exact < estimate.high
    assert covered / trials > 0.95 - 4 * np.sqrt(0.95 * 0.05 / trials)


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
    assert estimate.standard_error < 0.1 * exact  # informative, not a vacuous interval
