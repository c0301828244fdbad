"""Elastic load cases solved side by side (``threads.run_cases``) give the bits they give
one at a time, and the memory limit decides how many run at once.
"""

from __future__ import annotations

import subprocess
import sys

import numba
import numpy as np
import pytest

from sve.solvers import MemoryBudgetError, apparent_stiffness, memory_estimate
from sve.solvers._core import threads
from sve.solvers._core.transforms import fft_workers
from sve.solvers.elasticity import cell_problem
from tests.sve.solvers._media import smooth_two_phase

THREADS = min(2, numba.config.NUMBA_NUM_THREADS)
MATERIALS = [{"E": 1.0, "nu": 0.3}, {"E": 100.0, "nu": 0.2}]


@pytest.fixture
def spy(monkeypatch):
    """The `threads` argument of every `run_cases` call of the elastic cell problem."""
    calls = []

    def run_cases(solve, cases, count):
        calls.append(count)
        return threads.run_cases(solve, cases, count)

    monkeypatch.setattr(cell_problem, "run_cases", run_cases)
    return calls


def _on(count, function):
    default = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        return function()
    finally:
        numba.set_num_threads(default)


def test_run_cases_keeps_the_order_and_runs_each_case_serially(monkeypatch):
    monkeypatch.setattr(threads, "PARALLEL_SIZE", 1)  # every kernel threaded, alone

    def solve(case):
        return case, threads.threaded(10**6), fft_workers(10**9), threads.case_threads(6)

    together = threads.run_cases(solve, range(7), 2)
    assert [row[0] for row in together] == list(range(7))
    assert all(row[1:] == (0, 1, 1) for row in together)  # serial kernels, one worker
    alone = threads.run_cases(solve, range(3), 1)  # in turn, on this thread
    assert all(row[1] == 1 for row in alone)
    assert not threads.in_concurrent_case()


def test_run_cases_raises_the_first_error():
    def solve(case):
        if case == 2:
            raise ValueError("case 2")
        return case

    with pytest.raises(ValueError, match="case 2"):
        threads.run_cases(solve, range(4), 2)
    assert not threads.in_concurrent_case()


def test_case_threads_is_numba_threads_capped_by_the_cases():
    assert _on(1, lambda: threads.case_threads(6)) == 1
    assert threads.case_threads(1) == 1
    assert threads.case_threads(0) == 1
    if THREADS >= 2:
        assert _on(2, lambda: threads.case_threads(6)) == 2


@pytest.mark.slow  # 2-4 s (five shapes and conditions, three solves each)
@pytest.mark.parametrize(
    ("shape", "bc", "preconditioner"),
    [
        ((12, 10, 14), "periodic", "fft"),
        ((16, 16, 16), "periodic", "multigrid"),
        ((10, 12, 9), "kinematic", "fft"),
        ((10, 12, 9), "mixed", "fft"),
        ((40, 36), "periodic", "fft"),
    ],
)
def test_tensors_are_the_same_bits_on_one_and_two_threads(
    monkeypatch, spy, shape, bc, preconditioner
):
    if THREADS < 2:
        pytest.skip("Numba has a single thread here")
    phases = smooth_two_phase(shape, np.random.default_rng(11))
    options = dict(bc=bc, preconditioner=preconditioner, tol=1e-8)
    results = []
    # One at a time, then side by side; then side by side with every kernel's threshold
    # reached (kernels and transforms must still run serially in a case).
    for size, count in ((1 << 62, 1), (1 << 62, THREADS), (1 << 9, THREADS)):
        monkeypatch.setattr(threads, "PARALLEL_SIZE", size)
        result = _on(count, lambda: apparent_stiffness(phases, MATERIALS, **options))
        results.append(result)
    blocks = 2 if bc == "mixed" else 1  # the normal and the shear block
    assert spy == [1] * blocks + [THREADS] * 2 * blocks
    for result in results[1:]:
        assert np.array_equal(result.tensor, results[0].tensor, equal_nan=True)
        assert result.iterations == results[0].iterations
        assert result.hill_mandel_defect == results[0].hill_mandel_defect
        assert result.residual == results[0].residual


def test_a_memory_limit_runs_fewer_cases_at_once_never_refuses(spy):
    if THREADS < 2:
        pytest.skip("Numba has a single thread here")
    shape = (16, 16, 16)
    phases = smooth_two_phase(shape, np.random.default_rng(2))
    case = dict(property="elasticity", bc="periodic", preconditioner="fft")
    serial = memory_estimate(shape, cases_at_once=1, **case).bytes
    two = memory_estimate(shape, cases_at_once=2, **case).bytes
    assert two - serial == pytest.approx(65.0 * 16**3, abs=1.0)  # measured bytes per voxel
    assert _on(2, lambda: memory_estimate(shape, **case).bytes) == two  # the default

    def solve(limit):
        return _on(2, lambda: apparent_stiffness(phases, MATERIALS, memory_limit=limit))

    between = solve((serial + two) // 2)  # one case fits, two do not
    enough = solve(two)
    assert spy == [1, 2]
    assert np.array_equal(between.tensor, enough.tensor)
    with pytest.raises(MemoryBudgetError):
        solve(serial - 1)


@pytest.mark.slow  # 2-4 s: a fresh interpreter imports sve
def test_case_threads_does_not_start_numbas_threading_layer():
    """A started OpenMP layer makes a later fork unsafe: asking must not start it."""
    code = (
        "import numba.np.ufunc.parallel as p\n"
        "from sve.solvers._core.threads import case_threads\n"
        "assert case_threads(6) >= 1\n"
        "print(p._is_initialized)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
