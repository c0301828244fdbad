"""Dense solves of the multigrid coarsest levels (Numba): Cholesky factorization and
solve, and the product with a precomputed (pseudo-)inverse.

Shared by the conductivity, elasticity and permeability multigrid hierarchies. Plain
loops, serial: the same bits whatever the number of BLAS threads.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def cholesky(matrix):
    """Overwrite the lower triangle of the SPD `matrix` (n, n) with its Cholesky factor ``L``
    (``matrix = L L^T``; the strict upper triangle is left as it was); return False if a
    pivot is not positive (the matrix is not numerically positive definite).

    Plain loops (Cholesky-Banachiewicz, column by column) rather than LAPACK: the coarsest
    levels hold at most a few hundred unknowns, where a threaded BLAS costs more in thread
    synchronization than the n**3 / 3 flops (0.1 s instead of 0.3 ms for n = 64 on a loaded
    2-core machine).
    """
    n = matrix.shape[0]
    for j in range(n):
        pivot = matrix[j, j]
        for m in range(j):
            pivot -= matrix[j, m] * matrix[j, m]
        if not pivot > 0.0:
            return False
        pivot = np.sqrt(pivot)
        matrix[j, j] = pivot
        for i in range(j + 1, n):
            value = matrix[i, j]
            for m in range(j):
                value -= matrix[i, m] * matrix[j, m]
            matrix[i, j] = value / pivot
    return True


@njit(cache=True, nogil=True)
def matvec(matrix, x, y):
    """``y = matrix @ x`` (dense, serial: no BLAS threads)."""
    n, m = matrix.shape
    for i in range(n):
        total = 0.0
        for j in range(m):
            total += matrix[i, j] * x[j]
        y[i] = total


@njit(cache=True, nogil=True)
def cholesky_solve(factor, keep, b, x):
    """``x[keep] = (L L^T)^-1 b[keep]`` and ``x = 0`` elsewhere, ``L`` the lower triangle of
    `factor` (`cholesky`) over the unknowns `keep` (int64 indices, in order).
    """
    n = keep.size
    y = np.empty(n)
    for i in range(n):  # forward: L y = b
        value = b[keep[i]]
        for m in range(i):
            value -= factor[i, m] * y[m]
        y[i] = value / factor[i, i]
    for i in range(n - 1, -1, -1):  # backward: L^T z = y
        value = y[i]
        for m in range(i + 1, n):
            value -= factor[m, i] * y[m]
        y[i] = value / factor[i, i]
    x[:] = 0.0
    for i in range(n):
        x[keep[i]] = y[i]
