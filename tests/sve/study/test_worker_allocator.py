"""The workers of a study take the fields of small SVEs from the heap (AllocatorPlugin);
those of the embedded cluster run without Dask's statistical profiler.
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack

import dask
import numpy as np
import pytest

from sve.study import run

pytestmark = pytest.mark.slow


def _faults_per_solve(solves: int = 4) -> float:
    """Minor page faults of this thread per periodic 32^3 Q1 multigrid tensor."""
    import resource  # (POSIX only)

    from sve.solvers import apparent_conductivity

    image = (np.random.default_rng(3).random((32, 32, 32)) < 0.5).astype(np.int8)

    def solve():
        apparent_conductivity(image, [1.0, 100.0], tol=1e-6, preconditioner="multigrid")

    solve()  # compiled kernels, cached index arrays, the heap grown once
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(solves):
        solve()
    return (resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before) / solves


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux")
def test_study_workers_do_not_map_the_fields_of_small_sves_afresh():
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which fixes glibc's
    # mmap threshold at 128 KiB: a 32^3 tensor then mapped its 256 KiB fields afresh, about
    # 1600 page faults per tensor (measured without the plugin); tuned, a few.
    here = dask.config.get("distributed.worker.profile.enabled")
    with ExitStack() as stack:
        client = run._client(stack, None, 1)
        faults = client.submit(_faults_per_solve, pure=False).result()
        profiling = client.run(dask.config.get, "distributed.worker.profile.enabled")
    assert faults < 100, faults
    # the embedded cluster's workers: no statistical profiler (run.EMBEDDED_WORKER_CONFIG)
    assert list(profiling.values()) == [False]
    assert dask.config.get("distributed.worker.profile.enabled") == here  # not leaked


def test_the_allocator_is_tuned_where_glibc_is():
    # In a child process: mallopt would change this test process's allocator for good.
    code = "from sve.study.run import tune_allocator; print(tune_allocator())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(sys.platform.startswith("linux"))
