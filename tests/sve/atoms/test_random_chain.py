"""A chain of random bonds as a 1-D SVE: harmonic mean, variance law, integral range."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from sve.atoms import harmonic_chain_stiffness, random_chain_scaling, random_chain_study


def test_harmonic_mean_is_the_series_stiffness():
    k = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    assert np.allclose(harmonic_chain_stiffness(k), [3 / (1 + 0.5 + 0.25), 3.0])
    # force f through the chain stretches it by f sum 1/k_i = N f / K
    assert harmonic_chain_stiffness(k[0]) == pytest.approx(3 / np.sum(1 / k[0]), rel=1e-15)


def _predicted_log_widths(ds):
    """Sampling-theory standard errors of the fitted slope and of ln A (no inflation)."""
    x = np.log(ds["length"].values)
    w = np.full(x.size, 1 / special.polygamma(1, (ds.sizes["realization"] - 1) / 2))
    xm = np.sum(w * x) / np.sum(w)
    slope_se = np.sqrt(1 / np.sum(w * (x - xm) ** 2))
    center_se = np.sqrt(1 / np.sum(w))
    # ln A = xm + (ln D^2 - c) / gamma, with (ln D^2 - c)/gamma = -xm at gamma = -1, A = 1
    log_a_se = np.hypot(center_se, xm * slope_se)
    return slope_se, log_a_se


@pytest.mark.statistical
def test_iid_bonds_give_one_bond_of_integral_range_and_exponent_minus_one():
    # seed pinned; 40 seeds covered 1 in 97.5 % (A) and 95 % (exponent) of 95 % intervals
    ds = random_chain_study(rng=2026)
    fit = random_chain_scaling(ds)
    assert float(fit["integral_range_low"]) < 1.0 < float(fit["integral_range_high"])
    assert float(fit["exponent_low"]) < -1.0 < float(fit["exponent_high"])
    # widths: 2 z sigma from the sampling error of the variances (trigamma), widened by
    # sqrt(chi2/dof) when the points scatter more, never narrower
    slope_se, log_a_se = _predicted_log_widths(ds)
    inflation = np.sqrt(max(float(fit["chi2_per_dof"]), 1.0))
    z = 1.959963984540054
    width_a = np.log(float(fit["integral_range_high"] / fit["integral_range_low"]))
    width_g = float(fit["exponent_high"] - fit["exponent_low"])
    assert 2 * z * log_a_se * 0.95 < width_a < 2 * z * log_a_se * inflation * 1.05
    assert 2 * z * slope_se * 0.999 < width_g < 2 * z * slope_se * inflation * 1.001
    # the mean at 256 bonds is the effective (harmonic) stiffness within 4 standard errors
    se = np.sqrt(ds.attrs["point_variance"] / 256 / ds.sizes["realization"])
    assert abs(float(fit["mean"]) - ds.attrs["effective_stiffness"]) < 4 * se


def test_same_seed_same_study():
    a, b = random_chain_study(realizations=5, rng=3), random_chain_study(realizations=5, rng=3)
    assert np.array_equal(a["stiffness"].values, b["stiffness"].values)


@pytest.mark.parametrize(
    ("call", "kind", "words"),
    [
        (lambda: harmonic_chain_stiffness([1.0, -1.0]), ValueError, "bond_stiffness"),
        (lambda: harmonic_chain_stiffness([1.0, np.nan]), ValueError, "bond_stiffness"),
        (lambda: random_chain_study(bonds=(0, 4)), ValueError, "bonds"),
        (lambda: random_chain_study(realizations=1), ValueError, "realizations"),
        (lambda: random_chain_study(log_std=0.0), ValueError, "log_std"),
        (lambda: random_chain_scaling("ds"), TypeError, "ds"),
    ],
)
def test_bad_inputs_name_the_argument(call, kind, words):
    with pytest.raises(kind, match=words):
        call()
