"""Numba kernels of the Q1 solves that keep no solution (private; ``cell_problem._solve_free``).

Every iteration of those solves takes the volume average of ``k grad p`` of its search
direction ``p`` (``pcg.pcg_free``). ``q1_kernels.mean_flux_3d`` computes it element by
element with the wrapped indices of every corner, as long as an operator application
(14 ms at 128^3); `flux_sums_3d` runs the inner axis without the wrap (the last element
of a periodic row apart), which the compiler vectorizes. It sums the same terms in
another order: not the bits of ``mean_flux_3d`` (the solves that keep ``u`` use that),
but the same bits on any number of threads (serial).
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _row_3d(u, k, table, unit, i, i1, j, j1, start, stop, wrap, sums):
    """Add the unscaled ``sum c (g0, g1, g2)`` of elements ``(i, j, start..stop-1)`` to
    `sums` (4 times the element gradients times ``h``); with `wrap` the element ``stop``
    whose upper corner is node 0 as well. With `unit`, ``c = 1`` (``k`` not read).
    """
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for l in range(start, stop):
        a = u[i, j, l]
        b = u[i, j, l + 1]
        c = u[i, j1, l]
        d = u[i, j1, l + 1]
        e = u[i1, j, l]
        f = u[i1, j, l + 1]
        g = u[i1, j1, l]
        h = u[i1, j1, l + 1]
        w = 1.0 if unit else (k[i, j, l] if table is None else table[k[i, j, l]])
        s0 += w * ((e + f + g + h) - (a + b + c + d))
        s1 += w * ((c + d + g + h) - (a + b + e + f))
        s2 += w * ((b + d + f + h) - (a + c + e + g))
    if wrap:
        l = stop
        a = u[i, j, l]
        b = u[i, j, 0]
        c = u[i, j1, l]
        d = u[i, j1, 0]
        e = u[i1, j, l]
        f = u[i1, j, 0]
        g = u[i1, j1, l]
        h = u[i1, j1, 0]
        w = 1.0 if unit else (k[i, j, l] if table is None else table[k[i, j, l]])
        s0 += w * ((e + f + g + h) - (a + b + c + d))
        s1 += w * ((c + d + g + h) - (a + b + e + f))
        s2 += w * ((b + d + f + h) - (a + c + e + g))
    sums[0] += s0
    sums[1] += s1
    sums[2] += s2


@njit(cache=True, nogil=True)
def flux_sums_3d(u, k, h, out, table=None, unit=False):
    """Write the volume average of ``k grad u`` into ``out`` (3,), the grids and the
    element gradients as in ``q1_kernels.mean_flux_3d`` (no affine part); with `unit`
    that of ``grad u`` (``k`` gives the element grid only).
    """
    n0, n1, n2 = k.shape
    m0, m1, m2 = u.shape
    wrap = m2 == n2  # periodic axis 2: the last element of a row reaches node 0
    stop = n2 - 1 if wrap else n2
    sums = np.zeros(3)
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            _row_3d(u, k, table, unit, i, i1, j, j1, 0, stop, wrap, sums)
    n = n0 * n1 * n2
    out[0] = sums[0] / (4.0 * h[0] * n)
    out[1] = sums[1] / (4.0 * h[1] * n)
    out[2] = sums[2] / (4.0 * h[2] * n)


@njit(cache=True, nogil=True)
def flux_sums_2d(u, k, h, out, table=None, unit=False):
    """`flux_sums_3d` in 2-D: the volume average of ``k grad u`` (``grad u`` with `unit`)
    into ``out`` (2,), the corners as in ``q1_kernels.mean_flux_2d``.
    """
    n0, n1 = k.shape
    m0, m1 = u.shape
    s0 = 0.0
    s1 = 0.0
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            a = u[i, j]
            b = u[i, j1]
            c = u[i1, j]
            d = u[i1, j1]
            w = 1.0 if unit else (k[i, j] if table is None else table[k[i, j]])
            s0 += w * ((c + d) - (a + b))
            s1 += w * ((b + d) - (a + c))
    n = n0 * n1
    out[0] = s0 / (2.0 * h[0] * n)
    out[1] = s1 / (2.0 * h[1] * n)
