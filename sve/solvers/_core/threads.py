"""When the solvers' Numba kernels run on threads: one threshold for every solver (private).

A threaded kernel is compiled twice from one function (`pair`): serially, and with
``parallel=True``, its ``prange`` loops then shared among Numba's threads. Every such
kernel writes each output from one iteration of its ``prange`` loop, or sums in pieces
that do not depend on the number of threads (``pcg_kernels.blocked_dot``), so both
compilations give the same bits on any number of threads. The caller picks one by the
size of the field (`threaded`): small images (the SVEs of a study, which runs one per
core) and the coarse levels of a multigrid stay serial.

The threshold, `PARALLEL_SIZE`: 2**18 entries (nodes times components), a 64^3 scalar
field or a 44^3 vector field. Measured on the 2-core development machine
(``numba.set_num_threads(1)`` against 2, docs/solver_notes.rst, "Threads"): the
parallel compilation on one thread costs about 5 microseconds more a call (1.12 times
the fine Q1 operator at 16^3, 1.00-1.05 from 32^3 on); at 2**18 entries a kernel takes
0.1 ms (a vector update) to 5 ms (a coarse stencil), so starting the threads is
negligible, and two threads took 0.62 times the serial time of the fine operator at
32^3 even under load 8. Below it the gain is small, and the SVEs of a study, many at
once, one per core, would only contend for the cores. Studies also set Numba's threads
of a task to those of its Dask worker (``sve.study.tasks.worker_threads``), so a task
never oversubscribes the machine.

Load cases (`run_cases`): the independent load cases of a tensor run side by side on a
pool of `case_threads` threads, each alone on its thread with its kernels serial and its
transforms on one worker (a thread-local flag read by `threaded` and
``transforms.fft_workers``), so each computes the bits it computes alone
(docs/solver_notes.rst, "Threads", "Load cases side by side").
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
from numba import njit

# Numba's OpenMP threads wait for work passively (asleep) unless the user says otherwise:
# with OpenMP's default (spin, then sleep) a thread that waits at the end of a parallel loop
# takes a core from the others on a busy machine. Measured on the 2-core development
# machine at load average 4: the elastic DNS test of tests/sve/multiscale/test_dns.py
# took 12.6 s with the spinning wait, 1.2 s with the passive one, 1.2 s on one thread.
# Read by OpenMP when Numba starts its threads, at the first parallel loop run.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: Entries (nodes times components) from which the solvers' kernels run on Numba's threads
#: (see the module notes). The same bits either way. Off by default (larger than any image):
#: on the 2-core development machine, quiet, the fast test loop took 226 s with 2**18 and
#: 115 s on one thread, while the large solves gained only 1.05-1.2 times (128^3 Q1,
#: 500^3 fv); set it to 2**18 to use the threads where they pay.
PARALLEL_SIZE = 1 << 62


# Set on the threads of `run_cases` while they solve a load case: their kernels and
# transforms then run serially (no threads started from a thread of the pool).
_LOCAL = threading.local()


def threaded(size: int) -> int:
    """1 where a kernel on `size` entries runs on Numba's threads, 0 where serially
    (an index into `pair`'s tuple); always 0 inside a load case of `run_cases` that runs
    beside others.
    """
    return int(size >= PARALLEL_SIZE and not getattr(_LOCAL, "serial", False))


def in_concurrent_case() -> bool:
    """True on a thread of `run_cases` solving a load case beside others."""
    return getattr(_LOCAL, "serial", False)


def case_threads(cases: int) -> int:
    """How many of `cases` independent load cases run at once: Numba's thread count in
    force (``numba.get_num_threads()``: a study's task sets 1, see
    ``sve.study.tasks.worker_threads``), at most `cases`, at least 1, and 1 inside a
    load case already running beside others.
    """
    if in_concurrent_case():
        return 1
    return max(1, min(_numba_threads(), int(cases)))


def _numba_threads() -> int:
    """``numba.get_num_threads()`` without starting Numba's threading layer: until it runs
    (``set_num_threads`` or a parallel kernel start it), the count is the configured one.
    A started OpenMP layer makes a later ``fork`` unsafe, so a serial user should not
    start it just by asking.
    """
    from numba.np.ufunc import parallel

    if not getattr(parallel, "_is_initialized", True):
        return int(numba.config.NUMBA_NUM_THREADS)
    return int(numba.get_num_threads())


def run_cases(solve, cases, threads: int) -> list:
    """``[solve(case) for case in cases]``, the cases run `threads` at a time.

    With ``threads > 1`` every case runs on a thread of a pool, alone there: its kernels
    serially (`threaded` returns 0) and its transforms on one worker
    (``transforms.fft_workers``), so each case computes the bits it computes alone;
    the Numba kernels (``nogil=True``) and scipy.fft release the GIL. `solve` must
    give each case its own work arrays. The results come back in the order of `cases`;
    the first exception raised is raised here.
    """
    cases = list(cases)
    if threads <= 1 or len(cases) <= 1:
        return [solve(case) for case in cases]

    def alone(case):
        _LOCAL.serial = True
        try:
            return solve(case)
        finally:
            _LOCAL.serial = False

    with ThreadPoolExecutor(max_workers=min(threads, len(cases))) as pool:
        return list(pool.map(alone, cases))


def pair(function):
    """The serial and the parallel compilation of `function`, indexed by `threaded`."""
    return (
        njit(cache=True, nogil=True)(function),
        njit(cache=True, nogil=True, parallel=True)(function),
    )


def by_size(argument: int = 0):
    """Decorator: compile a kernel twice (`pair`) and run the parallel compilation where
    positional argument `argument` has at least `PARALLEL_SIZE` entries.

    The wrapper is a Python function (for Python callers only); ``.serial`` and
    ``.parallel`` are the two compilations.
    """

    def decorate(function):
        kernels = pair(function)

        @functools.wraps(function)
        def run(*args):
            return kernels[threaded(args[argument].size)](*args)

        run.serial, run.parallel = kernels
        return run

    return decorate
