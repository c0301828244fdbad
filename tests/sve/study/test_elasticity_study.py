"""Elasticity studies: the spec, the tasks, the statistics' bulk modulus and the report."""

import numpy as np
import pytest

from sve import write_report
from sve.solvers import (
    apparent_stiffness,
    hashin_shtrikman_bulk_bounds,
    isotropic,
    isotropic_projection,
)
from sve.statistics import ensemble_statistics, isotropic_part
from sve.study import SpecError, load_spec, run_study
from sve.study.tasks import generate_sve, solve_batch

PHASES = [{"E": 1.0, "nu": 0.3}, {"K": 8.0, "G": 3.0}]


def _spec(**changes):
    data = {
        "name": "elastic",
        "seed": 3,
        "medium": {
            "generator": "gaussian_level_cut",
            "ndim": 2,
            "covariance": "gaussian",
            "correlation_length": 1.5,
            "volume_fraction": 0.5,
        },
        "property": {"name": "elasticity", "phases": PHASES},
        "sampling": {"sizes": [6, 9, 12], "realizations": 4},
        "solver": {"bc": ["kinematic", "periodic", "static", "mixed"], "batch": 2},
    }
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        data[section][key] = value
    return data


def test_spec_reads_isotropic_moduli_per_phase():
    spec = load_spec(_spec())
    assert spec.property == "elasticity" and spec.variable == "stiffness"
    assert spec.tensor_size == 3
    np.testing.assert_allclose(spec.phase_stiffness()[1], isotropic(2, K=8.0, G=3.0))
    # the summarized scalar of each phase: the plane-strain bulk modulus lam + mu
    lam, mu = 8.0 - 2.0 * 3.0 / 3.0, 3.0
    assert spec.phase_scalars[1] == pytest.approx(lam + mu, rel=1e-14)
    assert load_spec(spec.to_json() and _spec()) == spec  # JSON round trip keeps the tables
    assert type(spec).from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("property.phases", [{"E": 1.0, "nu": 0.5}, PHASES[1]], r"property\.phases\[0\]: nu"),
        ("property.phases", [PHASES[0], {"K": -1.0, "G": 1.0}], r"property\.phases\[1\]: K"),
        ("property.phases", [PHASES[0], {"E": 1.0}], r"property\.phases\[1\]: isotropic moduli"),
        ("property.phases", [1.0, 10.0], r"property\.phases\[0\] must be a table"),
        ("property.name", "viscosity", r"property\.name must be one of"),
        ("solver.discretization", "fv", r"'q1' for elasticity"),
        ("solver.bc", ["sideways"], r"solver\.bc"),
    ],
)
def test_bad_elasticity_spec_names_the_field(field, value, message):
    with pytest.raises(SpecError, match=message):
        load_spec(_spec(**{field: value}))


def test_solve_batch_stores_the_mandel_stiffness():
    spec = load_spec(_spec())
    out = solve_batch(spec, 9, range(1, 3))
    assert out["stiffness"].shape == (2, 4, 3, 3)
    assert (out["status"] == 1).all()
    phases = generate_sve(spec, 9, 2)
    for b, bc in enumerate(spec.bc):
        expected = apparent_stiffness(phases, spec.phase_stiffness(), bc=bc)
        np.testing.assert_array_equal(out["stiffness"][1, b], expected.tensor)
    mixed = out["stiffness"][:, spec.bc.index("mixed")]
    # the normal block and the shear entry are defined, not their coupling
    assert np.isnan(mixed[:, 2, :2]).all() and np.isnan(mixed[:, :2, 2]).all()
    assert np.isfinite(mixed[:, :2, :2]).all() and np.isfinite(mixed[:, 2, 2]).all()


@pytest.mark.slow
def test_elasticity_study_runs_and_reports(tmp_path):
    spec = load_spec(_spec())
    ds = run_study(spec, store=tmp_path / "elastic.zarr", workers=1)
    assert (ds["status"] == 1).all()
    assert ds["stiffness"].sizes["i"] == 3 and ds["stiffness"].attrs["notation"] == "mandel"
    bulk = isotropic_part(ds["stiffness"])
    # the scalar is the Voigt-type bulk projection of each apparent tensor (mixed: normal block)
    tensor = ds["stiffness"].sel(bc="periodic").values[1, 0]
    assert float(bulk.sel(bc="periodic")[1, 0]) == pytest.approx(
        isotropic_projection(tensor).bulk_voigt, rel=1e-12
    )
    # Voigt and Reuss bound every apparent bulk modulus, whatever the BC and the realization
    # (C <= <C> and C >= <C^-1>^-1 as quadratic forms); 1e-9: solver tolerance 1e-6 on
    # energies, far inside the gap between the bounds
    k0, k1 = spec.phase_scalars
    phi = ds["volume_fraction"]
    voigt = (1 - phi) * k0 + phi * k1
    reuss = 1.0 / ((1 - phi) / k0 + phi / k1)
    assert bool(((bulk <= voigt * (1 + 1e-6)) & (bulk >= reuss * (1 - 1e-6))).all())
    # the hierarchy static <= mixed <= kinematic and static <= periodic <= kinematic, per image
    tol = 1e-6 * float(bulk.max())
    for lower, upper in (("static", "periodic"), ("periodic", "kinematic"),
                         ("static", "mixed"), ("mixed", "kinematic")):  # fmt: skip
        assert bool((bulk.sel(bc=lower) <= bulk.sel(bc=upper) + tol).all())

    written = write_report(ds, tmp_path / "report")
    text = written.markdown.read_text()
    stats = ensemble_statistics(ds)
    mean = float(stats["mean"].sel(bc="periodic").isel(size=-1))
    assert f"{mean:.5g}" in text and "bulk modulus" in text
    lower, upper = hashin_shtrikman_bulk_bounds(
        [0.5, 0.5], list(spec.phase_scalars), list(spec.phase_shear()), 2
    )
    assert float(written.numbers["hs_lower"]) == lower
    assert float(written.numbers["hs_upper"]) == upper
    assert np.isnan(float(written.numbers["dykhne"]))
