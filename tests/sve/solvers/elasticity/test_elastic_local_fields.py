"""Local strain and stress fields of the elastic solver (``fields=``): Hill-Mandel on the
fields, per-phase moments, the sensitivity of the apparent energy to a shear modulus,
homogeneous media and no effect on the solve when off.
"""

from __future__ import annotations

import numpy as np
import pytest

from sve.solvers import apparent_stiffness
from sve.solvers.moduli import isotropic
from tests.sve.solvers._media import random_labels

BCS = ("periodic", "kinematic", "static", "mixed")
MATERIALS = [{"lam": 1.0, "mu": 0.5}, {"lam": 5.0, "mu": 8.0}]
# tol=1e-12 on a few hundred unknowns: the Hill-Mandel gap of a CG iterate is of the
# order of the residual times the contrast (measured below 1e-12 relative).
HILL_MANDEL = 1e-9


def totals(moments):
    """Volume averages of the strain, the stress and the energy per load case."""
    phi = moments.volume_fraction
    strain = np.einsum("p,lpi->li", phi, moments.mean_strain)
    stress = np.einsum("p,lpi->li", phi, moments.mean_stress)
    return strain, stress, moments.energy @ phi


@pytest.mark.parametrize("bc", BCS)
def test_hill_mandel_and_phase_weights(bc):
    phases = random_labels((8, 10), 2, seed=1)
    result = apparent_stiffness(phases, MATERIALS, bc=bc, tol=1e-12, fields="full")
    moments, fields = result.phase_moments, result.fields
    strain, stress, energy = totals(moments)
    if bc == "mixed":  # <sigma . eps> = E . <sigma>, the averages off the load need not vanish
        np.testing.assert_allclose(
            energy, np.einsum("li,li->l", moments.loads, stress), rtol=HILL_MANDEL
        )
        np.testing.assert_allclose(energy, np.diag(result.tensor), rtol=HILL_MANDEL)
    else:
        np.testing.assert_allclose(energy, np.einsum("li,li->l", strain, stress), rtol=HILL_MANDEL)
    if bc == "static":
        np.testing.assert_allclose(stress, moments.loads, atol=1e-10)
        np.testing.assert_allclose(strain.T, result.compliance, rtol=1e-9, atol=1e-12)
    elif bc != "mixed":
        np.testing.assert_allclose(strain, moments.loads, atol=1e-12)
        np.testing.assert_allclose(stress.T, result.tensor, rtol=1e-12, atol=1e-12)
    # per phase, then over voxels: the same sums in another order (round-off)
    np.testing.assert_allclose(fields.strain.mean(axis=(1, 2)), strain, atol=1e-13)
    np.testing.assert_allclose(fields.stress.mean(axis=(1, 2)), stress, atol=1e-12)
    for p, label in enumerate(moments.labels):
        mask = phases == label
        np.testing.assert_allclose(
            fields.stress[:, mask].mean(axis=1), moments.mean_stress[:, p], atol=1e-12
        )
    m = 3
    assert fields.strain.shape == (m, 8, 10, m)
    nodes = (8, 10) if bc == "periodic" else (9, 11)
    assert fields.corrector.shape == (m,) + nodes + (2,)


@pytest.mark.parametrize("bc", BCS)
def test_phase_strain_moment_is_the_derivative_in_the_shear_modulus(bc):
    """2 phi_a trace<eps (x) eps>_a = d(E . C E) / d mu_a (dC / d mu = 2 I in Mandel)."""
    phases = random_labels((8, 10), 2, seed=1)
    moments = apparent_stiffness(
        phases, MATERIALS, bc=bc, tol=1e-12, fields="summary"
    ).phase_moments
    sensitivity = 2.0 * np.einsum("lpii->lp", moments.strain_moment) * moments.volume_fraction
    for a in range(2):
        step = 1e-4 * MATERIALS[a]["mu"]
        up = [dict(x) for x in MATERIALS]
        down = [dict(x) for x in MATERIALS]
        up[a]["mu"] += step
        down[a]["mu"] -= step
        high = apparent_stiffness(phases, up, bc=bc, tol=1e-12).tensor
        low = apparent_stiffness(phases, down, bc=bc, tol=1e-12).tensor
        if bc == "static":  # minus the derivative of the complementary energy
            slope = -(np.diag(np.linalg.inv(high)) - np.diag(np.linalg.inv(low))) / (2 * step)
        else:
            slope = (np.diag(high) - np.diag(low)) / (2 * step)
        # truncation (1e-4)**2 times the curvature, solves at 1e-12: measured <= 7e-9
        np.testing.assert_allclose(sensitivity[:, a], slope, rtol=1e-7)


@pytest.mark.parametrize("bc", BCS)
def test_homogeneous_medium_has_uniform_exact_fields(bc):
    stiffness = isotropic(3, lam=2.0, mu=1.0)
    result = apparent_stiffness(
        np.zeros((3, 4, 5), int), [stiffness], bc=bc, spacing=(1.0, 0.5, 2.0), tol=1e-12,
        fields="full",
    )  # fmt: skip
    fields = result.fields
    loads = fields.loads[:, None, None, None, :]
    shape = fields.strain.shape
    if bc == "static":  # stress Sigma, strain C^-1 Sigma, to the solver tolerance
        np.testing.assert_allclose(fields.stress, np.broadcast_to(loads, shape), atol=1e-9)
        expected = np.linalg.solve(stiffness, fields.loads.T).T[:, None, None, None, :]
        np.testing.assert_allclose(fields.strain, np.broadcast_to(expected, shape), atol=1e-9)
    else:
        np.testing.assert_allclose(fields.strain, np.broadcast_to(loads, shape), atol=1e-14)
        expected = (stiffness @ fields.loads.T).T[:, None, None, None, :]
        np.testing.assert_allclose(fields.stress, np.broadcast_to(expected, shape), atol=1e-13)
        np.testing.assert_allclose(fields.corrector, 0.0, atol=1e-14)


@pytest.mark.parametrize("bc", BCS)
def test_fields_do_not_change_the_solve(bc):
    phases = random_labels((6, 8), 2, seed=3)
    plain = apparent_stiffness(phases, MATERIALS, bc=bc)
    for fields in ("full", False):
        other = apparent_stiffness(phases, MATERIALS, bc=bc, fields=fields)
        np.testing.assert_array_equal(other.tensor, plain.tensor)
        np.testing.assert_array_equal(other.compliance, plain.compliance)
        assert other.iterations == plain.iterations
    assert plain.fields is None and plain.phase_moments is None


def test_voids_give_zero_stress_and_undetermined_strain():
    phases = random_labels((8, 8), 3, seed=5)
    stack = [np.zeros((3, 3)), isotropic(2, lam=1.0, mu=1.0), isotropic(2, lam=2.0, mu=3.0)]
    result = apparent_stiffness(phases, stack, tol=1e-12, fields="full")
    void = phases == 0
    assert np.all(result.fields.stress[:, void] == 0.0)
    assert np.all(np.isnan(result.fields.strain[:, void]))
    moments = result.phase_moments
    assert np.all(np.isfinite(moments.mean_strain[:, 1:]))
    np.testing.assert_allclose(
        moments.energy @ moments.volume_fraction, np.diag(result.tensor), rtol=1e-9
    )


def test_fields_argument_is_checked():
    with pytest.raises(ValueError, match="fields"):
        apparent_stiffness(np.zeros((4, 4), int), [{"lam": 1.0, "mu": 1.0}], fields="all")


def test_elastic_first_order_correction_is_a_displacement_per_point():
    phases = random_labels((6, 6), 2, seed=9)
    fields = apparent_stiffness(phases, MATERIALS, tol=1e-10, fields=True).fields
    points = np.array([[0.0, 0.0], [2.0, 3.0], [0.25, 5.5]])
    strain = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.3, -0.2, 0.1]])
    correction = fields.first_order_correction(points, strain, epsilon=1.0)
    assert correction.shape == (3, 2)
    at = fields.corrector_at(points)  # (m, n, d)
    np.testing.assert_allclose(correction[0], fields.corrector[0, 0, 0], atol=1e-15)
    np.testing.assert_allclose(correction[1], fields.corrector[2, 2, 3], atol=1e-15)
    np.testing.assert_allclose(correction[2], np.einsum("k,kc->c", strain[2], at[:, 2]))
