"""Tests of sve.solvers.bounds, and of the solver against bounds and classical exact results."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import sve.solvers.bounds
from sve.solvers import (
    apparent_conductivity,
    cubic_polycrystal_shear_bounds,
    hashin_shtrikman_bounds,
    hashin_shtrikman_shear_bounds,
    maxwell_garnett,
    reuss_bound,
    voigt_bound,
)
from tests.sve.solvers._media import smooth_two_phase

# Closed forms are evaluated in double precision along different paths.
ROUND_OFF = 1e-12


def test_docstring_examples():
    assert doctest.testmod(sve.solvers.bounds, raise_on_error=False).failed == 0


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize(("f1", "k1", "k2"), [(0.3, 1.0, 10.0), (0.8, 4.0, 0.5), (0.5, 2.0, 2.0)])
def test_two_phase_hashin_shtrikman_closed_form(ndim, f1, k1, k2):
    f2 = 1.0 - f1
    lower, upper = hashin_shtrikman_bounds([f1, f2], [k1, k2], ndim)
    low, high = sorted([(k1, f1), (k2, f2)])

    # The textbook two-phase form: k_ref + f_other / (1 / (k_other - k_ref) + f_ref / (d k_ref)).
    def bound(reference, other):
        (k_ref, f_ref), (k_o, f_o) = reference, other
        if k_o == k_ref:
            return k_ref
        return k_ref + f_o / (1.0 / (k_o - k_ref) + f_ref / (ndim * k_ref))

    np.testing.assert_allclose(lower, bound(low, high), rtol=ROUND_OFF)
    np.testing.assert_allclose(upper, bound(high, low), rtol=ROUND_OFF)


@pytest.mark.parametrize("seed", range(5))
def test_bounds_are_ordered_and_collapse_in_one_dimension(seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(2, 6)
    fractions = rng.dirichlet(np.ones(n))
    values = rng.lognormal(sigma=2.0, size=n)
    voigt, reuss = voigt_bound(fractions, values), reuss_bound(fractions, values)
    previous = (reuss, reuss)
    for ndim in (1, 2, 3, 5):
        lower, upper = hashin_shtrikman_bounds(fractions, values, ndim)
        # Each bound only tightens the Wiener bounds; larger d moves both towards Voigt.
        assert reuss - ROUND_OFF <= lower <= upper <= voigt + ROUND_OFF * voigt
        assert lower >= previous[0] - ROUND_OFF and upper >= previous[1] - ROUND_OFF
        previous = (lower, upper)
    # d = 1: laminates in series are the only isotropic microstructure.
    np.testing.assert_allclose(hashin_shtrikman_bounds(fractions, values, 1), reuss, rtol=1e-12)


def test_voids_and_single_phase():
    assert reuss_bound([0.2, 0.8], [0.0, 3.0]) == 0.0
    assert hashin_shtrikman_bounds([0.2, 0.8], [0.0, 3.0], 2)[0] == 0.0
    # Porous upper bound (d = 3): 2 k f / (3 - f) for solid fraction f.
    np.testing.assert_allclose(
        hashin_shtrikman_bounds([0.2, 0.8], [0.0, 3.0], 3)[1], 2 * 3.0 * 0.8 / (3 - 0.8)
    )
    assert hashin_shtrikman_bounds([1.0, 0.0], [2.0, 0.0], 3) == (2.0, 2.0)


@pytest.mark.parametrize("ndim", [2, 3])
def test_maxwell_garnett_is_the_bound_with_the_matrix_as_reference(ndim):
    for inclusion in (0.0, 0.1, 7.0):
        bound = hashin_shtrikman_bounds([0.9, 0.1], [1.0, inclusion], ndim)
        expected = bound[1] if inclusion < 1.0 else bound[0]
        np.testing.assert_allclose(
            maxwell_garnett(1.0, inclusion, 0.1, ndim), expected, rtol=ROUND_OFF
        )


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: voigt_bound([0.5, 0.6], [1.0, 2.0]), "^volume_fractions must sum to 1"),
        (lambda: voigt_bound([0.5, 0.5], [1.0]), "^conductivities must have one value"),
        (lambda: voigt_bound([[1.0]], [1.0]), "^volume_fractions must be a non-empty 1-D"),
        (lambda: reuss_bound([1.5, -0.5], [1.0, 2.0]), "^volume_fractions must be finite"),
        (lambda: reuss_bound([0.5, 0.5], [1.0, np.nan]), "^conductivities must be finite"),
        (lambda: reuss_bound([0.5, 0.5], [1.0, -1.0]), "^conductivities must be finite"),
        (lambda: hashin_shtrikman_bounds([1.0], [1.0], 0), "^ndim must be an integer >= 1"),
        (lambda: maxwell_garnett(0.0, 1.0, 0.1, 2), "^matrix must be finite and > 0"),
        (lambda: maxwell_garnett(1.0, 1.0, 1.0, 2), r"^volume_fraction must be in \[0, 1\)"),
        (lambda: maxwell_garnett(1.0, -1.0, 0.1, 2), "^inclusion must be finite"),
    ],
)
def test_invalid_input_is_rejected_naming_the_argument(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.statistical
@pytest.mark.parametrize(("shape", "contrast"), [((96, 96), 10.0), ((32, 32, 32), 10.0)])
def test_isotropic_random_media_lie_inside_hashin_shtrikman(shape, contrast):
    rng = np.random.default_rng(2024)
    values = np.array([1.0, contrast])
    means = []
    for _ in range(3):
        phases = smooth_two_phase(shape, rng, length=2.0)
        result = apparent_conductivity(phases, values, tol=1e-6)
        fraction = phases.mean()
        lower, upper = hashin_shtrikman_bounds([1 - fraction, fraction], values, len(shape))
        means.append((np.trace(result.tensor) / len(shape) - lower) / (upper - lower))
    # The bounds hold for the isotropic effective tensor; the apparent trace scatters by a few
    # percent of the HS gap at these sizes (~25 correlation lengths), far from both ends.
    assert 0.0 < min(means) and max(means) < 1.0


def checkerboard(size):
    """A 2 x 2 checkerboard period of `size` x `size` voxel blocks, labels 0/1."""
    return ((np.indices((2 * size, 2 * size)) // size).sum(axis=0) % 2).astype(np.int8)


def test_dykhne_checkerboard_converges_to_the_geometric_mean():
    values = [1.0, 10.0]
    exact = np.sqrt(10.0)
    sizes = np.array([4, 8, 16, 32])
    errors = {}
    for discretization in ("q1", "fv"):
        errors[discretization] = np.array(
            [
                apparent_conductivity(
                    checkerboard(m), values, tol=1e-10, discretization=discretization
                ).tensor[0, 0]
                - exact
                for m in sizes
            ]
        )
    # Q1 joins the good conductors through the shared corner node (too stiff), finite volumes
    # cut them apart (too soft): they bracket sqrt(k1 k2) at every resolution.
    assert np.all(errors["q1"] > 0) and np.all(errors["fv"] < 0)
    for error in errors.values():
        # The corner singularity limits the rate; measured ~0.7-0.8 for contrast 10, so a
        # slope below -0.5 on the log-log plot shows convergence, not a coincidence.
        slope = np.polyfit(np.log(sizes), np.log(np.abs(error)), 1)[0]
        assert slope < -0.5 and np.all(np.diff(np.abs(error)) < 0)


def test_dilute_disk_approaches_maxwell_garnett_under_refinement():
    sizes = np.array([32, 64, 128])
    gaps = []
    for size in sizes:
        x = np.arange(size) + 0.5 - size / 2
        disk = (x[:, None] ** 2 + x[None, :] ** 2 < (size / 8) ** 2).astype(np.int8)
        tensor = apparent_conductivity(disk, [1.0, 10.0], tol=1e-10).tensor
        # Maxwell-Garnett with the voxel fraction: exact up to O(f**4) ~ 1e-6 for this square
        # array at f ~ 0.05 (Rayleigh); what remains is the staircase of the voxel disk.
        gaps.append(abs(tensor[0, 0] - maxwell_garnett(1.0, 10.0, disk.mean(), 2)))
    slope = np.polyfit(np.log(sizes), np.log(gaps), 1)[0]
    # A first-order interface error (measured slope ~ -0.9): the band shrinks with refinement.
    assert slope < -0.6 and gaps[-1] < 2e-3


# --- elastic shear bounds -------------------------------------------------------------------


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize(
    ("f1", "k1", "g1", "k2", "g2"), [(0.3, 1.0, 0.4, 5.0, 3.0), (0.7, 2.0, 1.0, 9.0, 2.5)]
)
def test_two_phase_shear_bounds_match_hashin_shtrikman_closed_form(ndim, f1, k1, g1, k2, g2):
    """Well-ordered phases (K1 < K2, G1 < G2): Hashin & Shtrikman (1963) in 3-D, the
    2-D form (Torquato 2002, ch. 21) with the plane-strain bulk modulus K = lam + mu."""
    f2 = 1 - f1
    if ndim == 3:
        lower = g1 + f2 / (1 / (g2 - g1) + 6 * f1 * (k1 + 2 * g1) / (5 * g1 * (3 * k1 + 4 * g1)))
        upper = g2 + f1 / (1 / (g1 - g2) + 6 * f2 * (k2 + 2 * g2) / (5 * g2 * (3 * k2 + 4 * g2)))
    else:
        lower = g1 + f2 / (1 / (g2 - g1) + f1 * (k1 + 2 * g1) / (2 * g1 * (k1 + g1)))
        upper = g2 + f1 / (1 / (g1 - g2) + f2 * (k2 + 2 * g2) / (2 * g2 * (k2 + g2)))
    bounds = hashin_shtrikman_shear_bounds([f1, f2], [k1, k2], [g1, g2], ndim)
    np.testing.assert_allclose(bounds, (lower, upper), rtol=1e-12)


def test_shear_bounds_collapse_for_equal_shear_and_order_between_voigt_and_reuss():
    lower, upper = hashin_shtrikman_shear_bounds([0.4, 0.6], [1.0, 7.0], [2.0, 2.0], 3)
    assert lower == pytest.approx(2.0, rel=1e-14) and upper == pytest.approx(2.0, rel=1e-14)
    fractions, shear = np.array([0.4, 0.6]), np.array([0.5, 4.0])
    lower, upper = hashin_shtrikman_shear_bounds(fractions, [1.0, 6.0], shear, 3)
    assert 1 / np.sum(fractions / shear) < lower < upper < np.sum(fractions * shear)


def test_cubic_polycrystal_shear_bounds_match_the_explicit_formulas():
    """Hashin & Shtrikman (1962), polycrystal of cubic crystals with c44 > (c11 - c12)/2."""
    c11, c12, c44 = 168.4, 121.4, 75.4  # copper, GPa
    bulk, g1, g2 = (c11 + 2 * c12) / 3, (c11 - c12) / 2, c44
    beta1 = -3 * (bulk + 2 * g1) / (5 * g1 * (3 * bulk + 4 * g1))
    beta2 = -3 * (bulk + 2 * g2) / (5 * g2 * (3 * bulk + 4 * g2))
    lower = g1 + 3 / (5 / (g2 - g1) - 4 * beta1)
    upper = g2 + 2 / (5 / (g1 - g2) - 6 * beta2)
    bounds = cubic_polycrystal_shear_bounds(c11, c12, c44)
    np.testing.assert_allclose(bounds, (lower, upper), rtol=1e-12)
    with pytest.raises(ValueError, match="c11 > |c12|"):
        cubic_polycrystal_shear_bounds(1.0, 2.0, 1.0)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: hashin_shtrikman_shear_bounds([0.5, 0.5], [1.0, 2.0], [1.0, 0.0], 3), "shear"),
        (lambda: hashin_shtrikman_shear_bounds([0.5, 0.5], [1.0], [1.0, 2.0], 3), "bulk"),
        (lambda: hashin_shtrikman_shear_bounds([0.5, 0.5], [1.0, 2.0], [1.0, 2.0], 4), "ndim"),
    ],
)
def test_shear_bounds_reject_bad_input_naming_the_argument(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
