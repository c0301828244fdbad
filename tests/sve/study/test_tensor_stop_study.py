"""Studies that stop each solve on the estimated accuracy of the tensor (solver.stop)."""

import json

import numpy as np
import pytest

from sve import apparent_conductivity
from sve.statistics import error_budget
from sve.study import SpecError, StudySpec, load_spec, run_study
from sve.study.spec import FLAT_FIELDS
from sve.study.tasks import generate_sve, solve_batch


def _spec(**solver):
    return {
        "name": "tensor-stop",
        "seed": 3,
        "medium": {
            "generator": "gaussian_level_cut",
            "ndim": 2,
            "covariance": "gaussian",
            "correlation_length": 2.0,
            "volume_fraction": 0.5,
        },  # fmt: skip
        "property": {"name": "conductivity", "phases": [1.0, 100.0]},
        "sampling": {"sizes": [8, 12, 16], "realizations": 3},
        "solver": {"bc": ["kinematic", "periodic", "static"], "tol": 1e-4, **solver},
    }


def test_stop_is_validated_and_stores_written_without_it_resume():
    spec = load_spec(_spec())
    assert json.loads(spec.to_json())["solver"]["stop"] == "residual"
    # a store of before solver.stop existed: flat spec text (schema version 1) without "stop"
    flat = {key: getattr(spec, key) for key in FLAT_FIELDS if key not in ("stop", "sweep_field",
            "sweep_values", "sampling_mode", "parent_size", "adaptive_target",
            "max_realizations", "modulus", "crystal")}  # fmt: skip
    text = json.dumps({**flat, "name": spec.name, "seed": spec.seed, "medium": dict(spec.medium)})
    assert StudySpec.from_json(text) == spec
    assert load_spec(_spec(stop="tensor")).stop == "tensor"
    with pytest.raises(SpecError, match=r"solver\.stop must be one of \('residual', 'tensor'\)"):
        load_spec(_spec(stop="energy"))
    data = _spec(stop="tensor")
    data["property"] = {"name": "elasticity", "phases": [{"E": 1.0, "nu": 0.3}] * 2}
    with pytest.raises(SpecError, match=r"solver\.stop must be 'residual' for elasticity"):
        load_spec(data)


def test_solve_batch_records_the_estimated_tensor_accuracy():
    spec = load_spec(_spec(stop="tensor"))
    out = solve_batch(spec, 12, range(2))
    assert (out["status"] == 1).all()
    assert "tensor_accuracy" not in solve_batch(load_spec(_spec()), 8, range(1))
    phases = generate_sve(spec, 12, 1)
    for b, bc in enumerate(spec.bc):
        expected = apparent_conductivity(phases, [1.0, 100.0], bc=bc, tol=1e-4, stop="tensor")
        np.testing.assert_array_equal(out["conductivity"][1, b], expected.tensor)
        assert out["tensor_accuracy"][1, b] == expected.tensor_accuracy
    assert np.all((out["tensor_accuracy"] > 0) & (out["tensor_accuracy"] <= 1e-4))


@pytest.mark.slow
def test_budget_of_a_tensor_stop_study_uses_the_estimated_accuracy(tmp_path):
    ds = run_study(load_spec(_spec(stop="tensor")), store=tmp_path / "t.zarr", workers=1)
    assert (ds["status"] == 1).all() and np.isfinite(ds["tensor_accuracy"]).all()
    budget = error_budget(ds)
    norm = np.sqrt((ds["conductivity"] ** 2).sum(("i", "j")))
    expected = (ds["tensor_accuracy"] * norm).max("realization")
    np.testing.assert_allclose(budget["solver"], expected, rtol=1e-14)
    # a bound on every entry's error, at most tol times the largest tensor norm
    assert bool((budget["solver"] <= 1e-4 * norm.max("realization")).all())
