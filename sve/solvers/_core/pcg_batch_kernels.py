"""Numba kernels of the lock-step conjugate gradients of many systems (private).

Each system is one column of a 2-D array (unknowns, columns): the loops run over the
unknowns outside and over the columns inside, so that the compiler turns the inner loop
into vector instructions across systems (from 32 columns on: 8 float64 lanes of AVX-512
times 4). Every column gets the operations of ``pcg_kernels.py`` in the same order (the
dot products sum the unknowns of a column in the order of ``pcg_kernels.lane_dot``), so a
system solved in a batch has the iterates it has alone, bit for bit.
"""

import numpy as np
from numba import njit

from sve.solvers._core.pcg_kernels import CHUNK, LANES


@njit(cache=True, nogil=True)
def _add_lanes(sums, out):
    """``out[c] +=`` the `LANES` partial sums ``sums[:, c]`` added as ``lane_piece`` adds
    them; `sums` is zeroed for the next piece.
    """
    for c in range(out.size):
        out[c] += ((sums[0, c] + sums[4, c]) + (sums[2, c] + sums[6, c])) + (
            (sums[1, c] + sums[5, c]) + (sums[3, c] + sums[7, c])
        )
    sums[...] = 0.0


@njit(cache=True, nogil=True)
def dots(a, b, out):
    """``out[c] = a[:, c] . b[:, c]`` for every column, summed as ``pcg_kernels.lane_dot``
    sums: row ``i`` into partial sum ``i % LANES`` of its piece of `CHUNK` rows, the pieces
    added in order to 0.0.
    """
    out[:] = 0.0
    sums = np.zeros((LANES, out.size))
    n = a.shape[0]
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        for i in range(start, stop):
            ai, bi, si = a[i], b[i], sums[(i - start) % LANES]
            for c in range(out.size):
                si[c] += ai[c] * bi[c]
        _add_lanes(sums, out)


@njit(cache=True, nogil=True)
def cg_steps(x, r, p, q, alpha):
    """``x[:, c] += alpha[c] p[:, c]`` and ``r[:, c] -= alpha[c] q[:, c]``."""
    for i in range(x.shape[0]):
        xi, ri, pi, qi = x[i], r[i], p[i], q[i]
        for c in range(alpha.size):
            xi[c] += alpha[c] * pi[c]
            ri[c] -= alpha[c] * qi[c]


@njit(cache=True, nogil=True)
def cg_directions(p, z, beta):
    """``p[:, c] = z[:, c] + beta[c] p[:, c]``."""
    for i in range(p.shape[0]):
        pi, zi = p[i], z[i]
        for c in range(beta.size):
            pi[c] = zi[c] + beta[c] * pi[c]


@njit(cache=True, nogil=True)
def cg_steps_staged(x, r, p, q, alpha, staged):
    """`cg_steps`, and ``staged[:, c] = float32(r[:, c])`` of the updated `r` (one pass).

    `staged` (unknowns, columns) float32: the residual as the single-precision
    preconditioner takes it, rounded to nearest as ``staged[...] = r`` rounds.
    """
    for i in range(x.shape[0]):
        xi, ri, pi, qi, si = x[i], r[i], p[i], q[i], staged[i]
        for c in range(alpha.size):
            xi[c] += alpha[c] * pi[c]
            ri[c] -= alpha[c] * qi[c]
            si[c] = ri[c]


@njit(cache=True, nogil=True)
def widened_dots(source, r, z, out):
    """``z = float64(source)`` and ``out[c] = r[:, c] . z[:, c]`` (`dots`) in one pass.

    `source` (unknowns, columns) float32, the single-precision preconditioner's result;
    the sums run in the order of `dots`, so `out` has its bits.
    """
    out[:] = 0.0
    sums = np.zeros((LANES, out.size))
    n = r.shape[0]
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        for i in range(start, stop):
            si, ri, zi, ti = source[i], r[i], z[i], sums[(i - start) % LANES]
            for c in range(out.size):
                zi[c] = si[c]
                ti[c] += ri[c] * zi[c]
        _add_lanes(sums, out)
