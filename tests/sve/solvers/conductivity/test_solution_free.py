"""Q1 multigrid solves that keep no solution (``pcg.pcg_free``, ``cell_problem._solve_free``
and ``_static_free``): the tensors, iterations and Hill-Mandel defects of the solves that
keep it. The path runs from ``pcg.FREE_FROM`` unknowns (a 64^3 image); here it is forced on
small images by lowering the threshold.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from sve.solvers import apparent_conductivity
from sve.solvers._core import threads
from sve.solvers._core.pcg import pcg, pcg_free
from sve.solvers._core.pcg_kernels import half_dot
from sve.solvers.conductivity import cell_problem
from sve.solvers.conductivity.fv import Phases
from sve.solvers.conductivity.q1 import Q1Grid
from tests.sve.solvers._media import smooth_two_phase


def test_pcg_free_has_the_iterations_and_residual_of_pcg_and_sums_the_solution():
    rng = np.random.default_rng(4)
    n = 60
    root = rng.standard_normal((n, n))
    matrix = root @ root.T + n * np.eye(n)
    inverse_diagonal = 1.0 / np.diag(matrix)
    b = rng.standard_normal(n)
    probe = rng.standard_normal(n)  # a linear functional of the solution

    def apply(p, out):
        out[...] = matrix @ p

    def precondition(r, out):
        out[...] = inverse_diagonal * r

    x = np.empty(n)
    work = tuple(np.empty(n) for _ in range(3))
    kept = pcg(apply, precondition, b, x, tol=1e-10, maxiter=200, work=work)
    kept_residual = work[0].copy()
    total = [0.0]

    def observe(p, alpha):
        total[0] += alpha * float(probe @ p)

    work = tuple(np.empty(n) for _ in range(3))
    free = pcg_free(apply, precondition, b, observe=observe, tol=1e-10, maxiter=200, work=work)
    assert free == kept  # the same scalars in the same order
    assert np.array_equal(work[0], kept_residual)  # the recursive residual, bit for bit
    # sum_k alpha_k probe . p_k against probe . x: the same sum, grouped otherwise
    assert total[0] == pytest.approx(float(probe @ x), rel=1e-12)


def test_half_dot_widens_exactly_and_sums_by_pieces():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(1001)
    half = rng.standard_normal(1001).astype(np.float16)
    for size in (1, 64, 2000):
        value = half_dot(a, half, np.empty(size))
        assert value == pytest.approx(float(a @ half.astype(np.float64)), rel=1e-13)


@pytest.mark.parametrize("shape", [(5, 6, 7), (6, 7)])
@pytest.mark.parametrize("kind", ["periodic", "dirichlet"])
@pytest.mark.parametrize("labels", [False, True])
def test_direction_mean_is_mean_flux_and_mean_gradient(shape, kind, labels):
    """``q1_free_kernels``: the sums of ``mean_flux`` in another order (odd edges: the
    wrapped last element of a periodic row)."""
    rng = np.random.default_rng(9)
    phases = rng.integers(0, 3, shape)
    table = np.array([0.5, 2.0, 7.0])
    k = (
        Phases(phases, table, np.bincount(phases.ravel(), minlength=3))
        if labels
        else (table[phases])
    )
    grid = Q1Grid(k, (kind,) * len(shape), np.array([1.0, 2.0, 0.5])[: len(shape)])
    u = rng.standard_normal(grid.shape)
    zero = np.zeros(len(shape))
    scale = 1e-13 * 7.0 * np.abs(u).max() / 0.5  # round-off of sums of k |u| / h
    # (periodic: the mean gradient telescopes to 0, the sums to round-off)
    assert np.allclose(grid.direction_mean(u), grid.mean_flux(u, zero), rtol=0, atol=scale)
    assert np.allclose(
        grid.direction_mean(u, flux=False), grid.mean_gradient(u), rtol=0, atol=scale
    )


def _solve(phases, values, bc, free, **options):
    options = {"tol": 1e-8, **options}
    return apparent_conductivity(
        phases, values, bc=bc, preconditioner="multigrid", maxiter=4000, **options
    )


@pytest.mark.parametrize("bc", ["periodic", "kinematic", "mixed", "static"])
@pytest.mark.parametrize(
    ("shape", "values"),
    [((12, 12, 12), (1.0, 1e4)), ((12, 12, 12), (0.0, 1.0, 1e2)), ((32, 32), (1.0, 1e4))],
)
def test_tensors_iterations_and_defects_are_those_of_the_kept_solution(
    monkeypatch, bc, shape, values
):
    rng = np.random.default_rng(11)
    phases = smooth_two_phase(shape, rng)
    if len(values) == 3:  # a void phase (12 %) in the two-phase medium
        phases = np.where(rng.random(shape) < 0.12, 0, phases + 1)
    kept = _solve(phases, list(values), bc, False)
    monkeypatch.setattr(cell_problem, "FREE_FROM", 0)
    free = _solve(phases, list(values), bc, True)
    # the solve is the same (the same recursive residuals); only the sums that make the
    # tensor are grouped otherwise: round-off (measured up to 3e-14)
    assert free.iterations == kept.iterations
    scale = np.linalg.norm(np.nan_to_num(kept.tensor))
    assert np.allclose(free.tensor, kept.tensor, rtol=0.0, atol=1e-12 * scale, equal_nan=True)
    if bc == "mixed":  # the gap is its diagonal, -u . (b - A u) / V: the drift of the
        # recursive residual from the true one, which the kept path sees (below tol: up to
        # 2.3e-9 at contrast 1e4 in 2-D) and a solve without u cannot; it reports 0
        assert free.hill_mandel_defect == 0.0 and kept.hill_mandel_defect <= 1e-8
    else:  # the cross terms of every pair of cases, from the kept forces; where they are
        # at round-off (static, 2-D: 4e-12 and 9e-12) the residual drift is not negligible
        defects = (free.hill_mandel_defect, kept.hill_mandel_defect)
        assert defects[0] == pytest.approx(defects[1], rel=1e-3) or max(defects) <= 1e-10


@pytest.mark.parametrize(
    ("shape", "values"), [((12, 12, 12), (1.0, 1e4)), ((32, 32), (0.0, 1.0, 1e2))]
)
def test_single_precision_static_keeps_forces_for_the_same_tensor(monkeypatch, shape, values):
    """``_static_forces``: the tensor comes from the mean gradients, as before (the same
    bits); the defect from float16 forces instead of float32 temperatures.
    """
    rng = np.random.default_rng(6)
    phases = smooth_two_phase(shape, rng)
    if len(values) == 3:  # a few voids (3 %): a compatible flux remains
        phases = np.where(rng.random(shape) < 0.03, 0, phases + 1)
    options = dict(precision="single", tol=1e-7)
    kept = _solve(phases, list(values), "static", False, **options)
    monkeypatch.setattr(cell_problem, "FREE_FROM", 0)
    forces = _solve(phases, list(values), "static", True, **options)
    assert forces.iterations == kept.iterations
    assert np.array_equal(forces.tensor, kept.tensor)
    # The defect pairs temperatures with forces nearly orthogonal to them, so the rounding
    # of the kept arrays shows: against float64 temperatures (measured on these media and
    # at 24^3 and 32^2, contrast 1e4) the float32 temperatures of the kept path are off by
    # up to 33 %, the float16 forces here by 1e-3 at most. Both at the solver's tolerance:
    assert kept.hill_mandel_defect > 1e-10
    assert forces.hill_mandel_defect == pytest.approx(kept.hill_mandel_defect, rel=0.4)


def test_local_fields_keep_the_solution(monkeypatch):
    """``fields=True`` needs the solution: the kept path, bit for bit."""
    phases = smooth_two_phase((12, 12, 12), np.random.default_rng(1))
    plain = _solve(phases, [1.0, 10.0], "periodic", False, fields=True)
    monkeypatch.setattr(cell_problem, "FREE_FROM", 0)
    forced = _solve(phases, [1.0, 10.0], "periodic", True, fields=True)
    assert np.array_equal(forced.tensor, plain.tensor)
    assert forced.fields is not None


@pytest.mark.slow  # 2-4 s a case at load 3 (the parallel kernels load first)
@pytest.mark.parametrize("bc", ["periodic", "static"])
def test_the_same_bits_on_one_and_two_threads(monkeypatch, bc):
    count = min(2, numba.config.NUMBA_NUM_THREADS)
    if count < 2:
        pytest.skip("Numba has a single thread here")
    phases = smooth_two_phase((20, 20, 20), np.random.default_rng(3))
    monkeypatch.setattr(cell_problem, "FREE_FROM", 0)
    results = []
    default = numba.get_num_threads()
    try:
        for size, threads_used in ((1 << 62, 1), (1 << 9, 1), (1 << 9, count)):
            monkeypatch.setattr(threads, "PARALLEL_SIZE", size)
            numba.set_num_threads(threads_used)
            result = _solve(phases, [1.0, 100.0], bc, True)
            results.append((result.tensor, result.iterations, result.hill_mandel_defect))
    finally:
        numba.set_num_threads(default)
    for tensor, iterations, defect in results[1:]:
        assert np.array_equal(tensor, results[0][0])
        assert iterations == results[0][1] and defect == results[0][2]
