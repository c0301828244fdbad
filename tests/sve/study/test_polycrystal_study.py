"""Polycrystal studies: the spec, the tasks, the shear-modulus statistics and the report."""

import json

import numpy as np
import pytest
import xarray as xr

import generators
from sve import write_report
from sve.solvers import (
    apparent_stiffness,
    cubic,
    cubic_polycrystal_shear_bounds,
    isotropic,
    isotropic_projection,
)
from sve.statistics import ensemble_statistics, isotropic_part
from sve.study import SpecError, load_spec, run_study
from sve.study.tasks import realization_rng, solve_batch

COPPER = {"c11": 168.4, "c12": 121.4, "c44": 75.4}


def _spec(ndim=3, **changes):
    data = {
        "name": "grains",
        "seed": 5,
        "medium": {"generator": "voronoi_polycrystal", "ndim": ndim, "cell_size": 3.0},
        "property": {"name": "elasticity", "crystal": dict(COPPER)},
        "sampling": {"sizes": [6, 9, 12] if ndim == 3 else [12, 18, 24], "realizations": 3},
        "solver": {"bc": ["kinematic", "periodic", "static"], "batch": 3},
    }
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        if value is None:
            del data[section][key]
        else:
            data[section][key] = value
    return data


def test_spec_reads_the_crystal_and_summarizes_the_shear_modulus_by_default():
    spec = load_spec(_spec())
    assert spec.polycrystal and spec.modulus == "shear" and spec.phases == ()
    np.testing.assert_array_equal(spec.crystal_stiffness(), cubic(**COPPER))
    assert np.isnan(spec.volume_fraction)
    assert type(spec).from_json(spec.to_json()) == spec
    assert load_spec(_spec(**{"property.modulus": "bulk"})).modulus == "bulk"


def test_two_phase_specs_keep_their_json_text():
    data = _spec()
    data["medium"] = {"generator": "voronoi_mosaic", "ndim": 3, "cell_size": 3.0,
                      "volume_fraction": 0.5}  # fmt: skip
    data["property"] = {"name": "elasticity", "phases": [{"E": 1.0, "nu": 0.3}] * 2}
    text = json.loads(load_spec(data).to_json())
    assert "crystal" not in text and "modulus" not in text  # existing stores resume


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("property.name", "conductivity", r"property\.name must be 'elasticity' for the "
         r"voronoi_polycrystal medium"),
        ("property.phases", [1.0, 2.0], r"property\.phases is not used by the "
         r"voronoi_polycrystal"),
        ("property.crystal", {"c11": 1.0, "c12": 0.5}, r"property\.crystal must be a table of "
         r"the cubic constants c11, c12, c44"),
        ("property.crystal", {"c11": 1.0, "c12": 2.0, "c44": 1.0}, r"property\.crystal: cubic "
         r"constants must satisfy c11 > \|c12\|"),
        ("property.crystal", {"c11": 1.0, "c12": 0.2, "c44": "x"}, r"property\.crystal\.c44 "
         r"must be a number"),
        ("property.crystal", None, r"missing field 'property\.crystal'"),
        ("property.modulus", "young", r"property\.modulus must be one of \('bulk', 'shear'\)"),
        ("medium.volume_fraction", 0.5, r"unknown field 'medium\.volume_fraction' for "
         r"generator 'voronoi_polycrystal'"),
        ("sampling.mode", "windows", r"sampling\.parent_size|sampling\.mode must be "
         r"'independent'"),
    ],
)  # fmt: skip
def test_bad_polycrystal_spec_names_the_field(field, value, message):
    with pytest.raises(SpecError, match=message):
        load_spec(_spec(**{field: value}))


def test_crystal_and_modulus_are_rejected_where_they_do_not_apply():
    data = _spec()
    data["medium"] = {"generator": "voronoi_mosaic", "ndim": 3, "cell_size": 3.0,
                      "volume_fraction": 0.5}  # fmt: skip
    with pytest.raises(SpecError, match=r"property\.crystal is only used by medium\.generator"):
        load_spec(data)
    data["property"] = {"name": "conductivity", "phases": [1.0, 2.0], "modulus": "shear"}
    with pytest.raises(SpecError, match=r"property\.modulus is only used by elasticity"):
        load_spec(data)
    data = _spec(**{"sampling.mode": "windows", "sampling.parent_size": 24})
    with pytest.raises(SpecError, match=r"sampling\.mode must be 'independent' for the "
                       r"voronoi_polycrystal medium"):  # fmt: skip
        load_spec(data)


def test_solve_batch_rotates_the_crystal_into_every_grain():
    spec = load_spec(_spec())
    out = solve_batch(spec, 6, range(1, 2))
    assert (out["status"] == 1).all() and np.isnan(out["volume_fraction"]).all()
    crystal = generators.voronoi_polycrystal(
        (6, 6, 6), 1 / 27, rng=realization_rng(spec.seed, 6, 1)
    )
    stack = generators.rotate_tensor(cubic(**COPPER), crystal.rotations)
    expected = apparent_stiffness(crystal.grain_ids, stack, bc="periodic", tol=spec.tol)
    np.testing.assert_array_equal(out["stiffness"][0, 1], expected.tensor)


@pytest.mark.parametrize("ndim", [2, 3])
def test_shear_part_is_the_voigt_shear_projection(ndim):
    rng = np.random.default_rng(ndim)
    m = 3 * (ndim - 1)
    a = rng.normal(size=(m, m))
    tensor = a @ a.T + m * np.eye(m)
    values = xr.DataArray(tensor, dims=("i", "j"), name="stiffness")
    projection = isotropic_projection(tensor)
    assert float(isotropic_part(values, "shear")) == pytest.approx(projection.shear_voigt)
    assert float(isotropic_part(values, "bulk")) == pytest.approx(projection.bulk_voigt)
    iso = xr.DataArray(isotropic(ndim, K=3.0, G=1.25), dims=("i", "j"), name="stiffness")
    assert float(isotropic_part(iso, "shear")) == pytest.approx(1.25, rel=1e-14)
    with pytest.raises(ValueError, match="modulus must be one of"):
        isotropic_part(values, "young")


@pytest.mark.slow
def test_polycrystal_study_runs_and_reports(tmp_path):
    spec = load_spec(_spec())
    ds = run_study(spec, store=tmp_path / "grains.zarr", workers=1)
    assert (ds["status"] == 1).all()
    assert ds["stiffness"].attrs["modulus"] == "shear"
    # the bulk modulus is exact in every SVE under every condition: to solver tolerance
    bulk = isotropic_part(ds["stiffness"], "bulk")
    exact = (COPPER["c11"] + 2 * COPPER["c12"]) / 3
    assert float(np.abs(bulk / exact - 1).max()) < 10 * spec.tol
    # the statistics summarize G; per image static <= periodic <= kinematic (Huet)
    shear = isotropic_part(ds["stiffness"], "shear")
    stats = ensemble_statistics(ds)
    np.testing.assert_allclose(stats["mean"], shear.mean("realization"), rtol=1e-14)
    tol = 1e-6 * float(shear.max())
    assert bool((shear.sel(bc="static") <= shear.sel(bc="periodic") + tol).all())
    assert bool((shear.sel(bc="periodic") <= shear.sel(bc="kinematic") + tol).all())

    written = write_report(ds, tmp_path / "report")
    text = written.markdown.read_text()
    assert "shear modulus" in text and "grains.png" in text and "s2.png" not in text
    assert set(written.figures) == {"thumbnails", "grains", "mean_vs_size", "variance_vs_size"}
    assert all(path.is_file() for path in written.figures.values())
    numbers = written.numbers
    assert (float(numbers["hs_lower"]), float(numbers["hs_upper"])) == (
        cubic_polycrystal_shear_bounds(**COPPER)
    )
    assert float(numbers["bulk_exact"]) == pytest.approx(exact, rel=1e-14)
    assert float(numbers["bulk_max_deviation"]) < 10 * spec.tol
    assert np.isnan(numbers["integral_range"]).all() and np.isfinite(numbers["alpha"]).all()
    diagonal = numbers["component_mean"].sel(bc="periodic").isel(size=-1)
    assert diagonal.sizes["component"] == 6
