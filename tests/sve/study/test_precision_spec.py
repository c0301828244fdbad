"""``solver.precision``: validated, kept through JSON, passed to the conductivity solver."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

from sve.study import SpecError, StudySpec, load_spec
from sve.study.tasks import solve_batch

LEVEL_CUT_3D = Path(__file__).parents[3] / "studies" / "level_cut_3d.toml"


def base() -> dict:
    return tomllib.loads(LEVEL_CUT_3D.read_text())


def test_double_by_default_and_single_kept_through_json():
    assert load_spec(base()).solver.precision == "double"
    data = base()
    data["solver"]["precision"] = "single"
    spec = load_spec(data)
    assert spec.precision == "single"
    assert StudySpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"precision": "half"}, "solver.precision must be one of"),
        ({"precision": "single", "tol": 1e-9}, "solver.tol must be >= 1e-08"),
        ({"precision": "single", "stop": "tensor"}, "needs solver.stop = 'residual'"),
    ],
)
def test_bad_values_are_refused(change, match):
    data = base()
    data["solver"].update(change)
    with pytest.raises(SpecError, match=match):
        load_spec(data)


def test_tasks_solve_in_single_precision_within_tolerance():
    """Same SVE, both precisions: tensors within max(1e-5, 10 tol) relative (tol 1e-6)."""
    data = base()
    batches = {}
    for precision in ("double", "single"):
        data["solver"]["precision"] = precision
        spec = load_spec(data)
        batches[precision] = solve_batch(spec, 8, range(1))[spec.variable]
    double, single = batches["double"], batches["single"]
    assert np.all(np.isfinite(single))
    assert np.linalg.norm(single - double) <= 1e-5 * np.linalg.norm(double)
    assert not np.array_equal(single, double)  # the option reached the solver
