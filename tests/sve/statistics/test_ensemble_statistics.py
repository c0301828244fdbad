"""Ensemble statistics on synthetic study datasets with known answers."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from sve.statistics import ensemble_statistics, fit_variance_scaling, isotropic_part


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
    """Over 400 independent synthetic studies the 95 % interval covers the true
    exponent 95 % of the time; band: 4 binomial standard errors."""
    trials = 400
    ds = synthetic(np.random.default_rng(3), exponent=exponent, trials=trials)
    fit = fit_variance_scaling(ensemble_statistics(ds))
    covered = ((fit["exponent_low"] <= exponent) & (exponent <= fit["exponent_high"])).mean()
    band = 4 * np.sqrt(0.95 * 0.05 / trials)
    assert abs(float(covered) - 0.95) < band
    # and the estimate is unbiased within its standard error of the mean over trials
    spread = float(fit["exponent"].std()) / np.sqrt(trials)
    assert abs(float(fit["exponent"].mean()) - exponent) < 4 * spread + 0.02  # 0.02: ln s² bias


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
    fixed seed reproduces it; the variance interval holds the true variance."""
    ds = synthetic(np.random.default_rng(6), n=200, trials=3)
    plain = ensemble_statistics(ds)
    boot = ensemble_statistics(ds, bootstrap=2000, rng=9)
    assert boot[list(plain.data_vars)].identical(plain)
    width = plain["ci_high"] - plain["ci_low"]
    # bootstrap quantiles of 2000 resamples scatter by ~3 % of the width; n=200: z vs t ~1 %
    np.testing.assert_allclose(boot["mean_boot_high"] - boot["mean_boot_low"], width, rtol=0.1)
    truth = 0.5 * ds["size"].astype(float) ** -2.0
    assert (
        (boot["variance_boot_low"] < truth) & (truth < boot["variance_boot_high"])
    ).mean() > 0.8
    again = ensemble_statistics(ds, bootstrap=2000, rng=9)
    assert again.identical(boot)


def test_bootstrap_errors():
    ds = synthetic(np.random.default_rng(7))
    with pytest.raises(ValueError, match="bootstrap must be 0 or >= 100"):
        ensemble_statistics(ds, bootstrap=10)
    with pytest.raises(TypeError, match="bootstrap must be an integer"):
        ensemble_statistics(ds, bootstrap=1.5)
