from __future__ import annotations

import math

import numpy as np
import pytest
from _generators_stats import (
    N_REALIZATIONS,
    N_SIGMA,
    lags,
    mean_and_standard_error,
    periodic_autocorrelation,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from scipy import integrate
from scipy.stats import norm

from generators import (
    Exponential,
    Gaussian,
    Matern,
    PowerLaw,
    gaussian_field,
    level_cut,
    level_cut_integral_range,
    level_cut_s2,
)
from generators.gaussian import _grid_correlation

# an unexpected clipping warning would invalidate the comparisons with the model
pytestmark = pytest.mark.filterwarnings("error::UserWarning")

S2_ATOL = 1e-8
"""Required accuracy of level_cut_s2; the quadrature oracle is asked for 1e-12."""


def cut_realizations(shape, model, volume_fraction, seed, n=N_REALIZATIONS):
    rng = np.random.default_rng(seed)
    return np.stack(
        [level_cut(gaussian_field(shape, model, rng=rng), volume_fraction) for _ in range(n)]
    )


def s2_by_quadrature(rho, volume_fraction):
    # docs/physics.rst: S2 = phi^2 + (1/2 pi) int_0^rho exp(-alpha^2 / (1 + t)) / sqrt(1 - t^2) dt,
    # with t = sin(theta) to remove the end-point singularity at t = 1
    alpha = norm.isf(volume_fraction)
    integral, _ = integrate.quad(
        lambda theta: math.exp(-(alpha**2) / (1.0 + math.sin(theta))),
        0.0,
        math.asin(rho),
        epsabs=1e-13,
        epsrel=1e-12,
    )
    return volume_fraction**2 + integral / (2.0 * math.pi)


@pytest.mark.parametrize("shape", [(10,), (64, 64), (17, 9), (8, 12, 10)])
@pytest.mark.parametrize("volume_fraction", [0.05, 0.3, 0.5, 0.77])
def test_two_phase_cut_has_the_rounded_count_and_ranks(shape, volume_fraction):
    field = np.random.default_rng(1).standard_normal(shape)
    labels = level_cut(field, volume_fraction)
    assert labels.dtype == np.int8
    assert labels.shape == shape
    assert set(np.unique(labels)) <= {0, 1}
    assert np.count_nonzero(labels) == np.rint(volume_fraction * field.size)
    if 0 < np.count_nonzero(labels) < field.size:
        assert field[labels == 0].max() < field[labels == 1].min()


def test_float_fraction_equals_the_two_entry_sequence():
    field = np.random.default_rng(2).standard_normal((31, 17))
    np.testing.assert_array_equal(level_cut(field, 0.3), level_cut(field, [0.7, 0.3]))


def test_multi_phase_cut_is_exact_when_the_targets_are_integers():
    field = np.random.default_rng(3).standard_normal((40, 25))
    labels = level_cut(field, [0.2, 0.3, 0.1, 0.4])
    assert np.bincount(labels.ravel()).tolist() == [200, 300, 100, 400]
    edges = [field[labels == k] for k in range(4)]
    for lower, upper in zip(edges, edges[1:], strict=False):
        assert lower.max() < upper.min()


def test_ties_go_to_the_lower_phase_in_flat_order():
    labels = level_cut(np.zeros((2, 3)), 0.5)
    np.testing.assert_array_equal(labels, [[0, 0, 0], [1, 1, 1]])


def test_rank_cut_equals_the_stable_sort_oracle():
    # The cut finds its thresholds by partition, not by a sort: the labels must be those
    # of labelling the stable argsort (ties in flat order), ties right at the cuts included.
    rng = np.random.default_rng(4)
    fractions = [0.3, 0.25, 0.45]
    for field in (rng.standard_normal((9, 11)), rng.integers(-2, 3, (9, 11)).astype(float)):
        n = field.size
        starts = n - np.rint(n * np.cumsum(fractions[::-1])[::-1][1:]).astype(int)
        counts = np.diff(np.concatenate(([0], starts, [n])))
        oracle = np.empty(n, np.int8)
        oracle[np.argsort(field, axis=None, kind="stable")] = np.repeat([0, 1, 2], counts)
        np.testing.assert_array_equal(level_cut(field, fractions), oracle.reshape(field.shape))


@given(
    field=arrays(
        np.float64,
        array_shapes(min_dims=1, max_dims=3, max_side=6),
        elements=st.integers(-3, 3).map(float),  # small integers: many ties
    ),
    weights=st.lists(st.floats(0.05, 1.0), min_size=2, max_size=5),
)
def test_any_cut_is_monotone_with_counts_within_one_voxel(field, weights):
    fractions = [w / math.fsum(weights) for w in weights]
    labels = level_cut(field, fractions)
    n = field.size
    counts = np.bincount(labels.ravel(), minlength=len(fractions))
    # labels never decrease along the stable ranking of the field
    assert np.all(np.diff(labels.ravel()[np.argsort(field, axis=None, kind="stable")]) >= 0)
    # the documented rule: phases k.. n-1 hold rint(N * sum of their fractions) voxels ...
    for k in range(1, len(fractions)):
        assert counts[k:].sum() == np.rint(n * math.fsum(fractions[k:]))
    # ... so each phase is within one voxel of its target (1e-9: round-off of the targets)
    assert np.all(np.abs(counts - n * np.array(fractions)) <= 1.0 + 1e-9)


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("shape", "model", "volume_fraction"),
    [
        ((256, 256), Gaussian(3.0), 0.3),
        ((256, 256), Exponential(3.0), 0.5),
        ((48, 48, 48), Exponential(2.0), 0.2),
    ],
)
def test_two_point_probability_of_level_cuts(shape, model, volume_fraction):
    # Cutting by rank fixes each realization's fraction, which lowers S2 at every lag h != 0
    # by up to the variance the fraction has at a fixed threshold,
    # mean_h(S2(h) - phi^2) over the grid (level_cut Notes); measured with 600 realizations
    # it grows from about 40 % of that at one voxel to all of it beyond the correlation
    # length. The band is therefore [S2 - variance, S2] widened by N_SIGMA standard errors.
    # Lag 0 is excluded: S2(0) is the fixed fraction, with no sampling error.
    cuts = cut_realizations(shape, model, volume_fraction, seed=99)
    mean, error = mean_and_standard_error([periodic_autocorrelation(c == 1) for c in cuts])
    s2_grid = level_cut_s2(_grid_correlation(shape, model, 1.0), volume_fraction)
    fraction_variance = np.mean(s2_grid - volume_fraction**2)
    for lag in lags(len(shape)):
        expected = level_cut_s2(model.correlation(math.hypot(*lag)), volume_fraction)
        low = expected - fraction_variance - N_SIGMA * error[lag]
        high = expected + N_SIGMA * error[lag]
        assert low <= mean[lag] <= high, (lag, mean[lag], expected, fraction_variance)


@pytest.mark.statistical
def test_no_edge_bias_in_level_cuts():
    # periodic fields are invariant in law under shifts, so every voxel is phase 1 with the
    # probability rint(phi N) / N: so is each boundary slab, within its sampling error
    shape, volume_fraction = (64, 64, 64), 0.35
    cuts = cut_realizations(shape, Exponential(3.0), volume_fraction, seed=11)
    expected = np.rint(volume_fraction * cuts[0].size) / cuts[0].size
    for axis in (1, 2, 3):
        for index in (0, -1):
            slab = np.take(cuts, index, axis=axis)
            mean, error = mean_and_standard_error(slab.reshape(len(slab), -1).mean(axis=1))
            assert abs(mean - expected) <= N_SIGMA * error


@pytest.mark.parametrize("volume_fraction", [0.1, 0.3, 0.5, 0.8])
def test_s2_matches_the_integral_formula(volume_fraction):
    rho = np.concatenate([np.linspace(-1.0, 1.0, 41), [-0.999999, 0.999999, 1e-7]])
    expected = [s2_by_quadrature(r, volume_fraction) for r in rho]
    np.testing.assert_allclose(level_cut_s2(rho, volume_fraction), expected, rtol=0, atol=S2_ATOL)


@pytest.mark.parametrize("volume_fraction", [0.1, 0.5, 0.8])
def test_s2_special_values(volume_fraction):
    # round-off only
    s2 = level_cut_s2([1.0, 0.0, -1.0], volume_fraction)
    expected = [volume_fraction, volume_fraction**2, max(0.0, 2.0 * volume_fraction - 1.0)]
    np.testing.assert_allclose(s2, expected, rtol=0, atol=1e-14)


def test_s2_at_half_is_sheppards_formula():
    # threshold 0: S2 = 1/4 + arcsin(rho) / (2 pi); round-off only
    rho = np.linspace(-1.0, 1.0, 21)
    np.testing.assert_allclose(
        level_cut_s2(rho, 0.5), 0.25 + np.arcsin(rho) / (2.0 * np.pi), rtol=0, atol=1e-14
    )


def test_s2_keeps_the_shape_and_dtype():
    s2 = level_cut_s2(np.full((3, 4), 0.5), 0.3)
    assert s2.shape == (3, 4)
    assert s2.dtype == np.float64


@pytest.mark.parametrize("volume_fractions", [0.0, 1.0, 1.3, -0.1, math.nan])
def test_fraction_outside_the_unit_interval_is_rejected(volume_fractions):
    with pytest.raises(ValueError, match=r"volume_fractions must be in \(0, 1\), got"):
        level_cut(np.zeros(8), volume_fractions)


@pytest.mark.parametrize(
    ("volume_fractions", "error", "message"),
    [
        ([0.2, 0.7], ValueError, "must sum to 1, got sum 0.9"),
        ([1.0], ValueError, "must have 2 to 128 entries, got 1"),
        ([0.5, 0.0, 0.5], ValueError, r"volume_fractions\[1\] must be in \(0, 1\)"),
        ([0.5, "0.5"], TypeError, r"volume_fractions\[1\] must be a real number"),
        ("0.5", TypeError, r"volume_fractions\[0\] must be a real number"),
        (None, TypeError, "volume_fractions must be a float or a sequence"),
        (True, TypeError, "volume_fractions must be a real number"),
    ],
)
def test_bad_fractions_are_rejected(volume_fractions, error, message):
    with pytest.raises(error, match=message):
        level_cut(np.zeros(8), volume_fractions)


@pytest.mark.parametrize(
    ("field", "error", "message"),
    [
        (np.array([0.0, np.nan]), ValueError, "field must not contain NaN"),
        (np.zeros(3, dtype=complex), TypeError, "field must hold real numbers"),
        (np.zeros(3, dtype=bool), TypeError, "field must hold real numbers"),
        (np.zeros(0), ValueError, "field must have at least one value"),
    ],
)
def test_bad_field_is_rejected(field, error, message):
    with pytest.raises(error, match=message):
        level_cut(field, 0.5)


def test_bad_s2_arguments_are_rejected():
    with pytest.raises(ValueError, match=r"correlation must lie in \[-1, 1\]"):
        level_cut_s2([0.5, 1.5], 0.3)
    with pytest.raises(ValueError, match=r"volume_fraction must be in \(0, 1\), got 1.3"):
        level_cut_s2(0.5, 1.3)


# --- fixed-threshold cuts and the indicator's integral range ------------------------------


def test_fixed_threshold_cut_uses_the_normal_quantiles():
    field = np.array([-2.0, -0.5, 0.0, 0.3, 1.0, 2.0])
    # thresholds Phi^-1(0.2) = -0.84 and Phi^-1(0.7) = 0.52; a value at a threshold goes below
    np.testing.assert_array_equal(
        level_cut(field, [0.2, 0.5, 0.3], exact=False), [0, 1, 1, 1, 2, 2]
    )
    assert level_cut(np.array([0.0]), 0.5, exact=False)[0] == 0


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("shape", "model", "volume_fraction"),
    [((128, 128), Exponential(3.0), 0.3), ((32, 32, 32), Matern(2.0, 1.5), 0.6)],
)
def test_fixed_threshold_cut_has_the_exact_s2_and_fraction_variance(shape, model, volume_fraction):
    # at a fixed threshold there is no rank bias: E[S2(h)] is exactly level_cut_s2 on the grid,
    # and the fraction of a realization has mean phi and variance mean_h(S2(h) - phi^2)
    rng = np.random.default_rng(77)
    cuts = np.stack(
        [
            level_cut(gaussian_field(shape, model, rng=rng), volume_fraction, exact=False)
            for _ in range(64)
        ]
    )
    mean, error = mean_and_standard_error([periodic_autocorrelation(c) for c in cuts])
    for lag in lags(len(shape)):
        expected = level_cut_s2(model.correlation(math.hypot(*lag)), volume_fraction)
        assert abs(mean[lag] - expected) <= N_SIGMA * error[lag], (lag, mean[lag], expected)
    fractions = cuts.reshape(len(cuts), -1).mean(axis=1)
    variance = np.mean(
        level_cut_s2(_grid_correlation(shape, model, 1.0), volume_fraction) - volume_fraction**2
    )
    assert abs(fractions.mean() - volume_fraction) <= N_SIGMA * math.sqrt(variance / len(cuts))
    # sample variance of n near-normal values: relative standard error sqrt(2 / (n - 1))
    assert abs(fractions.var(ddof=1) / variance - 1.0) <= N_SIGMA * math.sqrt(2.0 / 63)


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("model", [Exponential(1.5), Gaussian(2.0), Matern(1.0, 2.5)], ids=repr)
def test_indicator_integral_range_at_half_is_the_arcsine_integral(model, ndim):
    # at phi = 1/2, S2 - 1/4 = arcsin(rho) / (2 pi) (Sheppard): an independent quadrature
    radial, _ = integrate.quad(
        lambda r: r ** (ndim - 1) * math.asin(float(model.correlation(r))) / (2.0 * math.pi),
        0.0,
        np.inf,
        epsabs=0.0,
        epsrel=1e-11,
        limit=500,
    )
    area = 2.0 * math.pi ** (ndim / 2) / math.gamma(ndim / 2)
    assert level_cut_integral_range(model, 0.5, ndim) == pytest.approx(
        area * radial / 0.25, rel=1e-7
    )


@pytest.mark.parametrize("volume_fraction", [0.05, 0.3, 0.8])
def test_indicator_integral_range_is_below_the_field_one_and_scales_with_lengths(volume_fraction):
    # S2 - phi^2 <= phi (1 - phi) rho for rho >= 0; per-axis lengths scale it by their product
    model = Exponential(2.0)
    value = level_cut_integral_range(model, volume_fraction, 2)
    assert 0.0 < value < model.integral_range(2)
    stretched = level_cut_integral_range(Exponential((6.0, 2.0)), volume_fraction, 2)
    assert stretched == pytest.approx(3.0 * value, rel=1e-8)  # quadrature accuracy


def test_indicator_integral_range_is_infinite_for_long_range_fields():
    assert level_cut_integral_range(PowerLaw(1.0, 1.5), 0.3, 2) == math.inf
    assert math.isfinite(level_cut_integral_range(PowerLaw(1.0, 4.0), 0.3, 2))


def test_bad_integral_range_arguments_are_rejected():
    with pytest.raises(TypeError, match="covariance must be a CovarianceModel"):
        level_cut_integral_range("exponential", 0.3, 2)
    with pytest.raises(ValueError, match=r"volume_fraction must be in \(0, 1\)"):
        level_cut_integral_range(Exponential(1.0), 1.0, 2)
    with pytest.raises(ValueError, match="ndim must be >= 1"):
        level_cut_integral_range(Exponential(1.0), 0.3, 0)
    with pytest.raises(TypeError, match="exact must be a bool"):
        level_cut(np.zeros(4), 0.5, exact="no")
