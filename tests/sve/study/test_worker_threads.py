"""A study task runs Numba on as many threads as its Dask worker has."""

from __future__ import annotations

import numba
import pytest

from sve.study import tasks


def _threads_in_task() -> tuple[int, int]:
    """Numba's threads inside `worker_threads` and after it, in the calling thread."""
    with tasks.worker_threads():
        inside = numba.get_num_threads()
    return inside, numba.get_num_threads()


def test_outside_a_worker_the_threads_are_left_alone():
    before = numba.get_num_threads()
    assert _threads_in_task() == (before, before)


def test_a_single_threaded_worker_runs_numba_on_one_thread():
    distributed = pytest.importorskip("distributed")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba has a single thread here: nothing to limit")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=":0") as client:  # fmt: skip
        # The worker's thread starts with Numba's default (every core); the task gets one
        # thread, and the worker's thread is given its default back after the task.
        assert client.submit(_threads_in_task, pure=False).result() == (
            1,
            numba.config.NUMBA_NUM_THREADS,
        )
        assert client.submit(numba.get_num_threads, pure=False).result() == (
            numba.config.NUMBA_NUM_THREADS
        )


def test_on_a_worker_the_task_takes_its_threads(monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba has a single thread here: nothing to limit")
    monkeypatch.setattr(tasks, "_worker_nthreads", lambda: 1)
    before = numba.get_num_threads()
    assert _threads_in_task() == (1, before)
    monkeypatch.setattr(tasks, "_worker_nthreads", lambda: 64)  # more than Numba has
    assert _threads_in_task() == (numba.config.NUMBA_NUM_THREADS, before)
