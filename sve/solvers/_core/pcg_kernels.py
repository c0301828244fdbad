"""Numba kernels of the conjugate gradient: the vector operations on flat arrays (private).

Shared by every cell problem; ``pcg.py`` calls them on 1-D views of the fields.
"""

import numpy as np
from numba import njit, prange

from sve.solvers._core.threads import pair, threaded


@njit(cache=True, nogil=True)
def dot(a, b):
    """Return ``a . b`` for 1-D arrays of equal length."""
    s = 0.0
    for i in range(a.size):
        s += a[i] * b[i]
    return s


@njit(cache=True, nogil=True)
def axpy(a, x, y):
    """In place ``y += a x`` (1-D arrays, no temporary)."""
    for i in range(x.size):
        y[i] += a * x[i]


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


# -- threaded versions (opted into by a caller of ``pcg``: ``vector_ops=THREADED``) --

#: Entries summed in one piece by `blocked_dot`: the pieces, and the order of their sum, do
#: not depend on the number of threads, so neither do the bits of the result.
CHUNK = 1 << 14


def _blocked_dot(a, b):
    """``a . b`` summed per piece of `CHUNK` entries, then over the pieces in order."""
    n = a.size
    pieces = (n + CHUNK - 1) // CHUNK
    partial = np.empty(pieces)
    for c in prange(pieces):
        s = 0.0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            s += a[i] * b[i]
        partial[c] = s
    total = 0.0
    for c in range(pieces):
        total += partial[c]
    return total


def _step(x, r, p, q, alpha):
    for i in prange(x.size):
        x[i] += alpha * p[i]
        r[i] -= alpha * q[i]


def _direction(p, z, beta):
    for i in prange(p.size):
        p[i] = z[i] + beta * p[i]


_BLOCKED_DOT, _STEP, _DIRECTION = pair(_blocked_dot), pair(_step), pair(_direction)


def blocked_dot(a, b):
    """`dot` summed by pieces (`CHUNK`), threaded from ``threads.PARALLEL_SIZE`` entries on;
    the same bits on any number of threads (not those of `dot`).
    """
    return _BLOCKED_DOT[threaded(a.size)](a, b)


def threaded_step(x, r, p, q, alpha):
    """`cg_step`, threaded from ``threads.PARALLEL_SIZE`` entries on (the same bits)."""
    _STEP[threaded(x.size)](x, r, p, q, alpha)


def threaded_direction(p, z, beta):
    """`cg_direction`, threaded from ``threads.PARALLEL_SIZE`` entries on (the same bits)."""
    _DIRECTION[threaded(p.size)](p, z, beta)


#: The vector operations of conjugate gradients (dot, step, direction), threaded.
THREADED = (blocked_dot, threaded_step, threaded_direction)


# -- the conjugate gradient without its iterate (``pcg.pcg_free``) --


def _residual_step(r, q, alpha):
    for i in prange(r.size):
        r[i] -= alpha * q[i]


_RESIDUAL_STEP = pair(_residual_step)


def residual_step(r, q, alpha):
    """In place ``r -= alpha q`` (1-D arrays), threaded from ``threads.PARALLEL_SIZE``
    entries on (the same bits): `cg_step` without the iterate.
    """
    _RESIDUAL_STEP[threaded(r.size)](r, q, alpha)


def half_dot(a, half, buffer):
    """``a . half`` for a float64 `a` and a float16 `half` (1-D, equal length): `half`
    widened (exactly) into `buffer` (float64, any length >= 1) a piece at a time, the
    pieces summed by `dot` in order (Numba has no float16): the same bits whatever the
    number of threads.
    """
    n, size = a.size, buffer.size
    total = 0.0
    for start in range(0, n, size):
        stop = min(n, start + size)
        piece = buffer[: stop - start]
        piece[...] = half[start:stop]
        total += dot(a[start:stop], piece)
    return total
