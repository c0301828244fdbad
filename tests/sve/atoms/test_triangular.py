"""Cauchy–Born triangular lattice: Cauchy relations, tangent, dispersion, stability."""

from __future__ import annotations

import numpy as np
import pytest

from sve.atoms import (
    LennardJones,
    Morse,
    triangular_bonds,
    triangular_dispersion,
    triangular_elastic_constants,
    triangular_energy_density,
    triangular_spacing,
    triangular_stability,
    triangular_stress,
    triangular_tangent,
)
from sve.atoms.triangular import brillouin_zone_grid


def test_shells_have_six_bonds_each_at_the_right_lengths():
    lengths = np.hypot(*triangular_bonds(4).T)
    assert np.allclose(np.unique(lengths.round(12)), [1.0, np.sqrt(3), 2.0, np.sqrt(7)])
    assert len(lengths) == 6 + 6 + 6 + 12  # the 4th shell (sqrt 7) has 12 members


@pytest.mark.parametrize("potential", [LennardJones(), Morse(alpha=4.0)])
@pytest.mark.parametrize("shells", [1, 2, 3])
def test_cauchy_relation_and_isotropy_at_the_stress_free_spacing(potential, shells):
    # pair potentials at zero stress: C12 = C66 exactly, C11 = 3 C12 (isotropy);
    # round-off only (sums of ~20 terms): 1e-12 relative
    c = triangular_elastic_constants(potential, shells=shells)
    assert c["C12"] == pytest.approx(c["C66"], rel=1e-12)
    assert c["C11"] == pytest.approx(3 * c["C12"], rel=1e-12)
    assert c["C22"] == pytest.approx(c["C11"], rel=1e-12)
    assert np.allclose(triangular_stress(potential, np.eye(2), shells=shells), 0, atol=1e-12)


def test_nearest_neighbour_constants_in_closed_form():
    # C11 = (1/(2 Omega0)) sum phi'' R_x^4 / r^2 = (9/8)(2/sqrt 3) phi''(a0) for 6 bonds
    lj = LennardJones()
    c = triangular_elastic_constants(lj)
    expected = 9 / 8 * 2 / np.sqrt(3) * lj.d2phi(2 ** (1 / 6))
    assert c["C11"] == pytest.approx(expected, rel=1e-13)


def test_spacing_pulls_in_with_more_shells():
    a1, a2, a3 = (triangular_spacing("lj", shells=s) for s in (1, 2, 3))
    assert a1 == 2 ** (1 / 6) and a3 < a2 < a1


@pytest.mark.parametrize("shells", [1, 2])
def test_stress_and_tangent_are_derivatives_of_the_energy(shells):
    # central differences, h = 1e-5: O(h^2) ~ 1e-10 truncation, eps W / h ~ 1e-10 round-off
    F = np.array([[1.03, 0.02], [-0.01, 0.98]])
    P = triangular_stress("lj", F, shells=shells)
    A = triangular_tangent("lj", F, shells=shells)
    h = 1e-5
    for i in range(2):
        for j in range(2):
            E = np.zeros((2, 2))
            E[i, j] = h
            W = triangular_energy_density("lj", np.stack([F + E, F - E]), shells=shells)
            assert (W[0] - W[1]) / (2 * h) == pytest.approx(P[i, j], abs=1e-7 * np.abs(A).max())
            Pp = triangular_stress("lj", np.stack([F + E, F - E]), shells=shells)
            assert np.allclose(
                (Pp[0] - Pp[1]) / (2 * h), A[:, :, i, j], atol=1e-7 * np.abs(A).max()
            )


def test_long_waves_follow_the_acoustic_tensor():
    # D(eps N) / eps^2 -> (Omega0 / m) Q(N); relative error O((eps a0)^2) ~ 1e-10 at eps 1e-5
    F = np.array([[1.05, 0.0], [0.0, 1.02]])
    a0 = triangular_spacing("lj")
    A = triangular_tangent("lj", F)
    area = np.sqrt(3) / 2 * a0**2
    for angle in (0.0, 0.4, 1.3):
        N = np.array([np.cos(angle), np.sin(angle)])
        eps = 1e-5
        w2 = triangular_dispersion("lj", F, [eps * N])[0] / eps**2
        Q = np.einsum("iJkL,J,L->ik", A, N, N) * area
        assert np.allclose(w2, np.linalg.eigvalsh(Q), rtol=1e-6)


def test_dispersion_is_periodic_over_the_reciprocal_lattice():
    a0 = triangular_spacing("lj")
    k = brillouin_zone_grid(a0, 6)
    b1 = brillouin_zone_grid(a0, 1 + 0)  # empty (Gamma excluded)
    assert b1.shape == (0, 2)
    a = a0 * np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    b = 2 * np.pi * np.linalg.inv(a).T
    F = np.diag([1.04, 1.01])
    assert np.allclose(
        triangular_dispersion("lj", F, k), triangular_dispersion("lj", F, k + b[0] - b[1])
    )


def test_stability_limit_is_where_a_mode_goes_soft():
    limit = triangular_stability("lj", points=16)
    below = np.diag([limit.acoustic_stretch * (1 - 1e-5)] * 2)
    above = np.diag([limit.acoustic_stretch * (1 + 1e-3)] * 2)
    A_below = triangular_tangent("lj", below)
    A_above = triangular_tangent("lj", above)
    N = np.stack([np.cos(t := np.linspace(0, np.pi, 90)), np.sin(t)], axis=1)
    q_below = np.linalg.eigvalsh(np.einsum("iJkL,nJ,nL->nik", A_below, N, N))[:, 0].min()
    q_above = np.linalg.eigvalsh(np.einsum("iJkL,nJ,nL->nik", A_above, N, N))[:, 0].min()
    assert q_below > 0 > q_above
    # equibiaxial stretch of a LJ lattice: bulk softening at the chain's (13/7)^(1/6) is
    # delayed by the bond tension (phi'/r > 0): lambda_c lies above it
    assert (13 / 7) ** (1 / 6) < limit.stretch < 1.2
    assert triangular_stability("lj", loading="uniaxial", points=16).stretch > limit.stretch


@pytest.mark.parametrize(
    ("call", "kind", "words"),
    [
        (lambda: triangular_stress("lj", np.eye(3)), ValueError, "F"),
        (lambda: triangular_stress("lj", np.diag([-1.0, 1.0])), ValueError, "F"),
        (lambda: triangular_stress("lj", np.full((2, 2), np.nan)), ValueError, "F"),
        (lambda: triangular_tangent("lj", np.eye(2), shells=0), ValueError, "shells"),
        (lambda: triangular_stability("lj", loading="shear"), ValueError, "loading"),
        (lambda: triangular_dispersion("lj", np.eye(2), [1.0, 2.0]), ValueError, "k"),
        (lambda: triangular_elastic_constants("nope"), ValueError, "potential"),
    ],
)
def test_bad_inputs_name_the_argument(call, kind, words):
    with pytest.raises(kind, match=words):
        call()
