"""Sampling mode "windows of one large parent" (and "both"): spec, seeds, tasks, dataset."""

import copy
import json

import numpy as np
import pytest
import xarray as xr

from sve.study import SpecError, load_spec
from sve.study.media import draw_medium
from sve.study.schema import completed, empty_dataset
from sve.study.spec import MAX_PARENT_VOXELS
from sve.study.store import create_store, open_group, open_study, write_records
from sve.study.tasks import (
    STATUS,
    generate_parent,
    generate_sve,
    parent_rng,
    realization_rng,
    solve_batch,
    window_count,
    window_origin,
)

SPEC = {
    "name": "windows",
    "seed": 3,
    "medium": {
        "generator": "gaussian_level_cut",
        "ndim": 2,
        "covariance": "exponential",
        "correlation_length": 1.0,
        "volume_fraction": 0.5,
    },
    "property": {"name": "conductivity", "phases": [1.0, 10.0]},
    "sampling": {"sizes": [4, 8, 16], "realizations": 6, "mode": "both", "parent_size": 20},
    "solver": {"bc": ["kinematic", "static"], "batch": 4},
}


def spec_with(**sampling):
    data = copy.deepcopy(SPEC)
    data["sampling"].update(sampling)
    data["sampling"] = {k: v for k, v in data["sampling"].items() if v is not None}
    return load_spec(data)


def _solved(spec):
    ds = empty_dataset(spec)
    for k, size in enumerate(spec.sizes):
        for name, values in solve_batch(spec, size, range(spec.realizations)).items():
            ds[name].values[k] = values
    return ds


# ---------------------------------------------------------------- spec


def test_independent_mode_is_unchanged():
    """No mode: today's spec text (stores resume), seeds and dataset layout."""
    data = copy.deepcopy(SPEC)
    del data["sampling"]["mode"], data["sampling"]["parent_size"]
    spec = load_spec(data)
    assert spec.sampling_mode == "independent" and spec.parent_size == 0 and not spec.windows
    text = spec.to_json()
    assert json.loads(text)["sampling"]["mode"] == "independent" and "parent_size" not in text
    assert load_spec({**data, "sampling": {**data["sampling"], "mode": "independent"}}) == spec
    expected = realization_rng(3, 8, 2)
    np.testing.assert_array_equal(
        generate_sve(spec, 8, 2), draw_medium(spec.medium, 8, spec.spacing, expected)
    )
    ds = empty_dataset(spec)
    assert "sampling" not in ds.dims and "window_count" not in ds
    assert "absent" not in ds["status"].attrs["flag_meanings"]
    assert ds["conductivity"].dims == ("size", "realization", "bc", "i", "j")


@pytest.mark.parametrize(
    ("sampling", "message"),
    [
        ({"mode": "tiles"}, "sampling.mode must be one of"),
        ({"mode": "windows", "parent_size": None}, "missing field 'sampling.parent_size'"),
        ({"parent_size": 8}, "sampling.parent_size must be an integer >= the largest size 16"),
        ({"parent_size": 20.0}, "sampling.parent_size must be an integer"),
        ({"parent_size": True}, "sampling.parent_size must be an integer"),
        ({"parent_size": "big"}, "sampling.parent_size must be an integer"),
        ({"parent_size": 2**14}, f"at most {MAX_PARENT_VOXELS} voxels"),
        ({"mode": "independent"}, "sampling.parent_size is only used with sampling.mode"),
    ],
)
def test_bad_sampling_fields_name_the_field(sampling, message):
    with pytest.raises(SpecError, match=message):
        spec_with(**sampling)


def test_checkerboard_parent_must_hold_whole_cells():
    data = copy.deepcopy(SPEC)
    data["medium"] = {
        "generator": "random_checkerboard",
        "ndim": 2,
        "cell_size": 3,
        "volume_fraction": 0.5,
    }
    data["sampling"]["sizes"] = [6, 12]
    with pytest.raises(SpecError, match="multiple of medium.cell_size 3"):
        load_spec(data)
    data["sampling"]["parent_size"] = 24
    assert load_spec(data).parent_size == 24


def test_json_round_trip_keeps_the_mode():
    spec = spec_with()
    assert json.loads(spec.to_json())["sampling"]["mode"] == "both"
    assert type(spec).from_json(spec.to_json()) == spec


# ---------------------------------------------------------------- parent and windows


def test_windows_are_tiles_of_one_parent():
    spec = spec_with(mode="windows")
    parent = generate_parent(spec)
    assert parent.shape == (20, 20) and parent.dtype == np.int8 and not parent.flags.writeable
    np.testing.assert_array_equal(
        parent, draw_medium(spec.medium, 20, spec.spacing, parent_rng(3, 20))
    )
    # (20 // 4)^2 = 25 tiles, 6 used, spread over the parent; 16: one tile only
    assert [window_count(spec, n) for n in spec.sizes] == [6, 4, 1]
    corners = [window_origin(spec, 4, k) for k in range(6)]
    assert corners[0] == (0, 0) and len(set(corners)) == 6
    assert window_origin(spec, 8, 3) == (8, 8)
    for k, (a, b) in enumerate(corners):
        np.testing.assert_array_equal(generate_sve(spec, 4, k), parent[a : a + 4, b : b + 4])
    with pytest.raises(ValueError, match=r"window must be in \[0, 1\)"):
        window_origin(spec, 16, 1)
    # the parent's stream is its own: not the stream of any realization of its size
    assert not np.array_equal(parent_rng(3, 20).random(4), realization_rng(3, 20, 0).random(4))


def test_windows_mode_dataset_has_the_single_schema_and_absent_records():
    spec = spec_with(mode="windows")
    ds = _solved(spec)
    assert ds["conductivity"].dims == ("size", "realization", "bc", "i", "j")
    status = ds["status"].values
    assert (status[2, 1:] == STATUS["absent"]).all() and (status[2, 0] == STATUS["ok"]).all()
    assert (status[1, 4:] == STATUS["absent"]).all() and (status[:2, :4] == STATUS["ok"]).all()
    assert np.isnan(ds["conductivity"].values[2, 1:]).all()
    assert completed(ds).all()
    np.testing.assert_array_equal(ds["window_count"], [6, 4, 1])
    # the windows' fractions are those of the parent's tiles
    parent = generate_parent(spec)
    a, b = window_origin(spec, 8, 2)
    assert ds["volume_fraction"].values[1, 2] == parent[a : a + 8, b : b + 8].mean()
    assert float(ds["parent_volume_fraction"][-1]) == parent.mean()
    assert ds.attrs["sampling_mode"] == "windows" and ds.attrs["parent_size"] == 20


def test_both_mode_puts_the_two_samples_side_by_side():
    spec = spec_with()
    both = _solved(spec)
    assert both["conductivity"].dims == ("size", "realization", "sampling", "bc", "i", "j")
    assert list(both["sampling"].values) == ["independent", "windows"]
    independent = _solved(spec_with(mode=None, parent_size=None))
    windows = _solved(spec_with(mode="windows"))
    for name in ("conductivity", "volume_fraction", "iterations", "status"):
        np.testing.assert_array_equal(
            both[name].sel(sampling="independent").values, independent[name].values
        )
        np.testing.assert_array_equal(
            both[name].sel(sampling="windows").values, windows[name].values
        )
    # a record is complete when both samples (and every bc) are finished
    both["status"].values[0, 1, 1, 0] = STATUS["pending"]
    done = completed(both)
    assert not done[0, 1] and done.sum() == done.size - 1


def test_both_mode_store_round_trip(tmp_path):
    spec = spec_with()
    ds = _solved(spec)
    store = tmp_path / "both.zarr"
    create_store(spec, store)
    write_records(open_group(store), ds, [(k, 0) for k in range(len(spec.sizes))])
    back = open_study(store).load()
    xr.testing.assert_equal(back.drop_vars("wall_time"), ds.drop_vars("wall_time"))


def test_ready_to_run_ergodicity_studies_load():
    """studies/ergodicity.toml and its non-ergodic control differ by the offset only."""
    from pathlib import Path

    studies = Path(__file__).parents[3] / "studies"
    ergodic = load_spec(studies / "ergodicity.toml")
    control = load_spec(studies / "ergodicity_control.toml")
    assert ergodic.sampling_mode == "both" and ergodic.medium["offset_variance"] == 0
    assert control.medium["offset_variance"] > 0
    assert control.sizes == ergodic.sizes and control.parent_size == ergodic.parent_size
    assert control.seed == ergodic.seed and control.bc == ergodic.bc
    # at least 3 windows at every size: every size is testable
    assert min(window_count(ergodic, n) for n in ergodic.sizes) >= 3


@pytest.mark.slow  # starts a Dask cluster of worker processes
def test_run_study_on_dask_equals_the_in_process_tasks(tmp_path):
    """run.py is unchanged: mode "both" flows through Dask and the store, and resumes."""
    from sve.study import run_study

    spec = spec_with()
    store = tmp_path / "both.zarr"
    ds = run_study(spec, store=store, workers=2)
    expected = _solved(spec)
    for result in (ds, open_study(store).load()):
        xr.testing.assert_equal(result.drop_vars("wall_time"), expected.drop_vars("wall_time"))
    assert completed(open_study(store)).all()
    again = run_study(spec, store=store, workers=1)
    assert len(json.loads(again.attrs["runs"])) == 1  # nothing left to run
