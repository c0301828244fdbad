"""Numba kernels of the multigrid preconditioner (private).

Fused vector updates of the Chebyshev smoother on flat float64 arrays: one
pass over memory instead of the three or four of the numpy expressions.
"""

from numba import njit


@njit(cache=True, nogil=True)
def chebyshev_first(x, d, r, inverse_diagonal, scale):
    """In place: ``d = scale * r / diag``, ``x = d`` (the first step from ``x = 0``)."""
    for i in range(x.size):
        step = scale * inverse_diagonal[i] * r[i]
        d[i] = step
        x[i] = step


@njit(cache=True, nogil=True)
def chebyshev_next(x, d, r, inverse_diagonal, keep, scale):
    """In place: ``d = keep * d + scale * r / diag``, ``x += d``."""
    for i in range(x.size):
        step = keep * d[i] + scale * inverse_diagonal[i] * r[i]
        d[i] = step
        x[i] += step


@njit(cache=True, nogil=True)
def subtract(r, q):
    """In place: ``r -= q``."""
    for i in range(r.size):
        r[i] -= q[i]


@njit(cache=True, nogil=True)
def residual(b, q, r):
    """``r = b - q``."""
    for i in range(r.size):
        r[i] = b[i] - q[i]


@njit(cache=True, nogil=True)
def csr_matvec(indptr, indices, data, x, out):
    """``out = A x`` for ``A`` in compressed sparse rows (``indptr``, ``indices``, ``data``)."""
    for row in range(out.size):
        s = 0.0
        for position in range(indptr[row], indptr[row + 1]):
            s += data[position] * x[indices[position]]
        out[row] = s
