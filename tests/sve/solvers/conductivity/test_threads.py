"""The threaded conductivity kernels give the same bits on any number of threads."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from sve.solvers import apparent_conductivity
from sve.solvers._core import threads
from sve.solvers.conductivity import q1_kernels
from tests.sve.solvers._media import smooth_two_phase

THREADS = min(2, numba.config.NUMBA_NUM_THREADS)


@pytest.mark.slow  # 1-5 s a case at load 8, 10 s for the first (loading the parallel kernels)
@pytest.mark.parametrize(
    ("bc", "discretization", "values"),
    [
        ("periodic", "q1", (1.0, 100.0)),  # the Q1 W-cycle (contrast 100 at 20^3)
        ("periodic", "q1", (0.0, 1.0)),  # voids: the projected cycle
        ("mixed", "q1", (1.0, 100.0)),
        ("mixed", "fv", (0.0, 1.0)),  # the aggregation multigrid on the labels
    ],
)
def test_multigrid_tensors_are_the_same_bits_on_one_and_two_threads(
    monkeypatch, bc, discretization, values
):
    if THREADS < 2:
        pytest.skip("Numba has a single thread here")
    phases = smooth_two_phase((20, 20, 20), np.random.default_rng(3))
    options = dict(bc=bc, discretization=discretization, preconditioner="multigrid", tol=1e-8)
    results = []
    default = numba.get_num_threads()
    try:
        for size, count in ((1 << 62, 1), (1 << 9, 1), (1 << 9, THREADS)):
            monkeypatch.setattr(threads, "PARALLEL_SIZE", size)  # none threaded, or levels 0 and 1
            numba.set_num_threads(count)
            result = apparent_conductivity(phases, list(values), **options)
            results.append((result.tensor, result.iterations))
    finally:
        numba.set_num_threads(default)
    # Threaded on one thread and on two: the same bits. Serially as well: every threaded
    # kernel keeps the serial order of its sums, and at 20^3 (< blocked_dot's CHUNK of
    # 2**14 entries) the blocked dot product is one piece, the serial sum.
    for tensor, iterations in results[1:]:
        assert np.array_equal(tensor, results[0][0], equal_nan=True)  # mixed: NaN off-diagonal
        assert iterations == results[0][1]


@pytest.mark.parametrize("open_axis", [False, True])
@pytest.mark.parametrize("pieces", [1, 2, 3, 7])
def test_flux_slabs_sum_every_node_in_the_serial_order(open_axis, pieces):
    rng = np.random.default_rng(5)
    elements = (7, 5, 6)  # odd: slabs of unequal rows
    nodes = tuple(n + open_axis for n in elements)
    u = rng.standard_normal(nodes)
    w = rng.standard_normal(8)
    k = rng.random(elements)
    modes = rng.random(8)
    serial = np.empty(nodes)
    q1_kernels.flux_rows(u, w, k, modes, serial, None)
    slabs = np.full(nodes, np.nan)  # every node written: no NaN left
    q1_kernels._flux_slabs(u, w, k, modes, slabs, None, pieces)
    q1_kernels._flux_last(u, w, k, modes, slabs, None)
    assert np.array_equal(slabs, serial)
