"""The shared conjugate gradient of every cell problem, on small dense systems."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sve.solvers._core import pcg_batch_kernels, pcg_kernels
from sve.solvers._core.pcg import pcg
from sve.solvers._core.pcg_kernels import CHUNK


def _system(n: int, condition: float, rng: np.random.Generator):
    """SPD matrix with eigenvalues spread over [1, condition] and a right-hand side."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    matrix = q @ np.diag(np.geomspace(1.0, condition, n)) @ q.T
    return matrix, rng.standard_normal(n)


def _solve(matrix, b, precondition, *, tol, maxiter):
    def apply(p, out):
        out[:] = matrix @ p

    x = np.zeros_like(b)
    work = tuple(np.empty_like(b) for _ in range(3))
    iterations, residual = pcg(
        apply, precondition, b.copy(), x, tol=tol, maxiter=maxiter, work=work
    )
    return x, iterations, residual


def test_solves_a_dense_spd_system_to_its_tolerance():
    matrix, b = _system(40, 1e3, np.random.default_rng(3))
    x, iterations, residual = _solve(
        matrix, b, lambda r, out: out.__setitem__(..., r), tol=1e-10, maxiter=200
    )
    # the classical CG bound: sqrt(kappa) / 2 * ln(2 / tol) iterations (rounding breaks the
    # n-step termination of exact arithmetic, not this bound)
    assert residual <= 1e-10 and 0 < iterations <= np.ceil(0.5 * np.sqrt(1e3) * np.log(2e10))
    # relative error <= condition number x relative residual (identity preconditioner)
    exact = np.linalg.solve(matrix, b)
    assert np.linalg.norm(x - exact) <= 1e3 * 1e-10 * np.linalg.norm(exact) * 10


def test_an_exact_preconditioner_converges_in_one_iteration():
    matrix, b = _system(30, 1e6, np.random.default_rng(4))
    inverse = np.linalg.inv(matrix)
    x, iterations, _ = _solve(
        matrix, b, lambda r, out: out.__setitem__(..., inverse @ r), tol=1e-8, maxiter=50
    )
    assert iterations == 1
    np.testing.assert_allclose(x, np.linalg.solve(matrix, b), rtol=1e-6)


def test_maxiter_stops_and_reports_the_residual_reached():
    matrix, b = _system(60, 1e6, np.random.default_rng(5))
    _, iterations, residual = _solve(
        matrix, b, lambda r, out: out.__setitem__(..., r), tol=1e-12, maxiter=5
    )
    assert iterations == 5 and residual > 1e-12


@pytest.mark.parametrize("n", [1, 7, 9, CHUNK, CHUNK + 13, 2 * CHUNK + 8])
def test_lane_dot_is_one_order_of_the_sums_in_every_kernel(n):
    """The conjugate gradient's dot product of small fields (`lane_dot`) has the bits of its
    threaded twin and of the batched kernels' per-column sums, and is the dot product."""
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal((n, 5)), rng.standard_normal((n, 5))
    dots, widened, z = np.empty(5), np.empty(5), np.empty((n, 5))
    pcg_batch_kernels.dots(a, b, dots)
    pcg_batch_kernels.widened_dots(b.astype(np.float32), a, z, widened)
    for c in range(5):
        ac, bc = np.ascontiguousarray(a[:, c]), np.ascontiguousarray(b[:, c])
        value = pcg_kernels.lane_dot(ac, bc)
        assert value == dots[c] == pcg_kernels._LANE_DOT[1](ac, bc)
        assert widened[c] == pcg_kernels.lane_dot(ac, np.ascontiguousarray(z[:, c]))
        assert value == pytest.approx(math.fsum(ac * bc), rel=1e-12, abs=1e-12 * n)
