"""KUBC-SUBC gap with its power-law fit, drift of the means, and the error budget."""

import numpy as np
import pytest
from _synthetic import study_dataset

from sve.statistics import boundary_bias, error_budget

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
    assert float(bias["limit_high"] - bias["limit_low"]) < 0.05  # far narrower than the drift


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
