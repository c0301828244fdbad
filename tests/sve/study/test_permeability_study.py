"""Permeability studies: the spec, the records, the statistics, the gap and the report."""

import copy
import json
import math
import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from sve import write_report
from sve.report import key_numbers
from sve.solvers import UnresolvedThroatWarning, apparent_permeability
from sve.study import SpecError, load_spec, open_study, run_study
from sve.study.percolation import permeability_summary
from sve.study.schema import STATUS, empty_dataset
from sve.study.tasks import flow_options, solve_batch, sve_microstructure, window_origin


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
    # periodic only: the mixed-only fields stay out of the stored text, which reads back
    periodic = load_spec(spec_data(**{"solver.bc": ["periodic"]}))
    assert "walls" not in periodic.to_dict()["property"]
    assert type(periodic).from_json(periodic.to_json()) == periodic


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
    ds["throat"].values[:] = 6.0
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


# ------------------------------------------------- solved records (the real solver)


def solved(spec):
    """Every record of the study solved in this process, without Dask."""
    ds = empty_dataset(spec)
    for k, size in enumerate(spec.sizes):
        for name, values in solve_batch(spec, size, range(spec.realizations)).items():
            ds[name].values[k] = values
    return ds


def test_records_are_the_solver_on_the_regenerated_sves():
    spec = load_spec(spec_data(**{"sampling.sizes": [16], "sampling.realizations": 2}))
    out = solve_batch(spec, 16, range(1, 3))
    assert (out["status"] == STATUS["ok"]).all()
    sve = sve_microstructure(spec, 16, 2)
    assert out["porosity"][1] == np.count_nonzero(sve.labels == 1) / 16**2
    with warnings.catch_warnings():  # narrow throats at 16 voxels: expected here
        warnings.simplefilter("ignore", UnresolvedThroatWarning)
        direct = apparent_permeability(sve, bc="periodic", **flow_options(spec))
    np.testing.assert_array_equal(out["permeability"][1, 0], direct.tensor)
    assert out["iterations"][1, 0] == max(direct.iterations)
    np.testing.assert_array_equal(out["percolating"][1, 0], direct.percolating)
    assert out["throat"][1, 0] == direct.throat or np.isnan(direct.throat)
    periodic = out["permeability"][:, 0]
    # the periodic tensor is symmetric to the solver tolerance (1e-8) and positive
    # semi-definite; mixed gives the diagonal only
    assert np.abs(periodic - periodic.transpose(0, 2, 1)).max() <= 1e-6 * np.abs(periodic).max()
    assert (np.linalg.eigvalsh(0.5 * (periodic + periodic.transpose(0, 2, 1))) >= -1e-12).all()
    mixed = out["permeability"][:, 1]
    assert np.isnan(mixed[:, 0, 1]).all() and np.isfinite(np.diagonal(mixed, 0, 1, 2)).all()


def channel_image(h, period, n):
    """Pores (phase 0) in straight channels of h voxels along axis 1, one per period
    along axis 0; the right half of the image has no channel across, the left half a
    crossing row of pores at x1 = 2 (so its tiles percolate along axis 0 too).
    """
    labels = np.ones((n, n), np.int8)
    for start in range(0, n, period):
        labels[start : start + h] = 0
    labels[:, : n // 2][:, 2:3] = 0
    return labels


@pytest.mark.slow
def test_image_windows_count_non_percolating_tiles_as_zero(tmp_path):
    labels = channel_image(h=4, period=8, n=32)
    np.save(tmp_path / "pores.npy", labels)
    data = spec_data(**{"sampling.sizes": [16], "sampling.realizations": 4})
    data["medium"] = {"image": str(tmp_path / "pores.npy"), "voxel_size": 0.5, "unit": "um"}
    data["property"]["pore_label"] = 0
    spec = load_spec(data)
    ds = solved(spec)
    assert (ds["status"] == STATUS["ok"]).all()
    left = [w for w in range(4) if window_origin(spec, 16, w)[1] == 0]
    right = [w for w in range(4) if w not in left]
    assert len(left) == len(right) == 2
    # across the channels (axis 0) the right tiles do not percolate: k00 = 0 exactly
    assert (ds["percolating"].values[0, right, :, 0] == 0).all()
    assert (ds["permeability"].values[0, right, :, 0, 0] == 0).all()
    assert (ds["percolating"].values[0, :, :, 1] == 1).all()
    summary = permeability_summary(ds)
    np.testing.assert_array_equal(summary["non_percolating_fraction"].values[0, :, 0], 0.5)
    np.testing.assert_array_equal(summary["non_percolating_fraction"].values[0, :, 1], 0.0)
    # along the channels, right tiles: plane Poiseuille flow, superficial k = h³/(12 H)
    # in length², h = 4 voxels of 0.5 um in a period H = 8 voxels; the MAC grid gives
    # k (1 + 2/h²) exactly (its ghost-value wall: second order in 1/h), so 12.5 % above
    # at h = 4; to the solver tolerance 1e-8 (measured: 3e-16 relative, both bcs)
    exact = (4 * 0.5) ** 3 / (12 * 8 * 0.5)
    k11 = ds["permeability"].values[0, right, :, 1, 1]
    np.testing.assert_allclose(k11, exact * (1 + 2 / 4**2), rtol=1e-7)
    # straight channels along the drop: no-slip side walls are the channel's own walls,
    # so the mixed value equals the periodic one (no hierarchy, but no gap either here)
    numbers = key_numbers(ds)
    assert np.isfinite(numbers["mean"].values).all()
    np.testing.assert_array_equal(numbers["non_percolating_fraction"].values[0, :, 0], 0.5)


@pytest.mark.slow
def test_report_has_the_flow_figure_and_the_gap(tmp_path):
    spec = load_spec(spec_data(**{"sampling.sizes": [8, 12, 16], "sampling.realizations": 3}))
    ds = solved(spec)
    written = write_report(ds, tmp_path / "report")
    assert written.figures["flow"].is_file() and (tmp_path / "report" / "flow.svg").is_file()
    text = written.markdown.read_text()
    assert "## Flow: boundary-condition gap and percolation" in text
    assert "mixed − periodic" in text and "not a bracket" in text
    assert "![velocity magnitude in one SVE](flow.png)" in text
    gap = written.numbers["gap"].values
    scalar = ds["permeability"].where(ds["i"] == ds["j"]).sum(("i", "j")) / 2
    expected = (scalar.sel(bc="mixed") - scalar.sel(bc="periodic")).mean("realization").values
    np.testing.assert_allclose(gap, expected, rtol=1e-12)
    html = written.html.read_text()
    assert html.count("data:image/png;base64,") == 5  # thumbnails, s2, mean, variance, flow


@pytest.mark.slow
def test_study_resumes_and_is_the_same_on_one_and_two_workers(tmp_path):
    data = spec_data(**{"sampling.sizes": [8, 12, 16], "sampling.realizations": 4})
    store = tmp_path / "flow.zarr"
    one = run_study(copy.deepcopy(data), store=store, workers=1)
    assert (one["status"] == STATUS["ok"]).all()
    reference = solved(load_spec(data))
    for name in ("porosity", "percolating", "status"):
        np.testing.assert_array_equal(one[name].values, reference[name].values)
    # in this process against a Dask worker: equal to rounding only (measured 1.2e-14
    # relative): MINRES's dot products go through BLAS, whose thread count differs there
    # (Dask workers run BLAS on one thread); workers among themselves are bit-identical
    np.testing.assert_allclose(one["permeability"].values, reference["permeability"].values,
                               rtol=1e-12, atol=1e-15)  # fmt: skip
    before = open_study(store).load()
    again = run_study(copy.deepcopy(data), store=store, workers=2)  # nothing left to do
    after = open_study(store).load()
    xr.testing.assert_identical(after.drop_attrs(), before.drop_attrs())
    assert len(json.loads(after.attrs["runs"])) == 1  # a call with no work records no run
    two = run_study(copy.deepcopy(data), workers=2)
    xr.testing.assert_identical(results(one), results(two))
    xr.testing.assert_identical(results(again), results(one))


def results(ds):
    """The computed content: no timings, no run provenance."""
    out = ds.drop_vars(["wall_time"])
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "runs"}
    return out


def test_windows_without_pores_or_without_solid(tmp_path):
    """A window without a pore voxel is k = 0, solved and not percolating; one without a
    solid voxel (infinite k, refused by the solver) is failed with the solver's message,
    and neither spoils the other records of the batch.
    """
    labels = np.ones((4, 12), np.int8)  # tiles of 4: solid | channel | pores only
    labels[0:2, 4:8] = 0
    labels[:, 8:12] = 0
    np.save(tmp_path / "tiles.npy", labels)
    data = spec_data(**{"sampling.sizes": [4], "sampling.realizations": 3})
    data["medium"] = {"image": str(tmp_path / "tiles.npy"), "voxel_size": 1.0, "unit": "um"}
    data["property"]["pore_label"] = 0
    spec = load_spec(data)
    assert [window_origin(spec, 4, w)[1] for w in range(3)] == [0, 4, 8]
    out = solve_batch(spec, 4, range(3))
    solid, channel, empty = 0, 1, 2
    assert (out["status"][solid] == STATUS["ok"]).all() and (out["percolating"][solid] == 0).all()
    np.testing.assert_array_equal(out["permeability"][solid, 0], np.zeros((2, 2)))
    mixed = out["permeability"][solid, 1]
    assert mixed[0, 0] == mixed[1, 1] == 0 and np.isnan(mixed[0, 1])
    assert out["porosity"][solid] == 0
    assert (out["status"][channel] == STATUS["ok"]).all()
    # a channel of 2 voxels in a period of 4 along axis 1: k11 = 2³/(12·4) (1 + 2/2²)
    np.testing.assert_allclose(out["permeability"][channel, :, 1, 1], 8 / 48 * 1.5, rtol=1e-7)
    assert (out["permeability"][channel, :, 0, 0] == 0).all()
    # no solid: periodic k is infinite (refused, failed); mixed has its no-slip side walls,
    # a plane channel 4 wide: k = 4²/12 (1 + 2/4²) = 1.5 along both axes
    assert out["status"][empty, 0] == STATUS["failed"] and out["status"][empty, 1] == STATUS["ok"]
    assert "solid" in out["error"][empty] and out["error"][channel] == ""
    np.testing.assert_allclose(np.diagonal(out["permeability"][empty, 1]), 1.5, rtol=1e-7)
