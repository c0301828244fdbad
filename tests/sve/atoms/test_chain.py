"""Cauchy–Born chain: spacing, moduli and phonon stability against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from sve.atoms import (
    Harmonic,
    LennardJones,
    Morse,
    PairPotential,
    chain_dispersion,
    chain_energy_density,
    chain_modulus,
    chain_spacing,
    chain_stability,
    chain_stress,
    get_potential,
    resolve_neighbours,
)

LAMBDA_C = (13.0 / 7.0) ** (1.0 / 6.0)


@pytest.mark.parametrize(
    "lj", [LennardJones(), LennardJones(epsilon=2.5, sigma=3.4)], ids=["reduced", "argon-like"]
)
def test_nearest_neighbour_lj_critical_stretch_is_13_over_7_to_the_sixth(lj):
    # phi'' = 0 at r^6 = 26/7 sigma^6, a0^6 = 2 sigma^6, whatever epsilon and sigma;
    # Brent's xtol 1e-14 on lambda.
    limit = chain_stability(lj)
    assert abs(limit.stretch - LAMBDA_C) < 1e-10
    assert limit.mode == "all" and np.isnan(limit.wavenumber)
    # every mode softens at once: omega^2(q) vanishes for every q at lambda_c (relative
    # to the zone-boundary value 4 phi''(a0) at rest; round-off and xtol ~ 1e-12)
    _, w2 = chain_dispersion(lj, limit.stretch)
    assert np.max(np.abs(w2)) < 1e-9 * 4 * lj.d2phi(lj.r_min)


@pytest.mark.parametrize("sigma", [1.0, 3.4])
def test_lj_spacing_nearest_and_full_chain(sigma):
    lj = LennardJones(sigma=sigma)
    assert chain_spacing(lj) == pytest.approx(2 ** (1 / 6) * sigma, rel=1e-15)
    # full chain: a0^6 = 2 zeta(12)/zeta(6) sigma^6; 2000 neighbours leave a tail of
    # zeta(6) below 2000^-5 / 5 ~ 6e-18 relative, far below the 1e-14 tolerance.
    exact = (2 * special.zeta(12) / special.zeta(6)) ** (1 / 6) * sigma
    assert chain_spacing(lj, n_neighbours=2000) == pytest.approx(exact, rel=1e-14)
    assert 1.119 < exact / sigma < 1.12


def test_second_neighbours_long_wave_goes_first_where_phi1_plus_4_phi2_vanishes():
    lj = LennardJones()
    limit = chain_stability(lj, n_neighbours=2)
    assert limit.mode == "long-wave" and limit.wavenumber == 0.0
    r = limit.stretch * limit.spacing
    curvature = lj.d2phi(r) + 4 * lj.d2phi(2 * r)
    assert abs(curvature) < 1e-11 * lj.d2phi(limit.spacing)
    assert lj.d2phi(2 * r) < 0  # the reason the long wave goes first
    # LJ sums are power laws: W'' vanishes at lambda^6 = 13/7 for any neighbour set
    assert limit.stretch == pytest.approx(LAMBDA_C, abs=1e-12)
    # just below: all modes stable; just above: the long waves unstable, the zone boundary not
    q, w2 = chain_dispersion(lj, limit.stretch * (1 - 1e-6), n_neighbours=2)
    assert np.all(w2[1:] > 0)
    q, w2 = chain_dispersion(lj, limit.stretch * (1 + 1e-4), n_neighbours=2)
    assert w2[1] < 0 < w2[-1]


def test_morse_critical_stretch_and_a_zone_boundary_mode():
    # Morse phi'' = 0 at r0 + ln 2 / alpha
    m = Morse(depth=1.0, alpha=6.0, r0=1.0)
    assert chain_stability(m).stretch == pytest.approx(1 + np.log(2) / 6, abs=1e-12)
    # a second-neighbour spring with phi2'' > 0 (harmonic) moves the first soft mode to q = pi
    spring = PairPotential(
        phi=lambda r: m.phi(r) + np.where(r > 1.5, 0.5 * 0.5 * (r - 2.0) ** 2, 0.0),
        dphi=lambda r: m.dphi(r) + np.where(r > 1.5, 0.5 * (r - 2.0), 0.0),
        d2phi=lambda r: m.d2phi(r) + np.where(r > 1.5, 0.5, 0.0),
        r_min=1.0,
    )
    limit = chain_stability(spring, n_neighbours=2)
    assert limit.mode == "zone-boundary" and limit.wavenumber == np.pi
    assert spring.d2phi(limit.stretch * limit.spacing) == pytest.approx(0.0, abs=1e-10)
    assert limit.acoustic_stretch > limit.stretch


def test_harmonic_never_softens():
    limit = chain_stability(Harmonic())
    assert limit.stretch == np.inf and limit.mode == "none"


@pytest.mark.parametrize("potential", ["lj", "morse"])
@pytest.mark.parametrize("n_neighbours", [1, 2, 4])
def test_moduli_are_analytic_and_finite_differences_of_the_energy(potential, n_neighbours):
    pot = get_potential(potential)
    a0 = chain_spacing(pot, n_neighbours=n_neighbours)
    stretch = np.array([0.97, 1.0, 1.04, 1.1])
    n = np.arange(1, n_neighbours + 1)
    analytic = (n**2 * a0 * pot.d2phi(np.multiply.outer(stretch, n) * a0)).sum(axis=1)
    modulus = chain_modulus(pot, stretch, n_neighbours=n_neighbours)
    assert np.allclose(modulus, analytic, rtol=1e-14)
    if n_neighbours == 1:  # the W'' = a0 phi''(lambda a0)
        assert np.allclose(modulus, a0 * pot.d2phi(stretch * a0), rtol=1e-14)
    # central differences, step h = 1e-4: O(h^2 W'''') error ~ 1e-8 relative; 1e-6 leaves
    # room for round-off (eps W / h^2 ~ 1e-8 relative)
    h = 1e-4
    W = lambda s: chain_energy_density(pot, s, n_neighbours=n_neighbours)  # noqa: E731
    P = chain_stress(pot, stretch, n_neighbours=n_neighbours)
    scale = np.max(np.abs(modulus))
    assert np.allclose((W(stretch + h) - W(stretch - h)) / (2 * h), P, atol=1e-6 * scale)
    second = (W(stretch + h) - 2 * W(stretch) + W(stretch - h)) / h**2
    assert np.allclose(second, modulus, atol=1e-5 * scale)  # h^2 and eps/h^2 ~ 1e-8, 1e-8
    assert abs(chain_stress(pot, 1.0, n_neighbours=n_neighbours)) < 1e-12 * scale


def test_long_waves_follow_the_cauchy_born_modulus():
    # m omega^2 ~ q^2 W''/a0 as q -> 0; relative error q^2 (n^2 - 1)/12 ~ 4e-8 at q = 1e-4
    q = np.array([1e-4])
    for stretch in (1.0, 1.05, 1.12):
        _, w2 = chain_dispersion("lj", stretch, q, n_neighbours=3)
        a0 = chain_spacing("lj", n_neighbours=3)
        expected = q**2 * chain_modulus("lj", stretch, n_neighbours=3) / a0
        assert w2[0] == pytest.approx(expected[0], rel=1e-6)


@pytest.mark.parametrize(
    ("call", "kind", "words"),
    [
        (lambda: chain_modulus("lj", -1.0), ValueError, "stretch"),
        (lambda: chain_stress("lj", [1.0, np.nan]), ValueError, "stretch"),
        (lambda: chain_modulus("lj", "big"), TypeError, "stretch"),
        (lambda: chain_stability("lennard"), ValueError, "potential"),
        (lambda: chain_spacing(object()), TypeError, "potential"),
        (lambda: chain_stability("lj", n_neighbours=0), ValueError, "n_neighbours"),
        (lambda: chain_stability("lj", n_neighbours=1.5), TypeError, "n_neighbours"),
        (lambda: chain_dispersion("lj", 1.0, mass=0.0), ValueError, "mass"),
        (lambda: chain_dispersion("lj", 1.0, [np.inf]), ValueError, "q"),
        (lambda: LennardJones(sigma=-1.0), ValueError, "sigma"),
        (lambda: LennardJones(epsilon=np.nan), ValueError, "epsilon"),
        (lambda: Morse(cutoff=0.0), ValueError, "cutoff"),
        (lambda: PairPotential(1.0, abs, abs, 1.0), TypeError, "phi"),
        (lambda: LennardJones().phi(-1.0), ValueError, "r"),
        (lambda: chain_stability("lj", stretch_max=1.0), ValueError, "stretch_max"),
    ],
)
def test_bad_inputs_name_the_argument(call, kind, words):
    with pytest.raises(kind, match=words):
        call()


def test_user_potential_matches_the_builtin_and_checks_its_derivatives():
    lj = LennardJones()
    mine = PairPotential(lj.phi, lj.dphi, lj.d2phi, r_min=1.1)
    assert chain_stability(mine).stretch == pytest.approx(LAMBDA_C, abs=1e-12)
    mine.check_derivatives(np.linspace(1.0, 2.0, 11))
    wrong = PairPotential(lj.phi, lj.dphi, lambda r: 2 * lj.d2phi(r), r_min=1.1)
    with pytest.raises(ValueError, match="d2phi"):
        wrong.check_derivatives(np.linspace(1.0, 2.0, 11))


def test_cutoff_switches_farther_neighbours_off():
    # a cutoff between the first and second neighbours makes 2 neighbours act as 1
    cut = LennardJones(cutoff=1.5)
    assert chain_spacing(cut, n_neighbours=3) == pytest.approx(2 ** (1 / 6), rel=1e-15)
    assert chain_stability(cut, n_neighbours=3).mode == "all"


def test_none_takes_every_neighbour_within_the_cutoff():
    # a0(1) = 1.12246, a0(2) = 1.11961, a0(3) = 1.11936: a cutoff of 3.36 holds 2 neighbours
    # at a0(1) (2.993) but 3 at a0(2) (3.001), and still 3 at a0(3)
    lj = LennardJones(cutoff=3.36)
    assert resolve_neighbours(lj, None) == 3
    assert chain_spacing(lj, n_neighbours=None) == chain_spacing(lj, n_neighbours=3)
    assert chain_stability(lj, n_neighbours=None).n_neighbours == 3
    assert resolve_neighbours(LennardJones(cutoff=1.5), None) == 1
    with pytest.raises(ValueError, match="n_neighbours=None"):
        resolve_neighbours(LennardJones(), None)
