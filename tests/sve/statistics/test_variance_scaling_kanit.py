"""Kanit's law on synthetic window averages: exponent -d, integral range, anomaly, RVE size."""

import numpy as np
import pytest
from _synthetic import study_dataset
from scipy import special, stats

from generators import Gaussian, PowerLaw, gaussian_field
from sve.statistics import (
    ensemble_statistics,
    fit_integral_range,
    fit_variance_scaling,
    point_variance,
    realizations_needed,
    rve_size,
)
from tests._intervals import (
    check_coverage,
    check_mean_width,
    chi2_inflation,
    fit_half_width_range,
)

CONFIDENCE = 0.999  # 3.3 sigma: a pinned seed fails by chance with probability 1e-3


def periodic_means(model, sizes, ndim, n, rng):
    """Spatial means of n independent periodic unit fields per size: variance A / L^d exactly
    up to the min-image truncation of the covariance, negligible for L >= 8 lengths."""
    return np.array(
        [[gaussian_field((L,) * ndim, model, rng=rng).mean() for _ in range(n)] for L in sizes]
    )


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("ndim", "sizes", "n"), [(2, (16, 32, 64, 128), 64), (3, (12, 16, 24, 32), 48)]
)
def test_short_range_exponent_and_integral_range(ndim, sizes, n):
    model = Gaussian(1.5)
    means = periodic_means(model, sizes, ndim, n, np.random.default_rng(ndim))
    statistics = ensemble_statistics(study_dataset(means, sizes))
    fit = fit_integral_range(
        statistics, ndim=ndim, point_variance=1.0, confidence=CONFIDENCE
    ).isel(bc=0)
    assert float(fit["alpha_low"]) < 1.0 < float(fit["alpha_high"])
    assert not bool(fit["anomalous"])
    exact = model.integral_range(ndim)  # unit field: D^2 = 1
    assert float(fit["integral_range_low"]) < exact < float(fit["integral_range_high"])
    # widths: alpha's half-width is z se₀/d times the inflation (between 1 and its 1e-4
    # quantile); ln A's is the delta method, bounded over the 4-sigma box of the fitted
    # slope and centre around the truth, times the same inflation range
    se0, sigma_c, _, c = _expected_fit(sizes, n, 1.0, exact, 1.0, ndim)
    low, high = fit_half_width_range(se0 / ndim, len(sizes) - 2, CONFIDENCE)
    assert low * (1 - 1e-9) < float(fit["alpha_high"] - fit["alpha_low"]) / 2 < high
    gammas = -ndim + 4 * se0 * np.array([-1.0, 1.0])
    centres = c + 4 * sigma_c * np.array([-1.0, 1.0])
    spread = [
        np.hypot(ndim / g * sigma_c, ndim * (0.0 - k) / g**2 * se0)  # ln D² = 0
        for g in gammas
        for k in centres
    ]
    low, _ = fit_half_width_range(min(spread), len(sizes) - 2, CONFIDENCE)
    _, high = fit_half_width_range(max(spread), len(sizes) - 2, CONFIDENCE)
    log_half = float(np.log(fit["integral_range_high"] / fit["integral_range_low"])) / 2
    assert low < log_half < high, (low, log_half, high)
    # the Kanit fit is the same line as fit_variance_scaling
    plain = fit_variance_scaling(statistics).isel(bc=0)
    assert float(fit["exponent"]) == pytest.approx(float(plain["exponent"]), rel=1e-12)


def _expected_tile_variance(model, n, size, count):
    """E[sample variance] of the first `count` (row-major) size x size tile means of one
    periodic field of `gaussian_field` on an n x n grid, from its exact grid covariance
    (the minimum-image correlation, generators/gaussian.py): the covariance of tile means
    at every tile offset is the correlation filtered by the box autocorrelation (FFT)."""
    lag = np.minimum(np.arange(n), n - np.arange(n))
    correlation = model.correlation(np.hypot(lag[:, None], lag[None, :]))
    box = np.zeros((n, n))
    box[:size, :size] = 1.0 / size**2
    box_hat = np.fft.rfft2(box)
    smoothed = np.fft.irfft2(np.fft.rfft2(correlation) * np.abs(box_hat) ** 2, s=(n, n))
    tiles = smoothed[::size, ::size]  # covariance of two tile means, by tile offset
    per_row = n // size
    row, col = np.divmod(np.arange(count), per_row)
    pairs = tiles[(row[:, None] - row) % per_row, (col[:, None] - col) % per_row]
    return count / (count - 1) * (tiles[0, 0] - pairs.mean())


@pytest.mark.statistical
def test_long_range_flagged_anomalous():
    """A power-law field of generators (C(r) ~ r^-1, 2-D): window means decay like L^-1,
    not L^-2, and the fit is flagged anomalous.

    The exponent expected for these windows of one finite periodic field is not exactly
    -beta (the Cauchy model is flat below its length, and the windows share the field's
    mean): it is the fit of the exact expected variances, computed from the generator's
    grid covariance. The measured exponent must lie within 4 standard errors of it."""
    n, sizes, count, beta = 1024, (8, 16, 32, 64), 256, 1.0
    model = PowerLaw(1.0, beta)
    field = gaussian_field((n, n), model, rng=5)
    means = [field.reshape(n // L, L, n // L, L).mean(axis=(1, 3)).ravel()[:count] for L in sizes]
    fit = fit_integral_range(
        ensemble_statistics(study_dataset(means, sizes)), ndim=2, point_variance=1.0
    ).isel(bc=0)
    assert bool(fit["anomalous"]) and float(fit["p_anomalous"]) < 1e-6
    assert str(fit["scaling"].values).startswith("anomalous")

    exact = ensemble_statistics(study_dataset(np.zeros((len(sizes), count)), sizes))
    exact["variance"][:] = [[_expected_tile_variance(model, n, L, count)] for L in sizes]
    expected = float(fit_variance_scaling(exact)["exponent"].isel(bc=0))
    assert abs(expected + beta) < 0.1  # the long-range decay, slightly slowed (docstring)
    assert abs(float(fit["exponent"]) - expected) < 4 * float(fit["exponent_se"])
    # that band is the fit's own standard error: bound it by the weights' se₀ times the
    # chi-square inflation range, or a too-wide error would let any exponent pass
    se0, _, _, _ = _expected_fit(sizes, count, 1.0, 1.0, beta / 2)
    low, high = fit_half_width_range(se0, len(sizes) - 2, 0.95)
    z = stats.norm.ppf(0.975)
    assert low / z * (1 - 1e-9) < float(fit["exponent_se"]) < high / z


def kanit_dataset(rng, *, d2=2.0, area=5.0, alpha=1.0, sizes=(4, 8, 16, 32, 64), n=50, trials=1):
    """Normal samples of mean 3 and variance exactly D^2 (A / L^2)^alpha (2-D)."""
    sizes = np.asarray(sizes, float)
    sd = np.sqrt(d2 * (area / sizes**2) ** alpha)
    values = 3.0 + rng.standard_normal((len(sizes), n, trials)) * sd[:, None, None]
    return study_dataset(values, sizes.astype(int), bc=range(trials))


def _expected_fit(sizes, n, d2, area, alpha, ndim=2):
    """Weighted fit of ln s² on ln L at the truth: the weight w of every size, se₀ of the
    slope and σ_c of the centre (before inflation), the centre x̄ and the expected centre
    E[c] (E ln s² = ln σ² + ψ((n-1)/2) - ln((n-1)/2) for n normal values)."""
    x = np.log(np.asarray(sizes, float))
    w = np.full(x.shape, 1.0 / special.polygamma(1, (n - 1) / 2.0))
    variance = d2 * (area / np.exp(x) ** ndim) ** alpha
    log_s2 = np.log(variance) + special.digamma((n - 1) / 2) - np.log((n - 1) / 2)
    xm = np.sum(w * x) / np.sum(w)
    se0 = 1.0 / np.sqrt(np.sum(w * (x - xm) ** 2))
    return se0, 1.0 / np.sqrt(np.sum(w)), xm, np.sum(w * log_s2) / np.sum(w)


@pytest.mark.statistical
def test_kanit_relations_coverage():
    """Over 400 synthetic studies with known D^2, A, alpha, the 95 % intervals of alpha, A
    and V_RVE cover the truth two-sided at the nominal rate, and their mean half-widths
    (of alpha; of ln A and ln V_RVE, whose intervals are log-normal) are those of the
    delta method at the truth times the mean chi-square inflation E[√max(χ²₃/3, 1)].

    The width bands are t tests of the mean half-width over the trials (their spread
    comes from the inflation and from the estimated slope in the delta method)."""
    trials, d2, area, alpha, n, d = 400, 2.0, 5.0, 0.8, 50, 2
    sizes = (4, 8, 16, 32, 64)
    ds = kanit_dataset(
        np.random.default_rng(7), d2=d2, area=area, alpha=alpha, sizes=sizes, n=n, trials=trials
    )
    statistics = ensemble_statistics(ds)
    fit = fit_integral_range(statistics, ndim=d, point_variance=d2)
    eps, count, zbar = 0.01, 5, 3.0
    rve = rve_size(fit, statistics, relative_error=eps, realizations=count)
    true_rve = area * (4 * d2 / (eps**2 * zbar**2 * count)) ** (1 / alpha)
    check_coverage(fit["alpha_low"], fit["alpha_high"], alpha, 0.95)
    check_coverage(fit["integral_range_low"], fit["integral_range_high"], area, 0.95)
    check_coverage(rve["rve_volume_low"], rve["rve_volume_high"], true_rve, 0.95)
    assert bool(rve["extrapolated"].all())  # 1 % needs far more than L = 64

    z, gamma = stats.norm.ppf(0.975), -alpha * d
    se0, sigma_c, xm, c = _expected_fit(sizes, n, d2, area, alpha)
    inflation, _ = chi2_inflation(len(sizes) - 2)
    check_mean_width((fit["alpha_high"] - fit["alpha_low"]) / 2, z * se0 / d * inflation)
    se_log_area = np.hypot(d / gamma * sigma_c, d * (np.log(d2) - c) / gamma**2 * se0)
    log_half = np.log(fit["integral_range_high"] / fit["integral_range_low"]) / 2
    check_mean_width(log_half, z * se_log_area * inflation)
    target = np.log(eps**2 * zbar**2 * count / 4)
    se_log_length = np.hypot(sigma_c / gamma, (target - c) / gamma**2 * se0)
    # the third term, (2/γ)² s²/(n Z²) at the largest size, is < 1e-6 of the others
    log_half = np.log(rve["rve_volume_high"] / rve["rve_volume_low"]) / 2
    check_mean_width(log_half, z * d * se_log_length * inflation)


def test_rve_formula_and_realizations_needed():
    """Noise-free check: with the exact law, V_RVE = A [4 D^2 / (eps^2 Z^2 n)]^(1/alpha)."""
    sizes = np.array([4, 8, 16, 32])
    d2, area = 2.0, 5.0
    variance = d2 * area / sizes**2.0
    n = 10_000
    base = np.sqrt(variance)[:, None] * np.where(np.arange(n) % 2, 1.0, -1.0)
    # two-point samples +-s have variance s^2 n / (n - 1): rescale to exactly `variance`
    values = 3.0 + base * np.sqrt((n - 1) / n)
    statistics = ensemble_statistics(study_dataset(values, sizes))
    fit = fit_integral_range(statistics, ndim=2, point_variance=d2)
    assert float(fit["integral_range"].isel(bc=0)) == pytest.approx(area, rel=1e-9)
    assert float(fit["alpha"].isel(bc=0)) == pytest.approx(1.0, rel=1e-9)
    rve = rve_size(fit, statistics, relative_error=0.05, realizations=3)
    expected = area * 4 * d2 / (0.05**2 * 9.0 * 3)
    assert float(rve["rve_volume"].isel(bc=0)) == pytest.approx(expected, rel=1e-9)
    needed = realizations_needed(statistics, relative_error=0.05).isel(bc=0)
    np.testing.assert_array_equal(
        needed["realizations"], np.ceil(4 * variance / (0.05**2 * 9.0) - 1e-9)
    )
    assert (needed["realizations_low"] <= needed["realizations"]).all()
    assert (needed["realizations"] <= needed["realizations_high"]).all()
    # the interval is the chi-square one of s², (n-1)s²/chi2_{n-1,(1±c)/2}: no wider
    scale = 4 * statistics["variance"].isel(bc=0).values / (0.05**2 * 9.0) * (n - 1)
    for name, quantile in (("realizations_low", 0.975), ("realizations_high", 0.025)):
        np.testing.assert_array_equal(
            needed[name], np.ceil(scale / stats.chi2.ppf(quantile, n - 1))
        )


def test_point_variance():
    assert point_variance(0.3, 10.0, 1.0) == pytest.approx(0.21 * 81.0)
    with pytest.raises(ValueError, match=r"volume_fraction must be in \(0, 1\)"):
        point_variance(1.2, 10.0, 1.0)
    with pytest.raises(ValueError, match="must differ"):
        point_variance(0.5, 1.0, 1.0)


def test_bad_inputs():
    ds = kanit_dataset(np.random.default_rng(1))
    statistics = ensemble_statistics(ds)
    with pytest.raises(ValueError, match="at least 3 sizes, got 2"):
        fit_integral_range(statistics.isel(size=[0, 1]), ndim=2, point_variance=1.0)
    with pytest.raises(ValueError, match="point_variance must be finite and > 0"):
        fit_integral_range(statistics, ndim=2, point_variance=-1.0)
    with pytest.raises(ValueError, match="ndim must be 1, 2 or 3"):
        fit_integral_range(statistics, ndim=4, point_variance=1.0)
    fit = fit_integral_range(statistics, ndim=2, point_variance=1.0)
    for eps in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"relative_error must be in \(0, 1\)"):
            rve_size(fit, statistics, relative_error=eps)
    with pytest.raises(ValueError, match="realizations must be >= 1"):
        rve_size(fit, statistics, relative_error=0.01, realizations=0)
    with pytest.raises(ValueError, match="no variable 'variance'"):
        fit_integral_range(statistics.drop_vars("variance"), ndim=2, point_variance=1.0)
    with pytest.raises(ValueError, match="relative_error must be in"):
        realizations_needed(statistics, relative_error=0.0)
