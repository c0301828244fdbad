"""KUBC-SUBC gap with its power-law fit, drift of the means, and the error budget."""

import numpy as np
import pytest
from _synthetic import study_dataset
from scipy import stats

from sve.statistics import boundary_bias, error_budget
from tests._intervals import fit_half_width_range, sd_factor_range

SIZES = np.array([8, 16, 32, 64])


def bracketing_dataset(rng, n=40, gap_exponent=-1.0):
    """Per realization: Z_static = z - g/2, Z_periodic = z, Z_kinematic = z + g/2 with
    g = 2 L^gap_exponent (1 + 0.1 noise) and z = 3 + 0.2 L^-1 noise."""
    z = 3.0 + 0.2 / SIZES[:, None] * rng.standard_normal((len(SIZES), n))
    g = 2.0 * SIZES[:, None] ** gap_exponent * (1 + 0.1 * rng.standard_normal((len(SIZES), n)))
    values = np.stack([z + g / 2, z, z - g / 2], axis=-1)
    return study_dataset(values, SIZES, bc=("kinematic", "periodic", "static"))


@pytest.mark.statistical
def test_gap_and_its_exponent():
    ds = bracketing_dataset(np.random.default_rng(3))
    bias = boundary_bias(ds, confidence=0.999)
    truth = 2.0 / SIZES
    assert ((bias["gap_low"] < truth) & (truth < bias["gap_high"])).all()
    assert float(bias["gap_exponent_low"]) < -1.0 < float(bias["gap_exponent_high"])
    assert (bias["gap_n"] == 40).all()
    # drift against the largest size: KUBC means fall, SUBC means rise, PBC stays (here)
    drift = bias.sel(size=SIZES[:-1])
    truth = 1.0 / SIZES[:-1] - 1.0 / SIZES[-1]
    kinematic, static = drift.sel(bc="kinematic"), drift.sel(bc="static")
    assert ((kinematic["drift_low"] < truth) & (truth < kinematic["drift_high"])).all()
    assert ((static["drift_low"] < -truth) & (-truth < static["drift_high"])).all()
    periodic = drift.sel(bc="periodic")
    assert ((periodic["drift_low"] < 0) & (0 < periodic["drift_high"])).all()
    assert (bias["drift"].isel(size=-1) == 0).all()

    # widths, from the law of the data: the paired gap has sd 0.2/L per realization; a
    # drift combines two independent means of variance 0.05/L² (KUBC, SUBC: z + g/2,
    # z - g/2) or 0.04/L² (PBC); each sample sd lies in its chi-square range
    n, t = 40, stats.t.ppf(0.9995, 39)
    low, high = sd_factor_range(n)
    gap_half = (bias["gap_high"] - bias["gap_low"]).values / 2
    expected = t * 0.2 / SIZES / np.sqrt(n)
    assert ((low * expected < gap_half) & (gap_half < high * expected)).all()
    for bc, variance in (("kinematic", 0.05), ("static", 0.05), ("periodic", 0.04)):
        half = (drift.sel(bc=bc)["drift_high"] - drift.sel(bc=bc)["drift_low"]).values / 2
        se = np.sqrt(variance / SIZES[:-1] ** 2 / n + variance / SIZES[-1] ** 2 / n)
        assert ((low * t * se < half) & (half < high * t * se)).all(), bc
    # the gap exponent: a line through ln gap (relative se 0.1/sqrt(n) at every size)
    x = np.log(SIZES)
    se0 = np.sqrt(0.01 / n / np.sum((x - x.mean()) ** 2))
    fit_low, fit_high = fit_half_width_range(se0, len(SIZES) - 2, 0.999)
    half = float(bias["gap_exponent_high"] - bias["gap_exponent_low"]) / 2
    assert low * fit_low < half < high * fit_high


@pytest.mark.statistical
def test_drift_fit_recovers_limit_and_exponent():
    """Means 3 + 2 L^-1 (+-0.1 L^-1 scatter per realization): the fitted limit and
    exponent hold the truth inside their 99.9 % intervals, and they are informative."""
    sizes = np.array([8, 12, 16, 24, 32, 48, 64])
    rng = np.random.default_rng(7)
    z = 3.0 + 2.0 / sizes[:, None] + 0.5 / sizes[:, None] * rng.standard_normal((7, 200))
    bias = boundary_bias(study_dataset(z, sizes), confidence=0.999).sel(bc="periodic")
    assert float(bias["limit_low"]) < 3.0 < float(bias["limit_high"])
    assert float(bias["drift_exponent_low"]) < -1.0 < float(bias["drift_exponent_high"])
    # widths: the Fisher standard errors of Z_inf + c x^kappa (x = L / 64, c = 2/64,
    # kappa = -1) with the exact standard errors 0.5 / (L sqrt(200)) of the means,
    # bounded over the 4-sigma box of (c, kappa) around the truth, times the sample-sd
    # range of the means' errors and the chi-square inflation range on 7 - 3 dof
    x, sigma = sizes / 64, 0.5 / sizes / np.sqrt(200)

    def fisher(c, kappa):
        jacobian = np.stack([np.ones_like(x), x**kappa, c * x**kappa * np.log(x)], axis=1)
        return np.sqrt(np.diag(np.linalg.inv(jacobian.T @ (jacobian / sigma[:, None] ** 2))))

    truth = fisher(2 / 64, -1.0)
    box = [fisher(2 / 64 + a * 4 * truth[1], -1.0 + b * 4 * truth[2])
           for a in (-1, 1) for b in (-1, 1)]  # fmt: skip
    s_low, s_high = sd_factor_range(200)
    for k, name in ((0, "limit"), (2, "drift_exponent")):
        low, _ = fit_half_width_range(min(se[k] for se in box), len(sizes) - 3, 0.999)
        _, high = fit_half_width_range(max(se[k] for se in box), len(sizes) - 3, 0.999)
        half = float(bias[f"{name}_high"] - bias[f"{name}_low"]) / 2
        assert s_low * low < half < s_high * high, (name, s_low * low, half, s_high * high)


def test_drift_fit_needs_four_sizes():
    z = 3.0 + np.random.default_rng(1).standard_normal((3, 10))
    bias = boundary_bias(study_dataset(z, [8, 16, 32]))
    assert np.isnan(bias["limit"]).all() and np.isnan(bias["drift_exponent"]).all()


def test_uppercase_aliases_and_periodic_only():
    ds = bracketing_dataset(np.random.default_rng(4)).assign_coords(bc=["KUBC", "PBC", "SUBC"])
    assert np.isfinite(boundary_bias(ds)["gap_exponent"])
    periodic = boundary_bias(ds.sel(bc=["PBC"]))
    assert periodic["gap"].isnull().all() and np.isnan(periodic["gap_exponent"])
    assert "needs both a kinematic" in periodic.attrs["note"]
    budget = error_budget(ds.sel(bc=["PBC"]), tol=1e-6)
    assert budget["bc_bias"].isnull().all()
    assert (budget["statistical"] > 0).all()
    np.testing.assert_allclose(budget["solver"], 1e-6 * np.abs(budget["mean"]))


def test_error_budget_keeps_terms_apart():
    ds = bracketing_dataset(np.random.default_rng(5))
    ds["residual"] = ds["status"] * 0 + 1e-7
    budget = error_budget(ds)
    bias = boundary_bias(ds)
    np.testing.assert_allclose(budget["bc_bias"].sel(bc="periodic"), np.abs(bias["gap"]))
    np.testing.assert_allclose(budget["solver"], 1e-7 * np.abs(budget["mean"]))
    assert set(budget.data_vars) == {"mean", "statistical", "bc_bias", "solver"}


def test_bad_inputs():
    ds = bracketing_dataset(np.random.default_rng(6))
    with pytest.raises(ValueError, match="no variable 'stiffness'"):
        boundary_bias(ds, "stiffness")
    with pytest.raises(ValueError, match="no coordinate 'edge'"):
        boundary_bias(ds, length="edge")
    with pytest.raises(ValueError, match=r"tol must be in \(0, 1\)"):
        error_budget(ds, tol=2.0)
    with pytest.raises(ValueError, match="dimensions 'size' and 'realization'"):
        boundary_bias(ds.isel(realization=0))


@pytest.mark.statistical
def test_limit_is_flagged_when_the_means_do_not_decay():
    """Means with no size effect (3 + 0.3 noise): kappa -> 0 leaves Z_inf unidentified
    (the fit returns a limit of hundreds with a +-1e6 interval for seeds 1, 3, 4, 5).
    ``limit_supported`` must say so for every seed, and hold where the means decay."""
    sizes = np.array([8, 12, 16, 24, 32, 48, 64])
    for seed in range(6):
        rng = np.random.default_rng(seed)
        flat = boundary_bias(study_dataset(3.0 + 0.3 * rng.standard_normal((7, 20)), sizes))
        assert not bool(flat["limit_supported"].sel(bc="periodic")), seed
        assert "limit_supported" in flat.attrs["limit_rule"]
    rng = np.random.default_rng(7)
    z = 3.0 + 2.0 / sizes[:, None] + 0.5 / sizes[:, None] * rng.standard_normal((7, 200))
    decaying = boundary_bias(study_dataset(z, sizes)).sel(bc="periodic")
    assert bool(decaying["limit_supported"])
    # three sizes (the drift fit needs four): no fit, hence not supported either
    few = boundary_bias(study_dataset(z[:3], sizes[:3]))
    assert not few["limit_supported"].any()
