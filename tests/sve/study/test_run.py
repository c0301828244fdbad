"""Studies on Dask: identical results whatever the workers, resumable stores."""

import io
import json

import numpy as np
import pytest
import xarray as xr
from distributed import Client, LocalCluster

from sve.cli import main
from sve.study import SpecError, load_spec, open_study, run_study
from sve.study.store import open_group
from sve.study.tasks import generate_sve, solve_batch

pytestmark = pytest.mark.slow  # starts Dask clusters of worker processes

SPEC = {
    "name": "tiny",
    "seed": 7,
    "medium": {
        "generator": "gaussian_level_cut",
        "ndim": 2,
        "covariance": "exponential",
        "correlation_length": 2.0,
        "volume_fraction": 0.4,
        "fraction": "exact",
    },
    "property": {"name": "conductivity", "phases": [1.0, 5.0]},
    "sampling": {"sizes": [8, 12, 16], "realizations": 6},
    "solver": {"bc": ["periodic"], "tol": 1e-8, "batch": 4},
}
MEASURED = ["wall_time"]  # a timing, not a result: excluded from identity checks


def results(ds: xr.Dataset) -> xr.Dataset:
    """The computed content: no timings, no run provenance (times, workers)."""
    out = ds.drop_vars(MEASURED)
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "runs"}
    return out


@pytest.fixture(scope="module")
def client1():
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def client2():
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def reference(client1):
    return run_study(SPEC, client=client1)


def test_dataset_schema(reference):
    ds = reference
    assert ds["conductivity"].dims == ("size", "realization", "bc", "i", "j")
    assert ds["conductivity"].shape == (3, 6, 1, 2, 2)
    assert (ds["status"] == 1).all()
    assert ds["length"].attrs["units"] and ds["wall_time"].attrs["units"] == "s"
    assert load_spec(SPEC).to_json() == ds.attrs["spec"]
    # volume fraction exact by rank: round(0.4 * L^2) / L^2
    for size in ds["size"].values:
        expected = round(0.4 * size**2) / size**2
        np.testing.assert_array_equal(ds["volume_fraction"].sel(size=size), expected)


def test_one_and_two_workers_identical(reference, client2):
    xr.testing.assert_identical(results(reference), results(run_study(SPEC, client=client2)))


@pytest.mark.parametrize("batch", [1, "auto"])
def test_batching_changes_no_result(reference, client2, batch):
    spec = {**SPEC, "solver": {**SPEC["solver"], "batch": batch}}
    left, right = results(run_study(spec, client=client2)), results(reference)
    assert json.loads(left.attrs.pop("spec"))["solver"]["batch"] == batch
    right.attrs.pop("spec")
    xr.testing.assert_identical(left, right)  # every record, bit for bit


def test_three_workers_identical(reference):
    """Three local worker processes (more than this machine's cores): the same dataset."""
    ds = run_study(SPEC, workers=3)
    xr.testing.assert_identical(results(reference), results(ds))
    (run,) = json.loads(ds.attrs["runs"])
    assert run["workers"] == 3 and run["hosts"] == 1


def test_matches_direct_task_call(reference):
    """The dataset holds what the pure task function returns, record by record."""
    spec = load_spec(SPEC)
    out = solve_batch(spec, 12, range(2, 5))
    np.testing.assert_array_equal(
        reference["conductivity"].sel(size=12).isel(realization=slice(2, 5)).values,
        out["conductivity"],
    )


def test_seeds_stable_when_study_grows(reference, client1):
    grown = {**SPEC, "sampling": {"sizes": [8, 10, 12, 16], "realizations": 9}}
    ds = run_study(grown, client=client1)
    for size in (8, 12, 16):
        np.testing.assert_array_equal(
            ds["conductivity"].sel(size=size).isel(realization=slice(0, 6)).values,
            reference["conductivity"].sel(size=size).values,
        )


def test_realizations_differ():
    spec = load_spec(SPEC)
    assert not np.array_equal(generate_sve(spec, 16, 0), generate_sve(spec, 16, 1))
    np.testing.assert_array_equal(generate_sve(spec, 16, 3), generate_sve(spec, 16, 3))


def test_store_resume_and_identity(tmp_path, reference, client2, capsys):
    store = tmp_path / "tiny.zarr"
    log = io.StringIO()
    first = run_study(SPEC, client=client2, store=store, log=log)
    xr.testing.assert_identical(results(first), results(reference))
    assert "6 of 6 tasks to run" in log.getvalue()

    # Rerun: nothing is recomputed.
    log = io.StringIO()
    again = run_study(SPEC, client=client2, store=store, log=log)
    assert "0 of 6 tasks to run" in log.getvalue()
    xr.testing.assert_identical(again, first)
    assert len(json.loads(again.attrs["runs"])) == 1  # a run with nothing to do adds none
    # Another batch is the same study: nothing recomputed (6 realizations: "auto" is 8)
    log = io.StringIO()
    run_study({**SPEC, "solver": {**SPEC["solver"], "batch": "auto"}}, client=client2,
              store=store, log=log)  # fmt: skip
    assert "0 of 3 tasks to run" in log.getvalue()

    # Simulate an interruption: one batch back to pending with garbage values, and the
    # marker of an unfinished run, which `sve status` reports and a finished run clears.
    n = 4
    group = open_group(store)
    group.attrs["active_run"] = json.dumps({"started": "2026-01-01T00:00:00+00:00", "tasks": 6})
    assert main(["status", str(store)]) == 0
    assert "not finished: 6 tasks, running now or interrupted" in capsys.readouterr().out
    group["conductivity"][1, :n] = -1.0
    group["status"][1, :n] = 0
    assert (open_study(store)["status"].isel(size=1, realization=slice(0, n)) == 0).all()
    log = io.StringIO()
    resumed = run_study(SPEC, client=client2, store=store, log=log)
    assert "1 of 6 tasks to run" in log.getvalue()
    xr.testing.assert_identical(results(resumed), results(reference))
    assert "active_run" not in open_study(store).attrs

    # Half of a batch of another size pending (2-3 of 0-5 under "auto"): only it runs.
    group["conductivity"][1, 2:4] = -1.0
    group["status"][1, 2:4] = 0
    log = io.StringIO()
    auto = {**SPEC, "solver": {**SPEC["solver"], "batch": "auto"}}
    again = run_study(auto, client=client2, store=store, log=log)
    assert "1 of 3 tasks to run" in log.getvalue()
    assert "size 12 realizations 2-3 done" in log.getvalue()
    xr.testing.assert_identical(results(again), results(reference))


def test_the_spec_names_its_store(tmp_path, reference, client1):
    store = tmp_path / "named.zarr"
    ds = run_study({**SPEC, "store": str(store)}, client=client1)
    xr.testing.assert_identical(results(ds), results(reference))
    xr.testing.assert_identical(results(open_study(store).load()), results(reference))


def test_store_with_other_spec_is_refused(tmp_path, client1):
    store = tmp_path / "s.zarr"
    run_study(SPEC, client=client1, store=store)
    other = {**SPEC, "seed": 8}
    with pytest.raises(ValueError, match="different study spec"):
        run_study(other, client=client1, store=store)
    ds = run_study(other, client=client1, store=store, overwrite=True)
    assert load_spec(other).to_json() == ds.attrs["spec"]


def test_failing_task_is_recorded_not_fatal(monkeypatch, tmp_path, reference):
    """A batch that raises (twice: it is retried once) is stored as failed with its
    error; every other batch completes, and a rerun retries only the failed one."""
    from sve.study import run as run_module

    broken, attempts = tmp_path / "broken", tmp_path / "attempts"
    broken.touch()

    def flaky(spec, size, realizations):
        if size == 12 and realizations.start == 0:
            with attempts.open("a") as f:
                f.write("x")
            if broken.exists():
                raise MemoryError("simulated out-of-memory at size 12")
        return solve_batch(spec, size, realizations)

    monkeypatch.setattr(run_module, "solve_batch", flaky)
    store = tmp_path / "s.zarr"
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as c:
        ds = run_study(SPEC, client=c, store=store)
        status = ds["status"].sel(size=12).values[:, 0]
        assert (status[:4] == 3).all() and (status[4:] == 1).all()
        assert (ds["status"].sel(size=[8, 16]) == 1).all()
        error = str(ds["error"].sel(size=12).values[0])
        assert error == "MemoryError: simulated out-of-memory at size 12"
        assert attempts.read_text() == "xx"  # tried, retried once, then recorded
        assert json.loads(ds.attrs["runs"])[0]["failed_tasks"] == 1

        broken.unlink()  # the cause is fixed: a rerun retries the failed batch only
        log = io.StringIO()
        ds = run_study(SPEC, client=c, store=store, log=log)
    assert "1 of 6 tasks to run" in log.getvalue()
    xr.testing.assert_identical(results(ds), results(reference))
    assert (ds["error"] == "").all()


def test_bad_spec_rejected_before_any_work(tmp_path):
    store = tmp_path / "never.zarr"
    bad = {**SPEC, "sampling": {"sizes": [8, 0], "realizations": 6}}
    with pytest.raises(SpecError, match=r"sampling\.sizes\[1\]"):
        run_study(bad, store=store)
    assert not store.exists()


def test_bad_arguments(client1):
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        run_study(SPEC, workers=0)
    with pytest.raises(TypeError, match="client must be"):
        run_study(SPEC, client=3.5)
