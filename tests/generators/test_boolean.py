from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from _generators_stats import (
    N_SIGMA,
    lags,
    mean_and_standard_error,
    periodic_autocorrelation,
    torus_fraction_variance,
)
from scipy import integrate

from generators import (
    boolean_integral_range,
    boolean_s2,
    boolean_spheres,
    boolean_volume_fraction,
    voxelize_spheres,
)
from generators.boolean import TAIL_PROBABILITY, lens_volume

# Voxel-centre inclusion samples the continuous Boolean set at the voxel centres, so the
# voxel statistics at lattice lags are the exact continuous ones: no discretization band.


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("shape", "radius", "volume_fraction"),
    [
        ((128, 128), 4.0, 0.4),
        ((128, 128), scipy.stats.uniform(2.0, 4.0), 0.5),
        ((128, 128), scipy.stats.lognorm(0.25, scale=3.0), 0.4),
        ((40, 40, 40), 3.0, 0.3),
    ],
    ids=["2d", "2d-polydisperse", "2d-lognormal", "3d"],
)
def test_two_point_probability_and_fraction_match_the_exact_ones(shape, radius, volume_fraction):
    rng = np.random.default_rng(2024)
    packings = [
        boolean_spheres(shape, radius, volume_fraction=volume_fraction, rng=rng) for _ in range(32)
    ]
    labels = np.stack([p.labels for p in packings])
    ndim = len(shape)
    moment = radius**ndim if isinstance(radius, float) else radius.moment(ndim)
    mean_volume = math.pi ** (ndim / 2) / math.gamma(ndim / 2 + 1) * moment
    intensity = -math.log1p(-volume_fraction) / mean_volume
    # the band of the fraction comes from its exact variance on the torus, and the spread
    # of the 32 fractions is held to it (relative error of a sample variance sqrt(2/31))
    fractions = labels.reshape(len(labels), -1).mean(axis=1)
    reach = 2 * (radius if isinstance(radius, float) else radius.isf(TAIL_PROBABILITY))
    variance = torus_fraction_variance(
        shape, lambda r: boolean_s2(r, intensity, radius, ndim), reach
    )
    assert abs(fractions.mean() - volume_fraction) <= N_SIGMA * math.sqrt(variance / 32)
    assert abs(fractions.var(ddof=1) / variance - 1.0) <= N_SIGMA * math.sqrt(2.0 / 31)
    # the log-normal law is truncated at its 1 - 1e-9 quantile: E[R^2] moves by ~1e-8
    assert boolean_volume_fraction(intensity, radius, ndim) == pytest.approx(volume_fraction)
    mean, error = mean_and_standard_error([periodic_autocorrelation(c) for c in labels])
    for lag in lags(ndim, steps=(1, 2, 4, 8, 12)):
        expected = boolean_s2(math.hypot(*lag), intensity, radius, ndim)
        assert abs(mean[lag] - expected) <= N_SIGMA * error[lag], (lag, mean[lag], expected)


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("radius", "third_moment"),
    [
        # E[R^3] of the untruncated laws in closed form; truncation at the 1 - 1e-9
        # quantile changes them by < 1e-6 relative, far inside the sampling band
        (scipy.stats.lognorm(0.3, scale=2.5), 2.5**3 * math.exp(9 * 0.3**2 / 2)),
        (scipy.stats.gamma(4.0, scale=0.6), 0.6**3 * 4.0 * 5.0 * 6.0),
    ],
    ids=["lognormal", "gamma"],
)
def test_unbounded_radius_laws_give_the_exact_boolean_fraction(radius, third_moment):
    # 1 - exp(-lambda E[V]) against the voxel fraction (voxel-centre inclusion samples the
    # continuous set without bias) over 32 realizations; the radii follow the law
    # truncated at its 1 - TAIL_PROBABILITY quantile (Kolmogorov-Smirnov, p > 1e-4)
    shape, intensity = (48, 48, 48), 0.004
    rng = np.random.default_rng(7)
    packings = [boolean_spheres(shape, radius, intensity=intensity, rng=rng) for _ in range(32)]
    fractions = [p.labels.mean() for p in packings]
    expected = -math.expm1(-intensity * 4.0 / 3.0 * math.pi * third_moment)
    mean, error = mean_and_standard_error(fractions)
    assert abs(mean - expected) <= N_SIGMA * error, (mean, expected, error)
    assert boolean_volume_fraction(intensity, radius, 3) == pytest.approx(expected, rel=1e-6)
    radii = np.concatenate([p.radii for p in packings])
    assert radii.max() <= radius.isf(TAIL_PROBABILITY)
    truncated_cdf = lambda r: radius.cdf(r) / (1.0 - TAIL_PROBABILITY)  # noqa: E731
    assert scipy.stats.kstest(radii, truncated_cdf).pvalue > 1e-4


@pytest.mark.parametrize(
    "radius",
    [
        scipy.stats.lognorm(0.6, scale=1.0),
        scipy.stats.gamma(0.5, scale=2.0),
        scipy.stats.weibull_min(1.5, scale=2.0),
        scipy.stats.expon(scale=1.5),
    ],
    ids=["lognormal", "gamma", "weibull", "exponential"],
)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_truncated_radius_averages_match_scipy_expect(radius, ndim):
    # the graded quadrature over t = -ln(1 - u) against scipy's adaptive expectation over
    # the truncated law (1e-8: both are far more accurate than that)
    top = radius.isf(TAIL_PROBABILITY)
    ball = radius.expect(
        lambda R: float(lens_volume(0.0, R, ndim)), lb=0.0, ub=top, conditional=True, epsrel=1e-12
    )
    intensity = 0.3 / ball
    phi = -math.expm1(-intensity * ball)
    assert boolean_volume_fraction(intensity, radius, ndim) == pytest.approx(phi, rel=1e-8)
    for r in (0.5, 2.0, 5.0):
        lens = radius.expect(
            lambda R, r=r: float(lens_volume(r, R, ndim)), lb=r / 2, ub=top, epsrel=1e-12
        ) / (1.0 - TAIL_PROBABILITY)
        expected = 1.0 - 2.0 * (1.0 - phi) + (1.0 - phi) ** 2 * math.exp(intensity * lens)
        assert boolean_s2(r, intensity, radius, ndim) == pytest.approx(expected, rel=1e-8)


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("shape", "radius"),
    [((40, 40, 40), 3.0), ((96, 96), scipy.stats.uniform(2.0, 4.0))],
    ids=["3d", "2d-polydisperse"],
)
def test_no_edge_bias_in_boolean_spheres(shape, radius):
    # the periodic Boolean model is invariant in law under shifts, so every voxel centre is
    # covered with probability phi: so is each boundary slab, within its sampling error
    volume_fraction = 0.35
    rng = np.random.default_rng(13)
    labels = np.stack(
        [
            boolean_spheres(shape, radius, volume_fraction=volume_fraction, rng=rng).labels
            for _ in range(32)
        ]
    )
    for axis in range(1, labels.ndim):
        for index in (0, -1):
            slab = np.take(labels, index, axis=axis)
            mean, error = mean_and_standard_error(slab.reshape(len(slab), -1).mean(axis=1))
            assert abs(mean - volume_fraction) <= N_SIGMA * error, (axis, index, mean, error)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_lens_volume_closed_forms(ndim):
    # end values: the ball volume at r = 0, zero from r = 2R; and the integral of the lens
    # over all lags is the squared ball volume (a quadrature, asked for 1e-12)
    radius = 1.7
    volume = math.pi ** (ndim / 2) / math.gamma(ndim / 2 + 1) * radius**ndim
    assert lens_volume(0.0, radius, ndim) == pytest.approx(volume, rel=1e-14)
    assert lens_volume(2 * radius, radius, ndim) == 0.0
    assert lens_volume(5.0, radius, ndim) == 0.0
    area = 2.0 * math.pi ** (ndim / 2) / math.gamma(ndim / 2)
    radial, _ = integrate.quad(
        lambda r: r ** (ndim - 1) * lens_volume(r, radius, ndim), 0.0, 2 * radius, epsrel=1e-12
    )
    assert area * radial == pytest.approx(volume**2, rel=1e-10)


def test_polydisperse_lens_average_matches_scipy_expect():
    # the quantile Gauss-Legendre average against scipy's adaptive expectation (1e-8: both
    # quadratures are far more accurate than that)
    radius = scipy.stats.truncnorm(-2.0, 2.0, loc=3.0, scale=0.5)
    intensity = 0.01
    for r in (0.0, 1.0, 4.0, 6.5):
        lens = radius.expect(lambda R, r=r: float(lens_volume(r, R, 2)), epsrel=1e-12)
        phi = boolean_volume_fraction(intensity, radius, 2)
        expected = 1.0 - 2.0 * (1.0 - phi) + (1.0 - phi) ** 2 * math.exp(intensity * lens)
        assert boolean_s2(r, intensity, radius, 2) == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_integral_range_is_the_integral_of_the_indicator_covariance(ndim):
    intensity, radius = 0.02, 2.0
    phi = boolean_volume_fraction(intensity, radius, ndim)
    area = 2.0 * math.pi ** (ndim / 2) / math.gamma(ndim / 2)
    radial, _ = integrate.quad(
        lambda r: r ** (ndim - 1) * (boolean_s2(r, intensity, radius, ndim) - phi**2),
        0.0,
        2 * radius,
        epsrel=1e-11,
    )
    expected = area * radial / (phi * (1 - phi))
    assert boolean_integral_range(intensity, radius, ndim) == pytest.approx(expected, rel=1e-8)
    # dilute limit: the ball volume
    volume = math.pi ** (ndim / 2) / math.gamma(ndim / 2 + 1) * radius**ndim
    assert boolean_integral_range(1e-9, radius, ndim) == pytest.approx(volume, rel=1e-6)


def test_same_seed_same_medium_and_periodic_wrapping():
    first = boolean_spheres((32, 32), 3.0, intensity=0.01, rng=5)
    again = boolean_spheres((32, 32), 3.0, intensity=0.01, rng=5)
    other = boolean_spheres((32, 32), 3.0, intensity=0.01, rng=6)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.centres, again.centres)
    assert not np.array_equal(first.labels, other.labels)
    # a disk centred on the box corner shows up in all four corners
    corner = voxelize_spheres((16, 16), [[0.0, 0.0]], [2.0])
    assert corner[0, 0] == corner[-1, -1] == corner[0, -1] == corner[-1, 0] == 1
    assert corner.sum() == 12  # voxel centres (+-0.5, +-0.5), (+-1.5, +-0.5), (+-0.5, +-1.5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "exactly one of intensity and volume_fraction"),
        ({"intensity": 0.1, "volume_fraction": 0.3}, ValueError, "exactly one"),
        ({"volume_fraction": 1.0}, ValueError, r"volume_fraction must be in \(0, 1\)"),
        ({"intensity": -1.0}, ValueError, r"intensity must be in \(0, inf\)"),
        ({"intensity": 0.1, "radius": 20.0}, ValueError, "at most half the smallest box edge"),
        ({"intensity": 0.1, "radius": 0.0}, ValueError, r"radius must be in \(0, inf\)"),
        (
            {"intensity": 0.1, "radius": scipy.stats.lognorm(0.5)},
            ValueError,
            r"truncated at its 1 - 1e-09 quantile 20.06.* at most half the smallest box edge",
        ),
        (
            {"intensity": 0.1, "radius": scipy.stats.norm(3.0)},
            ValueError,
            r"support in \[0, inf\)",
        ),
        ({"intensity": 0.1, "radius": scipy.stats.uniform(1, 30)}, ValueError, "half"),
        ({"intensity": 0.1, "radius": "big"}, TypeError, "frozen scipy.stats"),
        ({"intensity": 0.1, "radius": scipy.stats.poisson(2)}, TypeError, "continuous"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, error, message):
    arguments = {"shape": (32, 32), "radius": 2.0} | kwargs
    with pytest.raises(error, match=message):
        boolean_spheres(**arguments)


def test_bad_exact_statistics_arguments_are_rejected():
    with pytest.raises(ValueError, match="ndim must be 1 to 3"):
        boolean_s2(1.0, 0.1, 1.0, 4)
    with pytest.raises(ValueError, match=r"r must lie in \[0, inf\]"):
        boolean_s2(-1.0, 0.1, 1.0, 2)
    with pytest.raises(ValueError, match=r"centres must have shape \(n, 2\)"):
        voxelize_spheres((8, 8), [[1.0, 2.0, 3.0]], [1.0])
    with pytest.raises(ValueError, match="radii must be > 0"):
        voxelize_spheres((8, 8), [[1.0, 2.0]], [0.0])
