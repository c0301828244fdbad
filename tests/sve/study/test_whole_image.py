"""The whole image of an image windows study: solved when it fits, else extrapolated.

Both branches on a tiny generated image (the repository ships no measured
data): the solved value is the solver's own on the whole image, bit for bit;
``solver.memory_limit`` just under the whole image's memory estimate forces
the extrapolation, flagged in the dataset, the key numbers and the report.
"""

import json

import numpy as np
import pytest

from sve.solvers import apparent_conductivity
from sve.study import image as image_module
from sve.study import load_spec, run_study
from sve.study.schema import empty_dataset
from sve.study.tasks import solve_batch
from sve.study.whole import (
    WHOLE_IMAGE_ATTR,
    WHOLE_IMAGE_BUDGET_ATTR,
    solve_whole_image,
    whole_image_estimate,
)
from tests.sve.study.test_image_study import level_cut, spec_data, write


@pytest.fixture(autouse=True)
def _fresh_cache():
    image_module._cached_source.cache_clear()
    image_module._scan_cached.cache_clear()
    yield
    image_module._cached_source.cache_clear()


def _data(tmp_path, **solver):
    labels = level_cut((48, 48), seed=3)
    data = spec_data(write(labels, tmp_path, "npy"), sizes=[6, 12, 24], realizations=16)
    data["solver"].update(bc=["kinematic", "mixed"], **solver)
    return labels, data


def _dataset(spec, outcome):
    ds = empty_dataset(spec)
    for k, size in enumerate(spec.sizes):
        for name, values in solve_batch(spec, size, range(spec.realizations)).items():
            ds[name].values[k] = values
    budget = {key: outcome.pop(key) for key in ("budget_bytes", "wall_time")}
    ds.attrs[WHOLE_IMAGE_ATTR] = json.dumps(outcome)
    ds.attrs[WHOLE_IMAGE_BUDGET_ATTR] = json.dumps(budget)
    return ds


def test_a_tiny_image_is_solved_whole_and_its_value_reported(tmp_path):
    """Within the budget the whole image is solved: its tensor is the solver's own on the
    48^2 image (bit for bit), and the report's value at the image's size is its tr(K)/2,
    with the spread of the variance law unchanged (the same fit)."""
    from sve.report import key_numbers

    labels, data = _data(tmp_path)
    spec = load_spec(data)
    outcome = solve_whole_image(spec)
    assert outcome["mode"] == "solved" and outcome["reason"] == ""
    assert outcome["estimate_bytes"] == whole_image_estimate(spec)
    for b, bc in enumerate(spec.bc):
        exact = apparent_conductivity(labels, [1.0, 10.0], bc=bc, tol=spec.tol).tensor
        np.testing.assert_array_equal(np.array(outcome["tensor"][b]), exact)
        assert outcome["converged"][b]
    assert outcome["volume_fraction"] == np.count_nonzero(labels) / labels.size
    ds = _dataset(spec, dict(outcome))
    numbers = key_numbers(ds)
    assert numbers.attrs["image_value"].startswith("solved: the whole image")
    for b, bc in enumerate(spec.bc):
        s = numbers.sel(bc=bc)
        tensor = np.array(outcome["tensor"][b])
        assert float(s["image_value"]) == pytest.approx(np.trace(tensor) / 2, rel=1e-15)
        assert float(s["image_value"]) != float(s["mean"].isel(size=-1))
    # the same dataset without the solve: the windows' mean, the same spread
    ds.attrs[WHOLE_IMAGE_ATTR] = json.dumps({**outcome, "mode": "extrapolated", "reason": "x"})
    other = key_numbers(ds)
    assert other.attrs["image_value"].startswith("extrapolated")
    for bc in spec.bc:
        a, b = numbers.sel(bc=bc), other.sel(bc=bc)
        assert float(b["image_value"]) == float(b["mean"].isel(size=-1))
        np.testing.assert_allclose(
            float(a["image_value_high"] - a["image_value"]),
            float(b["image_value_high"] - b["image_value"]), rtol=1e-12,
        )  # fmt: skip


def test_a_memory_limit_below_the_whole_image_forces_the_extrapolation(tmp_path):
    """solver.memory_limit 1 kB under the whole image's estimate (the windows fit it): the
    whole image is not solved, the dataset and key numbers say "extrapolated", the value
    is the mean of the largest windows, and the report says EXTRAPOLATED at the top."""
    from sve.report import key_numbers, write_report

    _, data = _data(tmp_path)
    needed = whole_image_estimate(load_spec(data))
    _, data = _data(tmp_path, memory_limit=needed - 1000)
    spec = load_spec(data)
    outcome = solve_whole_image(spec)
    assert outcome["mode"] == "extrapolated" and outcome["budget_bytes"] == needed - 1000
    assert "over the memory budget (solver.memory_limit)" in outcome["reason"]
    assert "tensor" not in outcome
    ds = _dataset(spec, dict(outcome))
    assert json.loads(ds.attrs[WHOLE_IMAGE_ATTR])["mode"] == "extrapolated"
    numbers = key_numbers(ds)
    assert numbers.attrs["image_value"].startswith("extrapolated")
    for bc in spec.bc:
        s = numbers.sel(bc=bc)
        assert float(s["image_value"]) == float(s["mean"].isel(size=-1))
    write_report(ds, tmp_path / "report")
    top = (tmp_path / "report" / "report.md").read_text().split("## ")[0]
    assert "EXTRAPOLATED (the whole image exceeds the memory budget" in top


@pytest.mark.slow
def test_run_study_solves_the_whole_image_once(tmp_path):
    """run_study on 1 worker: the whole image is solved, stored, and not solved again on
    resume; the stored tensor is the solver's own."""
    labels, data = _data(tmp_path)
    store = tmp_path / "study.zarr"
    ds = run_study(data, store=store, workers=1)
    outcome = json.loads(ds.attrs[WHOLE_IMAGE_ATTR])
    assert outcome["mode"] == "solved"
    exact = apparent_conductivity(labels, [1.0, 10.0], bc="mixed", tol=1e-8).tensor
    np.testing.assert_array_equal(np.array(outcome["tensor"][1]), exact)
    budget = json.loads(ds.attrs[WHOLE_IMAGE_BUDGET_ATTR])
    assert budget["budget_bytes"] > outcome["estimate_bytes"]
    again = run_study(data, store=store, workers=1)
    assert again.attrs[WHOLE_IMAGE_BUDGET_ATTR] == ds.attrs[WHOLE_IMAGE_BUDGET_ATTR]
    assert again.attrs[WHOLE_IMAGE_ATTR] == ds.attrs[WHOLE_IMAGE_ATTR]
    np.testing.assert_array_equal(again["conductivity"].values, ds["conductivity"].values)
