"""Relaxed finite chains against Cauchy–Born, and the broken chain's crossing stretch."""

from __future__ import annotations

import numpy as np
import pytest

from sve.atoms import (
    LennardJones,
    Morse,
    broken_chain_stretch,
    chain_energy_density,
    chain_modulus,
    chain_stability,
    stretch_chain,
)

STRETCHES = np.round(np.arange(1.0, 1.14 + 1e-9, 0.002), 6)  # steps of 0.002


def _check_against_cauchy_born(ds):
    critical = ds.attrs["critical_stretch"]
    stretch = ds["stretch"].values
    below = stretch < critical
    assert ds["stable"].all()
    # minimizer tolerance: each free atom's net force <= gtol * scale; the middle cut's
    # force then differs from the uniform one by at most bonds * gtol * scale
    scale = float(np.abs(ds["cauchy_born_stress"]).max())
    tol = ds.attrs["bonds"] * ds.attrs["gtol"] * scale
    error = np.abs(ds["stress"] - ds["cauchy_born_stress"]).values
    assert np.all(error[below] < tol)
    assert not ds["localized"].values[below].any()
    # departs within one step of lambda_c: the first step past it is localized, with the
    # force dropped by more than 99 % (one long bond carries it at a tiny force)
    first = int(np.flatnonzero(~below)[0])
    assert stretch[first] - critical < 0.002
    assert ds.attrs["departure_stretch"] == stretch[first]
    assert ds["localized"].values[first:].all()
    assert np.all(ds["stress"].values[first:] < 1e-2 * ds["cauchy_born_stress"].values[first:])


def test_relaxed_lj_chain_follows_cauchy_born_until_lambda_c_then_breaks():
    ds = stretch_chain("lj", STRETCHES, bonds=50, rng=2026)
    _check_against_cauchy_born(ds)
    # metastable window: a broken chain of 50 bonds has less energy from 1.0255 on
    assert ds.attrs["broken_stretch"] == broken_chain_stretch("lj", 50)
    assert 1.0 < ds.attrs["broken_stretch"] < ds.attrs["critical_stretch"] - 0.05
    # one broken bond: the longest holds the excess length, the others are near a0
    last = ds.isel(stretch=-1)
    gaps = np.diff(last["positions"].values) / ds.attrs["spacing"]
    assert np.sum(gaps > 1.5) == 1 and np.all(np.sort(gaps)[:-1] < 1.01)


def test_relaxed_morse_chain_departs_at_its_own_lambda_c():
    ds = stretch_chain(Morse(alpha=6.0), np.round(np.arange(1.0, 1.16, 0.002), 6), bonds=30, rng=3)
    assert ds.attrs["critical_stretch"] == pytest.approx(1 + np.log(2) / 6, abs=1e-12)
    _check_against_cauchy_born(ds)


def test_second_neighbour_chain_with_clamped_layers_departs_at_the_long_wave_limit():
    ds = stretch_chain("lj", STRETCHES, bonds=50, n_neighbours=2, rng=5)
    _check_against_cauchy_born(ds)


@pytest.mark.parametrize("n_neighbours", [1, 2])
def test_relaxed_chain_energy_curvature_is_the_cauchy_born_modulus(n_neighbours):
    # below lambda_c the relaxed chain is uniform; a chain of N bonds holds N - n + 1
    # pairs of order n, so its energy per reference length is
    # sum_n (N - n + 1) phi(n lambda a0) / (N a0): W itself for nearest neighbours, W up
    # to the missing pairs at the two ends otherwise
    bonds, h, centre = 40, 1e-4, 1.05
    stretches = [centre - h, centre, centre + h]
    ds = stretch_chain("lj", stretches, bonds=bonds, n_neighbours=n_neighbours, rng=0)
    energy = ds["energy"].values
    a0, lj = ds.attrs["spacing"], LennardJones()
    n = np.arange(1, n_neighbours + 1)
    weights = (bonds - n + 1) / bonds
    curvature = np.sum(weights * n**2 * a0 * lj.d2phi(n * centre * a0))
    second = (energy[0] - 2 * energy[1] + energy[2]) / h**2
    # central second difference: truncation h^2 W''''/12 = 4.3e-7 relative (W'''' ~ 1.0e4,
    # W'' = 19.5 at 1.05; measured 4.29e-7 for nearest neighbours), round-off
    # 4 eps |E| / h^2 ~ 1e-8; 2e-6 bounds both
    assert second == pytest.approx(curvature, rel=2e-6)
    if n_neighbours == 1:
        assert np.allclose(energy, chain_energy_density(lj, stretches), rtol=1e-12)
        assert second == pytest.approx(float(chain_modulus(lj, centre)), rel=2e-6)


def test_same_seed_same_chain():
    a = stretch_chain("lj", [1.05, 1.11], bonds=12, rng=7)
    b = stretch_chain("lj", [1.05, 1.11], bonds=12, rng=7)
    assert np.array_equal(a["positions"].values, b["positions"].values)


def test_broken_chain_crossing_scales_like_n_to_minus_half():
    bonds = np.array([10**4, 10**5, 10**6])
    crossing = broken_chain_stretch("lj", bonds)
    assert np.all(crossing < chain_stability("lj").stretch)  # metastable window below lambda_c
    slope = np.polyfit(np.log(bonds), np.log(crossing - 1), 1)[0]
    # measured -0.5011 on 1e4..1e6: the anharmonic and long-bond corrections are
    # O(N^-1/2) ~ 1e-2 relative at 1e4; 5e-3 bounds them
    assert abs(slope + 0.5) < 5e-3
    # asymptote: lambda* - 1 = sqrt(-2 phi(a0) / (N phi''(a0) a0^2)) = 1/(6 sqrt N) for LJ;
    # measured 6e-4 relative at N = 1e6 (the O(N^-1/2) correction), bound 2e-3
    assert (crossing[-1] - 1) * np.sqrt(bonds[-1]) == pytest.approx(1 / 6, rel=2e-3)


@pytest.mark.parametrize(
    ("call", "kind", "words"),
    [
        (lambda: stretch_chain("lj", [1.0, 0.99]), ValueError, "stretches"),
        (lambda: stretch_chain("lj", [-1.0]), ValueError, "stretches"),
        (lambda: stretch_chain("lj", [1.0, np.nan]), ValueError, "stretches"),
        (lambda: stretch_chain("lj", [1.0], bonds=2), ValueError, "bonds"),
        (lambda: stretch_chain("lj", [1.0], perturbation=-1.0), ValueError, "perturbation"),
        (lambda: stretch_chain("lj", [1.0], n_neighbours=0), ValueError, "n_neighbours"),
        (lambda: broken_chain_stretch("harmonic", 10), ValueError, "potential"),
        (lambda: broken_chain_stretch("lj", 1), ValueError, "bonds"),
        (lambda: broken_chain_stretch("lj", 10.5), TypeError, "bonds"),
    ],
)
def test_bad_inputs_name_the_argument(call, kind, words):
    with pytest.raises(kind, match=words):
        call()
