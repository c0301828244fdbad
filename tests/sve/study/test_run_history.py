"""The run history keeps every run, a run killed part-way included."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr

from sve.study import load_spec, open_study, run_study
from sve.study.schema import STATUS, ZARR_FORMAT

pytestmark = pytest.mark.slow  # starts Dask clusters of worker processes


def _ok_records(store) -> int:
    try:
        status = zarr.open_group(str(store), mode="r", zarr_format=ZARR_FORMAT)["status"][...]
    except Exception:  # not created yet (it is built beside and moved in place)
        return 0
    return int(np.count_nonzero(status == STATUS["ok"]))


def test_a_killed_run_stays_in_the_history_after_the_resume(tmp_path, tiny_spec_data):
    """`sve run` is killed (SIGKILL, its Dask workers with it) once some records are
    stored; the next run records it as interrupted, keeps its records and finishes."""
    data = tiny_spec_data(
        sampling={"sizes": [24, 48], "realizations": 24},
        solver={"bc": ["kinematic", "periodic", "static"], "batch": 1, "tol": 1e-10},
    )
    spec_file, store = tmp_path / "spec.json", tmp_path / "killed.zarr"
    spec_file.write_text(json.dumps(data))
    script = (
        "import json, sys; from sve.study import run_study; "
        "run_study(json.load(open(sys.argv[1])), store=sys.argv[2], workers=1)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(spec_file), str(store)], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while _ok_records(store) == 0 and process.poll() is None:
            assert time.monotonic() < deadline, "the run stored nothing in 120 s"
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)  # the run and its workers: its own group
    finally:
        process.wait()
    killed = open_study(store).load()
    total = killed["status"].size
    done = killed["status"].values == STATUS["ok"]
    assert 0 < done.sum() < total, "the run ended before it could be killed"
    assert "active_run" in killed.attrs and "runs" not in killed.attrs
    started = json.loads(killed.attrs["active_run"])["started"]

    ds = run_study(load_spec(data), store=store, workers=1)
    assert (ds["status"] == STATUS["ok"]).all()
    stored = open_study(store).load()
    for name in ("wall_time", "conductivity"):  # kept, not recomputed
        np.testing.assert_array_equal(stored[name].values[done], killed[name].values[done])
    runs = json.loads(stored.attrs["runs"])
    assert [run["interrupted"] for run in runs] == [True, False]
    assert runs[0]["started"] == started and runs[0]["workers"] == 1
    assert runs[0]["tasks"] == 2 * 24 and runs[1]["tasks"] < 2 * 24
    assert "active_run" not in stored.attrs
