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


#: Partial sums of `lane_piece`: entry ``i`` of a piece goes to sum ``i % LANES``.
LANES = 8
#: Entries summed in one piece by `blocked_dot` and `lane_dot`: the pieces, and the order of
#: their sum, do not depend on the number of threads, so neither do the bits of the result.
CHUNK = 1 << 14


@njit(cache=True, nogil=True)
def lane_piece(a, b):
    """``a . b`` (1-D arrays of equal length) in `LANES` partial sums: entry ``i`` is added
    to sum ``i % LANES`` in order, then the sums as ``((s0 + s4) + (s2 + s6)) + ((s1 + s5)
    + (s3 + s7))``. The compiler turns the independent sums into vector instructions (on
    views from 0: with an offset index it did not, 0.020 against 0.0095 ms at 32^3).
    """
    n = a.size
    m = n - n % LANES
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for i in range(0, m, LANES):
        s0 += a[i] * b[i]
        s1 += a[i + 1] * b[i + 1]
        s2 += a[i + 2] * b[i + 2]
        s3 += a[i + 3] * b[i + 3]
        s4 += a[i + 4] * b[i + 4]
        s5 += a[i + 5] * b[i + 5]
        s6 += a[i + 6] * b[i + 6]
        s7 += a[i + 7] * b[i + 7]
    tail = n - m  # at most LANES - 1 entries, into s0 ... s6
    if tail > 0:
        s0 += a[m] * b[m]
    if tail > 1:
        s1 += a[m + 1] * b[m + 1]
    if tail > 2:
        s2 += a[m + 2] * b[m + 2]
    if tail > 3:
        s3 += a[m + 3] * b[m + 3]
    if tail > 4:
        s4 += a[m + 4] * b[m + 4]
    if tail > 5:
        s5 += a[m + 5] * b[m + 5]
    if tail > 6:
        s6 += a[m + 6] * b[m + 6]
    return ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7))


@njit(cache=True, nogil=True)
def lane_dot(a, b):
    """Return ``a . b`` for 1-D arrays of equal length: `lane_piece` per piece of `CHUNK`
    entries, the pieces added in order to 0.0. 0.0095 against 0.027 ms for `dot` on 32^3
    entries; `threaded_lane_dot` has its bits on any number of threads, and
    ``pcg_batch_kernels.dots`` per column.
    """
    n = a.size
    total = 0.0
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        total += lane_piece(a[start:stop], b[start:stop])
    return total


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


def _blocked_lane_dot(a, b):
    """`lane_dot`, its pieces side by side."""
    n = a.size
    pieces = (n + CHUNK - 1) // CHUNK
    partial = np.empty(pieces)
    for c in prange(pieces):
        start, stop = c * CHUNK, min(n, (c + 1) * CHUNK)
        partial[c] = lane_piece(a[start:stop], b[start:stop])
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
_LANE_DOT = pair(_blocked_lane_dot)


def blocked_dot(a, b):
    """`dot` summed by pieces (`CHUNK`), threaded from ``threads.PARALLEL_SIZE`` entries on;
    the same bits on any number of threads (not those of `dot`).
    """
    return _BLOCKED_DOT[threaded(a.size)](a, b)


def threaded_lane_dot(a, b):
    """`lane_dot`, threaded from ``threads.PARALLEL_SIZE`` entries on (the same bits)."""
    return _LANE_DOT[threaded(a.size)](a, b)


def threaded_step(x, r, p, q, alpha):
    """`cg_step`, threaded from ``threads.PARALLEL_SIZE`` entries on (the same bits)."""
    _STEP[threaded(x.size)](x, r, p, q, alpha)


def threaded_direction(p, z, beta):
    """`cg_direction`, threaded from ``threads.PARALLEL_SIZE`` entries on (the same bits)."""
    _DIRECTION[threaded(p.size)](p, z, beta)


#: The vector operations of conjugate gradients (dot, step, direction), threaded.
THREADED = (blocked_dot, threaded_step, threaded_direction)
#: `THREADED` with `lane_dot`'s sums (the vector operations of small fields).
THREADED_SMALL = (threaded_lane_dot, threaded_step, threaded_direction)


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
