"""Studies that store the per-phase moments of the local fields (property.field_moments)."""

import json

import numpy as np
import pytest
import xarray as xr

from sve import apparent_conductivity, apparent_stiffness
from sve.study import SpecError, StudySpec, load_spec, run_study
from sve.study.schema import empty_dataset
from sve.study.tasks import generate_sve, solve_batch


def _spec(prop="conductivity", **extra):
    phases = (
        [1.0, 10.0] if prop == "conductivity" else [{"E": 1.0, "nu": 0.3}, {"K": 8.0, "G": 3.0}]
    )
    return {
        "name": "moments",
        "seed": 4,
        "medium": {
            "generator": "gaussian_level_cut",
            "ndim": 2,
            "covariance": "gaussian",
            "correlation_length": 1.5,
            "volume_fraction": 0.5,
        },
        "property": {"name": prop, "phases": phases, **extra},
        "sampling": {"sizes": [6, 8], "realizations": 2},
        "solver": {"bc": ["periodic", "static"], "tol": 1e-10},
    }


def test_spec_field_is_validated_and_left_out_of_the_json_when_off():
    plain = load_spec(_spec())
    assert plain.field_moments is False
    assert "field_moments" not in json.loads(plain.to_json())["property"]
    spec = load_spec(_spec(field_moments=True))
    assert spec.field_moments is True
    assert StudySpec.from_json(spec.to_json()) == spec
    with pytest.raises(SpecError, match=r"property\.field_moments must be true or false"):
        load_spec(_spec(field_moments="yes"))
    data = _spec(field_moments=True)
    data["property"] = {
        "name": "elasticity",
        "crystal": {"c11": 168.4, "c12": 121.4, "c44": 75.4},
        "field_moments": True,
    }
    data["medium"] = {"generator": "voronoi_polycrystal", "ndim": 2, "cell_size": 3.0}
    data["sampling"]["sizes"] = [6, 9]
    with pytest.raises(SpecError, match=r"property\.field_moments is for two-phase media"):
        load_spec(data)


@pytest.mark.parametrize("prop", ["conductivity", "elasticity"])
def test_solve_batch_stores_the_solver_moments_per_phase(prop):
    spec = load_spec(_spec(prop, field_moments=True))
    out = solve_batch(spec, 8, range(2))
    assert "phase_energy" not in solve_batch(load_spec(_spec(prop)), 6, range(1))
    m = spec.tensor_size
    names = (
        ("mean_gradient", "mean_flux", "gradient_moment", "flux_moment", "energy")
        if prop == "conductivity"
        else ("mean_strain", "mean_stress", "strain_moment", "stress_moment", "energy")
    )
    assert out["phase_mean_" + names[1][5:]].shape == (2, 2, m, 2, m)
    assert out["phase_" + names[2]].shape == (2, 2, m, 2, m, m)
    assert out["phase_energy"].shape == (2, 2, m, 2)
    phases = generate_sve(spec, 8, 1)
    for b, bc in enumerate(spec.bc):
        if prop == "conductivity":
            result = apparent_conductivity(phases, [1.0, 10.0], bc=bc, tol=1e-10, fields="summary")
        else:
            result = apparent_stiffness(
                phases, spec.phase_stiffness(), bc=bc, tol=1e-10, fields="summary"
            )
        moments = result.phase_moments
        assert moments.labels.tolist() == [0, 1]
        for name in names:
            np.testing.assert_array_equal(out["phase_" + name][1, b], getattr(moments, name))
        # the phases weight back to the apparent energy of every load case
        phi = np.array([1 - out["volume_fraction"][1], out["volume_fraction"][1]])
        energy = out["phase_energy"][1, b] @ phi
        if bc == "periodic":
            np.testing.assert_allclose(energy, np.diag(out[spec.variable][1, b]), rtol=1e-8)


def test_the_dataset_has_the_moment_variables_only_when_asked():
    spec = load_spec(_spec(field_moments=True))
    ds = empty_dataset(spec)
    record = ("size", "realization", "bc", "load_case", "phase")
    assert ds["phase_flux_moment"].dims == (*record, "i", "j")
    assert ds["phase_mean_flux"].dims == (*record, "i")
    assert ds["phase_energy"].dims == record
    assert ds["phase_energy"].attrs["units"] == "same as property.phases"
    assert ds["phase"].values.tolist() == [0, 1]
    assert "phase_energy" not in empty_dataset(load_spec(_spec()))


@pytest.mark.slow
def test_a_study_writes_the_moments_into_its_dataset(tmp_path):
    spec = load_spec(_spec(field_moments=True))
    ds = run_study(spec, store=tmp_path / "m.zarr", workers=1)
    assert (ds["status"] == 1).all()
    assert np.isfinite(ds["phase_mean_gradient"]).all()
    # <g> = E under periodic conditions: the volume-weighted phase means
    phi = xr_phase_fractions(ds)
    total = (ds["phase_mean_gradient"].sel(bc="periodic") * phi).sum("phase")
    np.testing.assert_allclose(total.values, np.broadcast_to(np.eye(2), total.shape), atol=1e-10)


def xr_phase_fractions(ds):
    """The volume fraction of phases 0 and 1 per record, along ``phase``."""
    fraction = ds["volume_fraction"]
    return xr.concat([1 - fraction, fraction], dim="phase")
