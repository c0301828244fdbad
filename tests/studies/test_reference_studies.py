"""The ready-to-run studies of studies/, run as their READMEs run them, assert their answers."""

from pathlib import Path

import numpy as np
import pytest

from sve import run_study
from sve.report import key_numbers
from sve.statistics import ensemble_statistics, fit_integral_range, isotropic_part

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
