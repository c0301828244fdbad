"""A real distributed run, a worker killed mid-study, a client killed and resumed.

Everything runs on 127.0.0.1: a `dask scheduler` and `dask worker` processes
started by the test, and the `sve` command line in a subprocess.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sve.study import open_study, run_study

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[3]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # subprocesses import this checkout

SPEC = {
    "name": "distributed",
    "seed": 3,
    "medium": {
        "generator": "gaussian_level_cut",
        "ndim": 2,
        "covariance": "gaussian",
        "correlation_length": 2.0,
        "volume_fraction": 0.5,
    },
    "property": {"name": "conductivity", "phases": [1.0, 10.0]},
    "sampling": {"sizes": [16, 24, 32], "realizations": 16},
    "solver": {"bc": ["periodic"], "tol": 1e-8, "batch": 2},
}
SPEC_TOML = """
name = "distributed"
seed = 3
[medium]
generator = "gaussian_level_cut"
ndim = 2
covariance = "gaussian"
correlation_length = 2.0
volume_fraction = 0.5
[property]
name = "conductivity"
phases = [1.0, 10.0]
[sampling]
sizes = [16, 24, 32]
realizations = 16
[solver]
bc = ["periodic"]
tol = 1e-8
batch = 2
"""


def results(ds: xr.Dataset) -> xr.Dataset:
    """The computed content: no timings, no run provenance."""
    out = ds.drop_vars("wall_time")
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "runs"}
    return out


# Loaded at start-up by every process of a run (client and workers) whose PYTHONPATH
# holds its folder: each task sleeps first, so that a study of tiny tasks lasts long
# enough for a kill to land mid-study however loaded the machine is. Results unchanged.
SLOW_TASKS = """
import functools, time
import sve.study.run as run
import sve.study.tasks as tasks

_solve_batch = tasks.solve_batch


@functools.wraps(_solve_batch)
def solve_batch(*args, **kwargs):
    time.sleep(0.25)
    return _solve_batch(*args, **kwargs)


tasks.solve_batch = run.solve_batch = solve_batch  # run.py imported it by name
"""


def start(args: list[str], env: dict[str, str] = ENV) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        env=env,
        cwd=ROOT,
        start_new_session=True,  # its own process group: killed with all its children
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not reached in {timeout} s")


@pytest.fixture(scope="module")
def reference():
    return run_study(SPEC, workers=1)


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers, as separate processes."""
    file = tmp_path / "scheduler.json"
    processes = [
        start(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(file),
            ]
        )
    ]
    try:
        wait_for(file.exists, what="scheduler file")
        wait_for(lambda: "address" in file.read_text(), what="scheduler address")
        address = json.loads(file.read_text())["address"]
        for _ in range(2):
            processes.append(
                start([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard"])
            )
        yield address, processes
    finally:
        for process in reversed(processes):
            kill(process)


def test_existing_cluster_gives_identical_results(cluster, reference):
    address, _ = cluster
    ds = run_study(SPEC, client=address)
    xr.testing.assert_identical(results(ds), results(reference))
    assert json.loads(ds.attrs["runs"])[0]["scheduler"] == address


class KillAfterFirstBatch:
    """A progress log that SIGKILLs one worker process when the first batch is done."""

    def __init__(self, worker: subprocess.Popen):
        self.worker, self.killed = worker, False

    def write(self, text: str) -> None:
        if not self.killed and "done (" in text:
            kill(self.worker)
            self.killed = True

    def flush(self) -> None:
        pass


def test_killed_worker_does_not_change_the_result(cluster, reference, tmp_path):
    address, processes = cluster
    log = KillAfterFirstBatch(processes[1])
    ds = run_study(SPEC, client=address, store=tmp_path / "s.zarr", log=log)
    assert log.killed
    xr.testing.assert_identical(results(ds), results(reference))


@pytest.mark.parametrize("batches_before_kill", [1, 6])
def test_client_sigkilled_then_resumed_is_identical(tmp_path, reference, batches_before_kill):
    spec, store = tmp_path / "spec.toml", tmp_path / "s.zarr"
    spec.write_text(SPEC_TOML)
    command = [
        str(BIN / "sve"),
        "run",
        str(spec),
        "--store",
        str(store),
        "--workers",
        "1",
        "--no-report",
    ]

    def finished_batches():
        if not store.exists():
            return 0
        return int((open_study(store)["status"] == 1).sum()) // 2

    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(SLOW_TASKS)
    run = start(command, {**ENV, "PYTHONPATH": f"{slow}{os.pathsep}{ROOT}"})
    try:
        wait_for(
            lambda: finished_batches() >= batches_before_kill or run.poll() is not None,
            timeout=120,
            what="first batches",
        )
    finally:
        kill(run)
    # the store is readable at any moment and holds only finished records
    partial = open_study(store).load()
    done = (partial["status"] == 1).values[..., 0]
    assert 0 < done.sum() < done.size, "the kill must land mid-study for this test to mean much"
    np.testing.assert_array_equal(
        partial["conductivity"].values[done], reference["conductivity"].values[done]
    )
    assert subprocess.run(command, env=ENV, cwd=ROOT, capture_output=True).returncode == 0
    xr.testing.assert_identical(results(open_study(store).load()), results(reference))
