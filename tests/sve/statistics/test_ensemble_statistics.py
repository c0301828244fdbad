"""Ensemble statistics on synthetic study datasets with known answers."""

import numpy as np
import pytest
import xarray as xr
from scipy import special, stats

from sve.statistics import ensemble_statistics, fit_variance_scaling, isotropic_part
from tests._intervals import (
    check_coverage,
    check_mean_width,
    chi2_inflation,
    student_half_width,
)


def synthetic(rng, *, exponent=-2.0, n=40, sizes=(8, 16, 32, 64, 128), trials=1, d=2):
    """A study-shaped dataset whose tr(K)/d has variance 0.5 * L^exponent exactly."""
    sizes = np.asarray(sizes)
    std = np.sqrt(0.5 * sizes.astype(float) ** exponent)
    noise = rng.standard_normal((len(sizes), n, trials)) * std[:, None, None]
    tensor = np.zeros((len(sizes), n, trials, d, d))
    for k in range(d):
        tensor[..., k, k] = 3.0 + noise  # isotropic: tr/d = 3 + noise
    ds = xr.Dataset(
        {
            "conductivity": (("size", "realization", "bc", "i", "j"), tensor),
            "status": (("size", "realization", "bc"), np.ones((len(sizes), n, trials), np.int8)),
        },
        coords={"size": sizes, "length": ("size", sizes * 1.0), "bc": np.arange(trials)},
    )
    return ds


def test_isotropic_part():
    t = xr.DataArray(np.array([[2.0, 0.5], [0.5, 4.0]]), dims=("i", "j"))
    assert float(isotropic_part(t)) == 3.0
    with pytest.raises(ValueError, match="dimensions 'i' and 'j'"):
        isotropic_part(xr.DataArray([1.0], dims=("x",)))


def test_mean_variance_ci_match_direct_formulas():
    ds = synthetic(np.random.default_rng(1))
    s = ensemble_statistics(ds).isel(bc=0)
    x = ds["conductivity"].values[:, :, 0, 0, 0]
    np.testing.assert_allclose(s["mean"], x.mean(axis=1), rtol=1e-14)
    np.testing.assert_allclose(s["variance"], x.var(axis=1, ddof=1), rtol=1e-12)
    half = stats.t.ppf(0.975, 39) * x.std(axis=1, ddof=1) / np.sqrt(40)
    np.testing.assert_allclose(s["ci_high"] - s["mean"], half, rtol=1e-12)
    assert (s["n"] == 40).all()


def test_pending_records_left_out():
    ds = synthetic(np.random.default_rng(2))
    ds["status"][0, :10, 0] = 0
    ds["conductivity"][0, :10] = 1e6  # garbage that must not leak in
    s = ensemble_statistics(ds).isel(bc=0, size=0)
    assert int(s["n"]) == 30
    assert abs(float(s["mean"]) - 3.0) < 1.0


@pytest.mark.statistical
@pytest.mark.parametrize("exponent", [-2.0, -3.0, -1.2])
def test_exponent_interval_covers_truth_at_nominal_rate(exponent):
    """Over 400 independent synthetic studies the 95 % interval covers the true exponent
    at the nominal rate on both sides, and it is as wide as theory says.

    Width: ln s² of n normal values has variance ψ₁((n-1)/2), which sets the fit's
    weights w, so the half-width is z se₀ √max(χ²/dof, 1) with se₀ = 1/√(Σ w (x - x̄)²)
    exact and χ² the fit's chi-square on 5 - 2 = 3 degrees of freedom; its mean over
    the trials is held to z se₀ E[√max(χ²₃/3, 1)] within 4 standard errors."""
    trials, n = 400, 40
    ds = synthetic(np.random.default_rng(3), exponent=exponent, n=n, trials=trials)
    fit = fit_variance_scaling(ensemble_statistics(ds))
    check_coverage(fit["exponent_low"], fit["exponent_high"], exponent, 0.95)
    x = np.log(ds["length"].values)
    w = 1.0 / special.polygamma(1, (n - 1) / 2.0)  # equal n: equal weights
    se0 = 1.0 / np.sqrt(w * np.sum((x - x.mean()) ** 2))
    z = stats.norm.ppf(0.975)
    half = (fit["exponent_high"] - fit["exponent_low"]).values / 2
    assert (half >= z * se0 * (1 - 1e-12)).all()  # the inflation never narrows it
    inflation, spread = chi2_inflation(len(x) - 2)
    check_mean_width(half, z * se0 * inflation, z * se0 * spread)
    # and the estimate is unbiased within its standard error of the mean over trials
    spread = float(fit["exponent"].std()) / np.sqrt(trials)
    assert abs(float(fit["exponent"].mean()) - exponent) < 4 * spread + 0.02  # 0.02: ln s² bias


@pytest.mark.statistical
def test_mean_interval_coverage_and_width():
    """Student intervals of the mean over 500 independent cells (5 sizes x 100 trials):
    two-sided coverage at 95 %, and mean half-width t c₄(n) σ/√n (E[s] = c₄ σ) per size
    within 4 standard errors of its sampling spread."""
    n, trials = 20, 100
    ds = synthetic(np.random.default_rng(11), n=n, trials=trials)
    s = ensemble_statistics(ds)
    check_coverage(s["ci_low"], s["ci_high"], 3.0, 0.95)
    for size in ds["size"].values:
        sigma = np.sqrt(0.5 * float(size) ** -2.0)
        cell = s.sel(size=size)
        expected, sd = student_half_width(sigma, n, 0.95)
        check_mean_width((cell["ci_high"] - cell["ci_low"]) / 2, expected, sd)


def test_fit_errors():
    ds = synthetic(np.random.default_rng(4), sizes=(8, 16))
    with pytest.raises(ValueError, match="at least 3 sizes, got 2"):
        fit_variance_scaling(ensemble_statistics(ds))
    ds = synthetic(np.random.default_rng(4))
    ds["conductivity"][1] = 3.0  # zero variance at one size
    with pytest.raises(ValueError, match="variances must be > 0"):
        fit_variance_scaling(ensemble_statistics(ds))
    with pytest.raises(ValueError, match="no variable 'n'"):
        fit_variance_scaling(ensemble_statistics(ds).drop_vars("n"))


def test_statistics_errors():
    ds = synthetic(np.random.default_rng(5))
    with pytest.raises(ValueError, match="no variable 'stiffness'"):
        ensemble_statistics(ds, "stiffness")
    with pytest.raises(ValueError, match="confidence must be in"):
        ensemble_statistics(ds, confidence=1.5)
    with pytest.raises(ValueError, match="dimensions 'size' and 'realization'"):
        ensemble_statistics(ds.isel(realization=0))
    with pytest.raises(TypeError, match="xarray.Dataset"):
        ensemble_statistics(ds["conductivity"])


@pytest.mark.statistical
def test_bootstrap_intervals():
    """Normal data: the percentile interval of the mean matches Student's to O(1/n) and a
    fixed seed reproduces it; over 200 independent cells both bootstrap intervals cover
    the truth two-sided at 95 %, and the variance interval is as wide as the sampling
    law of s² says (half-width z √2 σ²/√(n-1) for normal data)."""
    n = 200
    ds = synthetic(np.random.default_rng(6), n=n, trials=40)
    plain = ensemble_statistics(ds)
    boot = ensemble_statistics(ds, bootstrap=2000, rng=9)
    assert boot[list(plain.data_vars)].identical(plain)
    width = plain["ci_high"] - plain["ci_low"]
    # bootstrap quantiles of 2000 resamples scatter by ~3 % of the width; n=200: z vs t ~1 %
    np.testing.assert_allclose(boot["mean_boot_high"] - boot["mean_boot_low"], width, rtol=0.1)
    check_coverage(boot["mean_boot_low"], boot["mean_boot_high"], 3.0, 0.95)
    truth = 0.5 * ds["size"].astype(float) ** -2.0
    low, high = boot["variance_boot_low"] / truth, boot["variance_boot_high"] / truth
    check_coverage(low, high, 1.0, 0.95)
    # relative half-width of the variance interval: z sqrt(2 / (n - 1)) (Var s² = 2σ⁴/(n-1));
    # the bootstrap reads it off the sample's own kurtosis, whose estimate from n = 200
    # normal values has a relative standard deviation of sqrt(24 / n) / 2 on the width
    half = ((high - low) / 2).values
    z = stats.norm.ppf(0.975)
    expected = z * np.sqrt(2 / (n - 1))
    check_mean_width(half, expected, expected * np.sqrt(24 / n) / 2)
    again = ensemble_statistics(ds, bootstrap=2000, rng=9)
    assert again.identical(boot)


def test_bootstrap_errors():
    ds = synthetic(np.random.default_rng(7))
    with pytest.raises(ValueError, match="bootstrap must be 0 or >= 100"):
        ensemble_statistics(ds, bootstrap=10)
    with pytest.raises(TypeError, match="bootstrap must be an integer"):
        ensemble_statistics(ds, bootstrap=1.5)
