"""Numba kernels of the conjugate gradient: the vector operations on flat arrays (private).

Shared by every cell problem; ``pcg.py`` calls them on 1-D views of the fields.
"""

from numba import njit


@njit(cache=True, nogil=True)
def dot(a, b):
    """Return ``a . b`` for 1-D arrays of equal length."""
    s = 0.0
    for i in range(a.size):
        s += a[i] * b[i]
    return s


@njit(cache=True, nogil=True)
def cg_step(x, r, p, q, alpha):
    """In place: ``x += alpha p`` and ``r -= alpha q`` (1-D arrays)."""
    for i in range(x.size):
        x[i] += alpha * p[i]
        r[i] -= alpha * q[i]


@njit(cache=True, nogil=True)
def cg_direction(p, z, beta):
    """In place: ``p = z + beta p`` (1-D arrays)."""
    for i in range(p.size):
        p[i] = z[i] + beta * p[i]
