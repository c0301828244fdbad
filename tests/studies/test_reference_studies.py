"""The ready-to-run studies of studies/, run as their READMEs run them (or with fewer sizes and
realizations where the full study takes minutes), assert their answers."""

import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2

from sve import run_study
from sve.report import key_numbers
from sve.statistics import ensemble_statistics, fit_integral_range, isotropic_part
from sve.study import load_spec
from sve.study.media import indicator_integral_range

STUDIES = Path(__file__).parents[2] / "studies"

pytestmark = pytest.mark.slow  # each is a real study on an embedded LocalCluster


def test_long_range_study_reports_the_anomalous_exponent(tmp_path):
    """beta = 1 < d = 2: the variance decays like L^-1, flagged anomalous, not forced to -2."""
    ds = run_study(STUDIES / "long_range.toml", store=tmp_path / "s.zarr")
    assert (ds["status"] == 1).all()
    fit = fit_integral_range(ensemble_statistics(ds), ndim=2, point_variance=1.0)
    fit = fit.sel(bc="periodic")
    assert bool(fit["anomalous"]) and float(fit["p_anomalous"]) < 1e-6
    # -beta within 4 standard errors of the fitted exponent (its sampling error)
    assert abs(float(fit["exponent"]) + 1.0) <= 4 * float(fit["exponent_se"])


@pytest.mark.parametrize(
    ("name", "flagged"), [("ergodicity", False), ("ergodicity_control", True)]
)
def test_ergodicity_studies_reach_their_verdicts(tmp_path, name, flagged):
    ds = run_study(STUDIES / f"{name}.toml", store=tmp_path / "s.zarr")
    numbers = key_numbers(ds)
    p = float(numbers["ergodicity_p_value"])
    assert bool(numbers["ergodicity_flagged"]) == flagged
    assert (p < 0.01) if flagged else (p > 0.01)


def test_elasticity_study_brackets_the_bulk_modulus(tmp_path):
    """Per realization static <= mixed, periodic <= kinematic; the variance decays like L^-2."""
    ds = run_study(STUDIES / "elasticity.toml", store=tmp_path / "s.zarr")
    assert (ds["status"] == 1).all()
    bulk = isotropic_part(ds["stiffness"])
    tol = 1e-5 * float(bulk.max())  # solver tolerance 1e-6 on energies
    for lower, upper in (("static", "mixed"), ("mixed", "kinematic"),
                         ("static", "periodic"), ("periodic", "kinematic")):  # fmt: skip
        assert bool((bulk.sel(bc=lower) <= bulk.sel(bc=upper) + tol).all())
    numbers = key_numbers(ds)
    for bc in ds["bc"].values:
        low, high = (float(numbers[k].sel(bc=bc)) for k in ("exponent_low", "exponent_high"))
        assert low <= -2.0 <= high, bc
    assert np.isfinite(float(numbers["hs_lower"])) and np.isnan(float(numbers["dykhne"]))


def test_boolean_3d_study_decays_like_l_to_the_minus_3(tmp_path):
    """Short range in 3-D: the periodic exponent's interval holds -3; the bracket holds."""
    ds = run_study(STUDIES / "boolean_3d.toml", store=tmp_path / "s.zarr")
    assert (ds["status"] == 1).all()
    numbers = key_numbers(ds).sel(bc="periodic")
    assert float(numbers["exponent_low"]) <= -3.0 <= float(numbers["exponent_high"])
    assert not bool(numbers["anomalous"])
    k = isotropic_part(ds["conductivity"])
    tol = 1e-5 * float(k.max())  # solver tolerance 1e-6 on energies
    assert bool((k.sel(bc="static") <= k.sel(bc="periodic") + tol).all())
    assert bool((k.sel(bc="periodic") <= k.sel(bc="kinematic") + tol).all())


def test_voronoi_conductivity_study_brackets_and_decays(tmp_path):
    """Kanit's mosaic: KUBC >= PBC >= SUBC per realization; the periodic interval holds -3."""
    ds = run_study(STUDIES / "voronoi_conductivity.toml", store=tmp_path / "s.zarr")
    assert (ds["status"] == 1).all()
    k = isotropic_part(ds["conductivity"])
    tol = 1e-5 * float(k.max())  # solver tolerance 1e-6 on energies
    assert bool((k.sel(bc="static") <= k.sel(bc="periodic") + tol).all())
    assert bool((k.sel(bc="periodic") <= k.sel(bc="kinematic") + tol).all())
    numbers = key_numbers(ds).sel(bc="periodic")
    assert float(numbers["exponent_low"]) <= -3.0 <= float(numbers["exponent_high"])


def _reduced(name, **sampling):
    """The spec of studies/NAME.toml with some [sampling] fields replaced (a smaller run)."""
    with open(STUDIES / f"{name}.toml", "rb") as f:
        spec = tomllib.load(f)
    spec["sampling"].update(sampling)
    return spec


def _shrinks(err):
    """Whether the mean of err over realizations falls from the smallest to the largest size
    by more than 3 standard errors of the difference (independent samples)."""
    n = err.sizes["realization"]
    m, se = err.mean("realization"), err.std("realization", ddof=1) / np.sqrt(n)
    return float(m.isel(size=0) - m.isel(size=-1)) > 3 * float(
        np.hypot(se.isel(size=0), se.isel(size=-1))
    )


def _in_chi2_band(sample_variance, variance, n):
    """Whether every size's sample variance (n realizations) / its exact value lies in the
    chi^2 band of n - 1 degrees of freedom, two-sided 1e-3 in all (Bonferroni over sizes)."""
    alpha = 1e-3 / sample_variance.sizes["size"]
    low, high = (chi2.ppf(q, n - 1) / (n - 1) for q in (alpha / 2, 1 - alpha / 2))
    ratio = sample_variance / variance
    return bool(((ratio > low) & (ratio < high)).all())


def test_laminate_study_is_exact_per_realization_and_decays_like_l_to_the_minus_1(tmp_path):
    """Random layers: every realization meets Wiener's means of its own fractions where the
    BC is exact, KUBC lies above across and SUBC below along; the variance decays like L^-1."""
    spec = _reduced("laminate", sizes=[8, 16, 32, 64, 128], realizations=32)
    ds = run_study(spec, store=tmp_path / "s.zarr").load()
    assert (ds["status"] == 1).all()
    k0, k1 = spec["property"]["phases"]
    cell = spec["medium"]["cell_size"]
    phi = ds["volume_fraction"]  # each realization's own fraction of phase 1
    harmonic = 1.0 / (phi / k1 + (1.0 - phi) / k0)  # across the layers (axis 0)
    arithmetic = phi * k1 + (1.0 - phi) * k0  # along them
    across = ds["conductivity"].isel(i=0, j=0) / harmonic - 1.0
    along = ds["conductivity"].isel(i=1, j=1) / arithmetic - 1.0
    rtol = 10 * spec["solver"]["tol"]  # relative residual 1e-6: seen <= 6e-7 on K, static
    exact = {"periodic": (across, along), "mixed": (across, along),
             "static": (across,), "kinematic": (along,)}  # fmt: skip
    for bc, errors in exact.items():
        for err in errors:
            assert float(abs(err.sel(bc=bc)).max()) <= rtol, bc
    # the inexact directions: strictly off for every realization with both phases
    both = (phi > 0) & (phi < 1)
    assert bool(both.sum() > 0.9 * both.size)
    assert bool((across.sel(bc="kinematic").where(both) > rtol).sum() == both.sum())
    assert bool((along.sel(bc="static").where(both) < -rtol).sum() == both.sum())
    # ... and their bias shrinks with L
    assert _shrinks(across.sel(bc="kinematic")) and _shrinks(-along.sel(bc="static"))
    # symmetric layers: no off-diagonal coupling (mixed conditions leave it undefined)
    off = ds["conductivity"].isel(i=0, j=1).sel(bc=["kinematic", "periodic", "static"])
    assert float(abs(off).max()) <= rtol * k1
    # the ensemble variance along the layers is exact: Var(A(phi)) = (k1-k0)^2 phi(1-phi) c / L
    p = spec["medium"]["volume_fraction"]
    sample = ds["conductivity"].sel(bc="periodic").isel(i=1, j=1).var("realization", ddof=1)
    exact = (k1 - k0) ** 2 * p * (1 - p) * cell / ds["size"]
    assert _in_chi2_band(sample, exact, ds.sizes["realization"]), (sample / exact).values
    # the report's exponent of tr(K)/d: near -1, flagged anomalous (-d = -2 is rejected)
    fit = fit_integral_range(ensemble_statistics(ds), ndim=2, point_variance=1.0)
    fit = fit.sel(bc="periodic")
    assert abs(float(fit["exponent"]) + 1.0) <= 4 * float(fit["exponent_se"])
    assert bool(key_numbers(ds)["anomalous"].sel(bc="periodic"))


def test_level_cut_3d_study_decays_like_l_to_the_minus_3_and_brackets(tmp_path):
    """3-D short range: Huet's order per realization, the bracket closes, the periodic
    exponent holds -3 (not anomalous, Kanit's alpha holds 1); the fractions' variance gives
    the exact integral range of the indicator."""
    spec = _reduced("level_cut_3d", sizes=[8, 12, 16, 24, 32], realizations=32)
    ds = run_study(spec, store=tmp_path / "s.zarr").load()
    assert (ds["status"] == 1).all()
    k = ds["conductivity"]
    tol = 1e-5 * float(k.max())  # solver tolerance 1e-6 on energies
    for lower, upper in (("static", "periodic"), ("periodic", "kinematic")):
        # as quadratic forms: the difference of the tensors is positive semi-definite
        diff = (k.sel(bc=upper) - k.sel(bc=lower)).transpose(..., "i", "j").values
        assert np.linalg.eigvalsh(0.5 * (diff + np.swapaxes(diff, -1, -2))).min() >= -tol
    # the bracket KUBC - SUBC closes (gap paired per realization)
    gap = isotropic_part(k.sel(bc="kinematic")) - isotropic_part(k.sel(bc="static"))
    assert _shrinks(gap)
    numbers = key_numbers(ds).sel(bc="periodic")
    assert float(numbers["exponent_low"]) <= -3.0 <= float(numbers["exponent_high"])
    assert float(numbers["exponent_high"]) < -2.0  # not the 2-D rate
    assert not bool(numbers["anomalous"])
    assert float(numbers["alpha_low"]) <= 1.0 <= float(numbers["alpha_high"])
    # Var(phi_r) = phi(1-phi) A / L^3 with the exact A of the level cut (29.6 voxel^3 here)
    medium = load_spec(spec).medium
    a_exact = indicator_integral_range(medium, spec["sampling"]["spacing"])
    p = medium["volume_fraction"]
    sample = ds["volume_fraction"].var("realization", ddof=1)
    exact = p * (1 - p) * a_exact / ds["size"] ** 3
    assert _in_chi2_band(sample, exact, ds.sizes["realization"]), (sample / exact).values
