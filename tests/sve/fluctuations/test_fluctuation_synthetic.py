"""Synthetic processes: exact correlations, stationarity, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, linalg

from sve.fluctuations import (
    autocorrelation,
    brownian_velocities,
    gle_autocorrelation,
    gle_velocities,
    ornstein_uhlenbeck,
    ou_autocorrelation,
    ou_sum,
)


def _within(sample_acf: np.ndarray, exact: np.ndarray, lags: list[int]) -> None:
    """Mean over series within 4 standard errors (spread over series / sqrt(n))."""
    values = sample_acf[:, lags]
    se = values.std(axis=0, ddof=1) / np.sqrt(len(values))
    assert np.all(np.abs(values.mean(axis=0) - exact[lags]) <= 4 * se)


@pytest.mark.statistical
def test_ou_and_sums_have_their_exact_autocorrelation():
    x = ou_sum(4096, 0.5, taus=[5.0, 1.0], sigmas=[1.0, 2.0], n_series=200, rng=4)
    exact = ou_autocorrelation(0.5 * np.arange(4096), taus=[5.0, 1.0], sigmas=[1.0, 2.0])
    _within(autocorrelation(x, average=False), exact, [0, 1, 4, 10, 30])
    one = ornstein_uhlenbeck(4096, 0.5, tau=5.0, sigma=3.0, n_series=200, rng=4)
    exact = ou_autocorrelation(0.5 * np.arange(4096), taus=[5.0], sigmas=[3.0])
    _within(autocorrelation(one, average=False), exact, [0, 1, 10, 20])
    assert exact[0] == 9.0


@pytest.mark.statistical
def test_brownian_and_gle_velocities_have_their_exact_autocorrelation():
    v = brownian_velocities(4096, 0.1, mass=2.0, friction=0.5, kT=3.0, n_series=100, rng=6)
    assert v.shape == (100, 3, 4096)
    exact = 1.5 * np.exp(-0.5 * 0.1 * np.arange(4096))  # kT/m e^(-gamma t)
    _within(autocorrelation(v.reshape(300, 4096), average=False), exact, [0, 5, 20, 40])
    g = gle_velocities(4096, 0.1, mass=2.0, kT=3.0, strength=2.0, tau=0.5, n_series=100,
                       rng=6)  # fmt: skip
    exact = gle_autocorrelation(0.1 * np.arange(4096), mass=2.0, kT=3.0, strength=2.0, tau=0.5)
    _within(autocorrelation(g, average=False), exact, [0, 3, 10, 25])


def test_gle_autocorrelation_is_exact():
    # C(0) = kT / m; int C = kT / (m K0 tau) (Laplace transform at 0); the repeated
    # eigenvalue case (1/tau^2 = 4 K0) goes through expm and agrees with a nearby one
    c0 = float(gle_autocorrelation(0.0, mass=2.0, kT=3.0, strength=1.0, tau=2.0))
    assert c0 == pytest.approx(1.5, rel=1e-14)
    total, _ = integrate.quad(
        lambda s: gle_autocorrelation(s, mass=2.0, kT=3.0, strength=1.0, tau=2.0), 0, 200,
        limit=400,
    )  # fmt: skip
    assert total == pytest.approx(1.5 / 2.0, rel=1e-8)
    t = np.linspace(0, 5, 11)
    a = gle_autocorrelation(t, strength=0.25, tau=1.0)
    b = gle_autocorrelation(t, strength=0.25 * (1 + 1e-9), tau=1.0)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    drift = np.array([[0.0, 1.0], [-0.25, -1.0]])
    np.testing.assert_allclose(a[4], linalg.expm(2.0 * drift)[0, 0], rtol=1e-12)


def test_bit_reproducible_and_rng_explicit():
    a = gle_velocities(100, 0.1, strength=1.0, tau=1.0, n_series=3, rng=9)
    b = gle_velocities(100, 0.1, strength=1.0, tau=1.0, n_series=3, rng=9)
    assert np.array_equal(a, b)
    gen = np.random.default_rng(9)
    assert np.array_equal(ornstein_uhlenbeck(50, 1.0, tau=2.0, rng=gen).shape, (50,))
    with pytest.raises(TypeError, match="rng must be an int seed"):
        ornstein_uhlenbeck(50, 1.0, tau=2.0, rng=None)
    with pytest.raises(ValueError, match="tau must be finite and > 0"):
        ornstein_uhlenbeck(50, 1.0, tau=0.0, rng=1)
    with pytest.raises(ValueError, match="n_steps must be >= 2"):
        ornstein_uhlenbeck(1, 1.0, tau=1.0, rng=1)
    with pytest.raises(ValueError, match="taus and sigmas must be"):
        ou_sum(50, 1.0, taus=[1.0, 2.0], sigmas=[1.0], rng=1)
