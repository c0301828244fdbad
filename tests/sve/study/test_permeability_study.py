"""Permeability studies: the spec, the records, the statistics, the gap and the report."""

import copy
import math

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from sve.report import key_numbers
from sve.study import SpecError, load_spec
from sve.study.percolation import permeability_summary
from sve.study.schema import STATUS, empty_dataset


def spec_data(**changes):
    """A small 2-D permeability study of a level-cut pore space (pores: phase 1)."""
    data = {
        "name": "flow",
        "seed": 11,
        "medium": {
            "generator": "gaussian_level_cut",
            "ndim": 2,
            "covariance": "gaussian",
            "correlation_length": 3.0,
            "volume_fraction": 0.6,
        },
        "property": {"name": "permeability", "pore_label": 1},
        "sampling": {"sizes": [8, 12, 16], "realizations": 4},
        "solver": {"bc": ["periodic", "mixed"], "tol": 1e-8, "batch": 2},
    }
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        if value is None:
            del data[section][key]
        else:
            data[section][key] = value
    return data


# ------------------------------------------------------------------------- the spec


def test_spec_reads_the_flow_fields_and_round_trips():
    spec = load_spec(spec_data(**{"property.walls": "free-slip", "property.viscosity": 2.5}))
    assert spec.property == "permeability" and spec.variable == "permeability"
    assert spec.tensor_size == 2 and spec.bc == ("periodic", "mixed")
    physics = spec.physics
    assert (physics.pore_label, physics.viscosity, physics.walls, physics.reservoir) == (
        1, 2.5, "free-slip", False
    )  # fmt: skip
    assert spec.phases == () and spec.conducting_phase is None
    assert type(spec).from_json(spec.to_json()) == spec
    assert load_spec(spec.to_dict()) == spec
    # defaults: viscosity 1, no-slip side walls, no reservoir
    plain = load_spec(spec_data()).physics
    assert (plain.viscosity, plain.walls, plain.reservoir) == (1.0, "no-slip", False)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("solver.bc", ["periodic", "kinematic"], r"solver\.bc: a permeability study takes"),
        ("solver.bc", ["static"], r"solver\.bc: .*no kinematic or static"),
        ("solver.bc", ["sideways"], r"solver\.bc: bc must be one of"),
        ("property.pore_label", 2, r"property\.pore_label must be a phase of the medium"),
        ("property.pore_label", True, r"property\.pore_label must be a phase"),
        ("property.pore_label", None, r"missing field 'property\.pore_label'"),
        ("property.phases", [1.0, 0.0], r"property\.phases is not used by a permeability"),
        ("property.modulus", "bulk", r"property\.modulus is not used by a permeability"),
        ("property.viscosity", math.nan, r"property\.viscosity must be a finite number > 0"),
        ("property.viscosity", -1.0, r"property\.viscosity must be a finite number > 0"),
        ("property.walls", "sticky", r"property\.walls must be one of"),
        ("property.reservoir", "yes", r"property\.reservoir must be true or false"),
        ("solver.discretization", "fv", r"solver\.discretization is not used by permeability"),
        ("solver.stop", "tensor", r"solver\.stop must be 'residual' for permeability"),
    ],
)
def test_bad_permeability_spec_names_the_field(field, value, message):
    with pytest.raises(SpecError, match=message):
        load_spec(spec_data(**{field: value}))


def test_mixed_only_fields_need_the_mixed_bc():
    data = spec_data(**{"solver.bc": ["periodic"], "property.reservoir": True})
    with pytest.raises(SpecError, match=r"property\.reservoir is only used under solver\.bc"):
        load_spec(data)
    data["solver"]["bc"] = ["mixed"]
    assert load_spec(data).physics.reservoir is True


def test_other_properties_refuse_the_flow_fields():
    data = spec_data(**{"property.name": "conductivity", "property.phases": [1.0, 2.0]})
    with pytest.raises(SpecError, match=r"property\.pore_label is not used by a conductivity"):
        load_spec(data)


def test_sweeps_vary_the_medium_not_phase_values():
    data = spec_data()
    data["sweep"] = {"medium.volume_fraction": [0.5, 0.7]}
    spec = load_spec(data)
    assert [s.volume_fraction for s in spec.sweep_specs()] == [0.5, 0.7]
    assert all(s.pore_label == 1 for s in spec.sweep_specs())
    data["sweep"] = {"property.phases[1]": [1.0, 2.0]}
    with pytest.raises(SpecError, match="a permeability study has no phase values"):
        load_spec(data)


def test_the_polycrystal_has_no_pores():
    data = spec_data()
    data["medium"] = {"generator": "voronoi_polycrystal", "ndim": 2, "cell_size": 4.0}
    with pytest.raises(SpecError, match=r"property\.name must be 'elasticity'"):
        load_spec(data)


# ----------------------------------------------- the records, statistics and the gap


def synthetic(spec, periodic, mixed, closed=()):
    """A finished study dataset with given isotropic values per (size, realization).

    ``periodic`` and ``mixed``: arrays (sizes, realizations) put on both
    diagonal entries; ``closed``: (size, realization) pairs whose pores do not
    percolate along axis 0 (k00 = 0 under both bcs).
    """
    ds = empty_dataset(spec)
    eye = np.eye(spec.ndim)
    mixed_off = np.where(eye == 1, 0.0, np.nan)
    values = ds["permeability"].values
    values[:, :, 0] = np.asarray(periodic)[..., None, None] * eye
    values[:, :, 1] = np.asarray(mixed)[..., None, None] * eye + mixed_off
    ds["percolating"].values[:] = 1
    for k, r in closed:
        values[k, r, :, 0, 0] = 0.0
        values[k, r, 0, 0, 1] = values[k, r, 0, 1, 0] = 0.0
        ds["percolating"].values[k, r, :, 0] = 0
    ds["porosity"].values[:] = 0.6
    ds["volume_fraction"].values[:] = 0.6
    ds["residual"].values[:] = 1e-10
    ds["status"].values[:] = STATUS["ok"]
    return ds


def test_non_percolating_windows_count_as_zero_with_their_fraction():
    spec = load_spec(spec_data())
    rng = np.random.default_rng(0)
    periodic = 1.0 + 0.1 * rng.standard_normal((3, 4))
    ds = synthetic(spec, periodic, 0.9 * periodic, closed=[(0, 1), (0, 3), (2, 0)])
    summary = permeability_summary(ds)
    # axis 0: 2 of 4 windows closed at L = 8, none at 12, 1 of 4 at 16; axis 1: none
    np.testing.assert_array_equal(summary["non_percolating_fraction"].values[:, 0, 0],
                                  [0.5, 0.0, 0.25])  # fmt: skip
    assert (summary["non_percolating_fraction"].values[..., 1] == 0).all()
    np.testing.assert_array_equal(summary["non_percolating_any"].values[:, 1], [0.5, 0.0, 0.25])
    numbers = key_numbers(ds)
    np.testing.assert_array_equal(numbers["non_percolating_fraction"].values[:, 0, 0],
                                  [0.5, 0.0, 0.25])  # fmt: skip
    # the mean counts the zeros: (k00 + k11) / 2 with k00 = 0 in the closed windows
    scalar = periodic.copy()
    scalar[0, [1, 3]] /= 2
    scalar[2, 0] /= 2
    np.testing.assert_allclose(numbers["mean"].sel(bc="periodic").values, scalar.mean(axis=1),
                               rtol=1e-14)  # fmt: skip
    assert np.isfinite(numbers["mean"].values).all()


def test_the_mixed_periodic_gap_is_paired_and_not_a_bracket():
    spec = load_spec(spec_data())
    rng = np.random.default_rng(1)
    periodic = 2.0 + 0.2 * rng.standard_normal((3, 4))
    shift = np.array([[0.3, 0.1, 0.2, 0.2], [-0.1, 0.1, 0.0, 0.05], [0.02, 0.0, 0.01, 0.03]])
    numbers = key_numbers(synthetic(spec, periodic, periodic + shift))
    gap = shift.mean(axis=1)
    half = stats.t.ppf(0.975, 3) * shift.std(axis=1, ddof=1) / 2  # n = 4: se = s / 2
    np.testing.assert_allclose(numbers["gap"].values, gap, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(numbers["gap_low"].values, gap - half, rtol=1e-12)
    np.testing.assert_allclose(numbers["gap_high"].values, gap + half, rtol=1e-12)
    np.testing.assert_allclose(numbers["relative_gap"].values, gap / periodic.mean(axis=1),
                               rtol=1e-12)  # fmt: skip
    assert "not a bracket" in numbers.attrs["gap"]
    assert "not a bracket" in numbers.attrs["bracket"] and int(numbers["bracket_checked"]) == 0
    # the error budget's BC bias is the size of the gap, for both bcs
    np.testing.assert_allclose(numbers["bc_bias"].sel(bc="mixed").values, np.abs(gap))
    assert np.isnan(float(numbers["voigt"])) and "no phase values" in numbers.attrs["bounds"]


def test_variance_law_integral_range_and_rve_size_on_permeability():
    """An exact law D²(V) = c/V: the fit finds γ = -d and the proxy's integral range."""
    spec = load_spec(spec_data(**{"sampling.realizations": 8}))
    sizes = np.array(spec.sizes, dtype=float)
    signs = np.tile([1.0, -1.0], 4)
    periodic = 3.0 + np.outer(2.0 / sizes, signs)  # variance 4/L² · n/(n - 1), mean 3
    numbers = key_numbers(synthetic(spec, periodic, periodic))
    n = 8
    variance = 4 / sizes**2 * n / (n - 1)
    np.testing.assert_allclose(numbers["variance"].sel(bc="periodic").values, variance,
                               rtol=1e-12)  # fmt: skip
    assert float(numbers["exponent"].sel(bc="periodic")) == pytest.approx(-2.0, abs=1e-9)
    # Kanit with the proxy point variance k̄²(1 - φ)/φ: A = V D²(V) / D²_point
    point = 3.0**2 * 0.4 / 0.6
    area = 4 * n / (n - 1) / point
    assert float(numbers["alpha"].sel(bc="periodic")) == pytest.approx(1.0, abs=1e-9)
    assert float(numbers["integral_range"].sel(bc="periodic")) == pytest.approx(area, rel=1e-9)
    assert "k̄²(1 − φ)/φ" in numbers.attrs["integral_range"]
    # RVE: two standard errors of one realization equal ε k̄ at L² = 4 D² L² / (ε k̄)²
    rve = numbers["rve_length"].sel(bc="periodic", relative_error=0.05, rve_realizations=1)
    expected = math.sqrt(4 * 4 * n / (n - 1) / (0.05 * 3.0) ** 2)
    assert float(rve) == pytest.approx(expected, rel=1e-6)


def test_dataset_has_the_flow_records():
    spec = load_spec(spec_data(**{"sampling.mode": "both", "sampling.parent_size": 32}))
    ds = empty_dataset(spec)
    assert ds["permeability"].dims == ("size", "realization", "sampling", "bc", "i", "j")
    assert ds["porosity"].dims == ("size", "realization", "sampling")
    assert ds["percolating"].dims == ("size", "realization", "sampling", "bc", "i")
    assert ds["symmetry_defect"].dims == ("size", "realization", "sampling", "bc")
    assert ds["permeability"].attrs["pore_label"] == 1
    assert "superficial" in ds["permeability"].attrs["long_name"]
    assert "MAC" in ds.attrs["discretization"]
    xr.testing.assert_equal(ds["status"], xr.zeros_like(ds["status"]))
    assert copy.deepcopy(spec) == spec
