"""Stores written before issue 16 (tests/fixtures/STORE_V0.md) open, report and resume.

The fixtures were written by the code of commit 77143b7: a flat spec text
(schema version 1) and ``sve/study/store.py`` before its split. Resuming
them must not recompute or change a record they hold: ``wall_time`` (a
measurement, different at every solve) staying bit-identical proves the
records were not recomputed.
"""

import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from distributed import Client, LocalCluster

from sve.cli import main
from sve.study import StudySpec, load_spec, open_study, run_study
from sve.study.schema import STATUS, record_variables
from sve.study.store import create_store
from sve.study.tasks import solve_batch

FIXTURES = Path(__file__).parents[2] / "fixtures"
TOML = FIXTURES / "store_v0.toml"


def _copy(name: str, tmp_path: Path) -> Path:
    store = tmp_path / name
    shutil.copytree(FIXTURES / name, store)
    return store


def _spec(**sampling):
    data = tomllib.loads(TOML.read_text())
    data["sampling"].update(sampling)
    return load_spec(data)


def test_fixture_stores_open_with_their_old_spec_text():
    for name in ("store_v0.zarr", "store_v0_partial.zarr"):
        ds = open_study(FIXTURES / name)
        text = json.loads(ds.attrs["spec"])
        assert "schema_version" not in text and text["sizes"] == [6, 8]  # flat: version 1
        assert StudySpec.from_json(ds.attrs["spec"]) == load_spec(TOML)
    complete = open_study(FIXTURES / "store_v0.zarr")
    assert (complete["status"] == STATUS["ok"]).all()
    assert len(json.loads(complete.attrs["runs"])) == 1
    partial = open_study(FIXTURES / "store_v0_partial.zarr")
    assert int((partial["status"] == STATUS["ok"]).sum()) == 8  # 4 realizations x 2 bcs
    assert "active_run" in partial.attrs and "runs" not in partial.attrs


@pytest.mark.slow  # writes the reports of every fixture store
def test_report_and_status_of_the_fixture_stores(tmp_path, capsys):
    for name in ("store_v0.zarr", "store_v0_partial.zarr"):
        store = _copy(name, tmp_path)
        out = tmp_path / f"{name}-report"
        assert main(["report", str(store), "--out", str(out)]) == 0
        text = (out / "report.md").read_text()
        assert "store-v0" in text
        assert ("Partial study" in text) == (name == "store_v0_partial.zarr")
        assert main(["status", str(store)]) == 0
    printed = capsys.readouterr().out
    assert "ok: 12" in printed and "ok: 8" in printed and "pending: 4" in printed


def test_a_changed_spec_is_refused_and_the_store_untouched(tmp_path):
    store = _copy("store_v0.zarr", tmp_path)
    before = open_study(store).load()
    for other in (_spec(realizations=2), _spec(sizes=[6]), load_spec(TOML).replace(tol=1e-6)):
        with pytest.raises(ValueError, match="holds a different study spec"):
            create_store(other, store)
    xr.testing.assert_identical(open_study(store).load(), before)


def test_growing_a_store_keeps_every_record_bit_for_bit(tmp_path):
    store = _copy("store_v0.zarr", tmp_path)
    before = open_study(store).load()
    grown = create_store(_spec(realizations=4, sizes=[6, 8, 10]), store)
    after = open_study(store).load()
    assert after.sizes["realization"] == 4 and list(after["size"].values) == [6, 8, 10]
    for name in record_variables(before):
        old = after[name].sel(size=[6, 8]).isel(realization=slice(0, 3))
        np.testing.assert_array_equal(old.values, before[name].values)
    assert (after["status"].sel(size=10) == STATUS["pending"]).all()
    assert (after["status"].isel(realization=3) == STATUS["pending"]).all()
    assert after.attrs["runs"] == before.attrs["runs"]
    assert json.loads(after.attrs["spec"])["schema_version"] == 2
    assert StudySpec.from_json(after.attrs["spec"]) == _spec(realizations=4, sizes=[6, 8, 10])
    xr.testing.assert_identical(grown["status"], after["status"])


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            yield client


@pytest.mark.slow
def test_resume_with_one_more_realization(tmp_path, client):
    store = _copy("store_v0.zarr", tmp_path)
    before = open_study(store).load()
    spec = _spec(realizations=4)
    ds = run_study(spec, store=store, client=client)
    stored = open_study(store).load()
    for name in record_variables(before):  # wall_time too: nothing was recomputed
        np.testing.assert_array_equal(
            stored[name].isel(realization=slice(0, 3)).values, before[name].values
        )
        np.testing.assert_array_equal(stored[name].values, ds[name].values)
    assert (stored["status"] == STATUS["ok"]).all()
    for k, size in enumerate(spec.sizes):  # the new realization: its own stream
        fresh = solve_batch(spec, size, range(3, 4))["conductivity"][0]
        np.testing.assert_array_equal(stored["conductivity"].values[k, 3], fresh)
    runs = json.loads(stored.attrs["runs"])
    assert len(runs) == 2 and runs[0] == json.loads(before.attrs["runs"])[0]
    assert runs[1]["tasks"] == 2 and runs[1]["interrupted"] is False


@pytest.mark.slow
def test_resume_of_a_killed_run_keeps_it_in_the_history(tmp_path, client, capsys):
    store = _copy("store_v0_partial.zarr", tmp_path)
    before = open_study(store).load()
    killed = json.loads(before.attrs["active_run"])
    run_study(load_spec(TOML), store=store, client=client)
    stored = open_study(store).load()
    done = before["status"].values == STATUS["ok"]  # (size, realization, bc)
    for name in ("conductivity", "wall_time", "iterations", "residual", "hill_mandel_defect"):
        np.testing.assert_array_equal(stored[name].values[done], before[name].values[done])
    assert (stored["status"] == STATUS["ok"]).all() and "active_run" not in stored.attrs
    runs = json.loads(stored.attrs["runs"])
    assert len(runs) == 2
    assert runs[0]["started"] == killed["started"] and runs[0]["interrupted"] is True
    assert runs[0]["finished"] is None and runs[1]["tasks"] == 2
    assert main(["status", str(store)]) == 0
    printed = capsys.readouterr().out
    assert f"run {killed['started']} -> interrupted" in printed and "not finished" not in printed
    # the records of this run are those of a fresh solve (streams depend on (size,
    # realization) only), bit for bit
    spec = load_spec(TOML)
    assert (~done).any()  # the killed run left records to this one
    for k, size in enumerate(spec.sizes):
        fresh = solve_batch(spec, size, range(spec.realizations))
        new = ~done[k]
        for name in ("conductivity", "iterations", "residual"):  # per boundary condition
            np.testing.assert_array_equal(stored[name].values[k][new], fresh[name][new])
    # and those of the study run whole by the code that wrote the fixture, to rounding:
    # issue 18's eight-lane dot products moved the tensors by at most 1.4e-13 of their
    # largest entry and the final residuals by 4e-7 of themselves
    complete = open_study(FIXTURES / "store_v0.zarr").load()
    for name in ("volume_fraction", "iterations", "status"):
        np.testing.assert_array_equal(stored[name].values, complete[name].values)
    tensors, stored_tensors = complete["conductivity"].values, stored["conductivity"].values
    scale = np.abs(tensors).max(axis=(-2, -1), keepdims=True)
    assert np.all(np.abs(stored_tensors - tensors) <= 1e-12 * scale)
    np.testing.assert_allclose(stored["residual"].values, complete["residual"].values, rtol=1e-5)
