"""Memory kernel of the GLE: exact correlations, convergence order, sampled series."""

from __future__ import annotations

import numpy as np
import pytest

from sve.fluctuations import (
    autocorrelation,
    gle_autocorrelation,
    gle_kernel,
    gle_velocities,
    memory_kernel,
    plot_memory_kernel,
)

K0, TAU = 1.0, 1.0  # kernel K0 exp(-t / tau); the velocity oscillates and decays in ~tau


def _error(dt: float) -> float:
    t = dt * np.arange(int(round(4 * TAU / dt)))
    result = memory_kernel(gle_autocorrelation(t, strength=K0, tau=TAU), dt)
    keep = result.times <= 3 * TAU
    exact = gle_kernel(result.times[keep], strength=K0, tau=TAU)
    return float(np.max(np.abs(result.kernel[keep] - exact)))


def test_exact_autocorrelation_gives_the_kernel_to_second_order():
    # measured: 6.0e-4, 1.6e-4, 4.1e-5 at dt = 0.1, 0.05, 0.025 (ratios 3.8, 3.9: the
    # trapezoid rule and the differences are second order)
    errors = [_error(dt) for dt in (0.1, 0.05, 0.025)]
    assert errors[1] < 2e-4
    for coarse, fine in zip(errors, errors[1:], strict=False):
        assert 3.5 < coarse / fine < 4.5


def test_friction_and_noise():
    dt = 0.025
    t = dt * np.arange(int(20 * TAU / dt))  # the kernel decays to e^-20
    acf = gle_autocorrelation(t, mass=2.0, kT=3.0, strength=K0, tau=TAU)
    result = memory_kernel(acf, dt, mass=2.0)
    # int K = K0 tau; the measured error 8.6e-4 is the O(dt^2) of the rule
    assert result.friction == pytest.approx(K0 * TAU, abs=2e-3)
    assert result.kT == pytest.approx(3.0, rel=1e-12)  # equipartition: m C(0)
    np.testing.assert_allclose(result.noise_autocorrelation, 2.0 * 3.0 * result.kernel)
    assert memory_kernel(acf, dt, mass=2.0, kT=1.5).kT == 1.5


@pytest.mark.statistical
def test_kernel_from_sampled_series_within_four_standard_errors():
    """20 GLE series of 2^15 steps of 0.05 tau: the kernel up to 3 tau.

    The mean of the 20 kernels lies within 4 standard errors (their spread / sqrt(20))
    of the exact K0 e^(-t / tau) at every t <= 3 tau (61 lags); the largest |z|
    measured is 1.9. The discretization error (1.6e-4) is < 2 % of the standard
    error, and the standard error is bounded (< 0.03 K0, measured 0.015) so the test
    can fail.
    """
    dt, n = 0.05, 2**15
    velocities = gle_velocities(n, dt, strength=K0, tau=TAU, n_series=20, rng=5)
    acfs = autocorrelation(velocities, average=False)[:, : int(4 * TAU / dt)]
    kernels = np.array([memory_kernel(acf, dt).kernel for acf in acfs])
    times = dt * np.arange(kernels.shape[1])
    keep = times <= 3 * TAU
    mean = kernels.mean(axis=0)[keep]
    se = kernels.std(axis=0, ddof=1)[keep] / np.sqrt(len(kernels))
    exact = gle_kernel(times[keep], strength=K0, tau=TAU)
    assert np.all(np.abs(mean - exact) <= 4 * se), np.max(np.abs(mean - exact) / se)
    assert se.max() < 0.03 * K0


def test_figure():
    t = 0.05 * np.arange(80)
    result = memory_kernel(gle_autocorrelation(t, strength=K0, tau=TAU), 0.05)
    fig = plot_memory_kernel(result, exact=gle_kernel(result.times, strength=K0, tau=TAU),
                             spread=np.full(result.times.size, 0.01))  # fmt: skip
    assert len(fig.axes) == 2
    with pytest.raises(TypeError, match="kernel must be a MemoryKernel"):
        plot_memory_kernel(t)


@pytest.mark.parametrize(
    ("acf", "kwargs", "message"),
    [
        ([1.0, 0.5], {}, "acf must be 1-D with >= 3 lags"),
        ([[1.0, 0.5, 0.2]], {}, "acf must be 1-D"),
        ([1.0, np.nan, 0.2, 0.1], {}, "acf must be finite"),
        ([0.0, 0.5, 0.2, 0.1], {}, "acf\\[0\\] must be > 0"),
        ([1.0, 0.5, 0.2, 0.1], {"mass": -1.0}, "mass must be finite and > 0"),
        ([1.0, 0.5, 0.2, 0.1], {"kT": 0.0}, "kT must be finite and > 0"),
    ],
)
def test_bad_input_is_named(acf, kwargs, message):
    with pytest.raises(ValueError, match=message):
        memory_kernel(acf, 0.1, **kwargs)
    with pytest.raises(ValueError, match="dt must be finite and > 0"):
        memory_kernel([1.0, 0.5, 0.2], 0.0)
