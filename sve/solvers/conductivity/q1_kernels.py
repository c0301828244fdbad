"""Numba kernels of the Q1 voxel cell problems (private).

Conventions shared by every kernel here:

* Element (voxel) ``(i, j[, l])`` has its corners at nodes ``i`` and
  ``i + 1`` along every axis, indices taken modulo the node grid shape. The
  element grid is the shape of the conductivity array ``k``; the node grid
  is the shape of ``u``. A periodic grid has as many nodes as elements per
  axis (the last corner wraps to node 0); a bounded grid has one node more
  per axis (nothing wraps). The same kernels serve both.
* The ``2**d`` corners of an element are numbered by the binary digits of the
  local index ``a``, axis 0 the most significant: ``a = 4 a0 + 2 a1 + a2`` in
  3-D and ``a = 2 a0 + a1`` in 2-D, ``a_i = 1`` meaning the corner at
  ``+h_i`` along axis ``i``. This is the order of ``numpy.kron``.
* ``h`` is the array of the voxel edges per axis, float64 (d,): the voxel may
  be a box.
* ``k`` holds the conductivity of every element (float64); with ``table`` (float64,
  one value per phase) it holds the phase labels instead (integers) and the
  conductivity of element ``e`` is ``table[k[e]]``: the same float64 values, so the
  same bits, without a float64 field of the image (Numba compiles each variant,
  the ``table is None`` branch resolved at compile time).
* The element stiffness of unit conductivity is applied in the Walsh-Hadamard
  basis where it is diagonal (see ``element_modes`` in ``conductivity/q1.py``):
  ``Ke = H diag(modes) H`` with ``H`` the unnormalised ``2**d``-point
  Hadamard matrix and the factor ``2**-d`` folded into ``modes``.
"""

import numpy as np
from numba import get_num_threads, njit, prange

from sve.solvers._core.threads import threaded


@njit(cache=True, nogil=True)
def element_fluxes(a0, a1, a2, a3, a4, a5, a6, a7, c, d):
    """The corner fluxes ``c Ke a`` of one 3-D element: `a0` .. `a7` its corner values (in
    the order of the module notes), `c` its conductivity, `d` the eight `modes` (a tuple).
    The Hadamard transform of the corners, each mode scaled by ``c d_m``, transformed back
    (``Ke = H diag(modes) H``); every scalar 3-D kernel of the operator (`_flux_row`,
    `flux_rows`, ``q1_small_kernels.flux_planes``, ``q1_batch_kernels.
    nodal_flux_columns_3d``) forms its element fluxes here, in this order of operations.
    """
    d0, d1, d2, d3, d4, d5, d6, d7 = d
    b0, b1, b2, b3 = a0 + a1, a0 - a1, a2 + a3, a2 - a3
    b4, b5, b6, b7 = a4 + a5, a4 - a5, a6 + a7, a6 - a7
    a0, a2, a1, a3 = b0 + b2, b0 - b2, b1 + b3, b1 - b3
    a4, a6, a5, a7 = b4 + b6, b4 - b6, b5 + b7, b5 - b7
    b0, b4 = (a0 + a4) * (c * d0), (a0 - a4) * (c * d4)
    b1, b5 = (a1 + a5) * (c * d1), (a1 - a5) * (c * d5)
    b2, b6 = (a2 + a6) * (c * d2), (a2 - a6) * (c * d6)
    b3, b7 = (a3 + a7) * (c * d3), (a3 - a7) * (c * d7)
    a0, a1, a2, a3 = b0 + b1, b0 - b1, b2 + b3, b2 - b3
    a4, a5, a6, a7 = b4 + b5, b4 - b5, b6 + b7, b6 - b7
    b0, b2, b1, b3 = a0 + a2, a0 - a2, a1 + a3, a1 - a3
    b4, b6, b5, b7 = a4 + a6, a4 - a6, a5 + a7, a5 - a7
    return b0, b1, b2, b3, b4, b5, b6, b7


@njit(cache=True, nogil=True)
def nodal_flux_2d(u, w, k, modes, out, table=None):
    """Write ``out = sum_e k_e Ke (u_e + w)``, the nodal fluxes of ``u + w``.

    ``u`` (N0, N1) or (N0 + 1, N1 + 1) nodal field, ``w`` (4,) field added
    on every element, ``k`` (N0, N1) element conductivities, ``modes`` (4,) Hadamard
    eigenvalues of ``Ke / 4``, ``out`` (N0, N1) overwritten.
    """
    n0, n1 = k.shape
    m0, m1 = u.shape
    d0, d1, d2, d3 = modes[0], modes[1], modes[2], modes[3]
    w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
    out[...] = 0.0
    # The two 4-point Hadamard transforms (strides 1 then 2) as butterflies on scalars:
    # 1.45 times faster than through an array of 4, with the same operations in order.
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            v0 = u[i, j] + w0
            v1 = u[i, j1] + w1
            v2 = u[i1, j] + w2
            v3 = u[i1, j1] + w3
            v0, v1, v2, v3 = v0 + v1, v0 - v1, v2 + v3, v2 - v3
            v0, v2, v1, v3 = v0 + v2, v0 - v2, v1 + v3, v1 - v3
            c = k[i, j] if table is None else table[k[i, j]]
            v0 *= c * d0
            v1 *= c * d1
            v2 *= c * d2
            v3 *= c * d3
            v0, v1, v2, v3 = v0 + v1, v0 - v1, v2 + v3, v2 - v3
            v0, v2, v1, v3 = v0 + v2, v0 - v2, v1 + v3, v1 - v3
            out[i, j] += v0
            out[i, j1] += v1
            out[i1, j] += v2
            out[i1, j1] += v3


def nodal_flux_3d(u, w, k, modes, out, table=None):
    """Write ``out = sum_e k_e Ke (u_e + w)``, the nodal fluxes of ``u + w``.

    ``u`` (N0, N1, N2) or (N0 + 1, N1 + 1, N2 + 1) nodal field, ``w`` (8,)
    field added on every element, ``k`` (N0, N1, N2) element conductivities, ``modes`` (8,)
    Hadamard eigenvalues of ``Ke / 8``, ``out`` (N0, N1, N2) overwritten.

    The two Hadamard transforms are written out as butterflies on scalars,
    and along a row of elements (last axis) the face shared by two
    neighbours is loaded once and its flux accumulated in registers: four
    loads and four read-modify-writes per element instead of eight (the
    operator is compute-bound, about twice as fast as the loop over corners).
    At 128^3 one application takes 17.7 ms against 1.6 ms for a numpy copy
    of the 50 MB it reads and writes (measured in one run): eleven times, so
    applying it to the d load cases together, which would share only the
    reads of ``k``, would save next to nothing.

    From ``threads.PARALLEL_SIZE`` nodes on, slabs of element rows (axis 0) run on
    Numba's threads, every node row receiving its sums in the serial order (see
    `_flux_slabs`): the same bits as the serial loop on any number of threads.
    """
    if threaded(u.size):
        _flux_slabs(u, w, k, modes, out, table, min(get_num_threads(), k.shape[0]))
        _flux_last(u, w, k, modes, out, table)
    else:
        flux_rows(u, w, k, modes, out, table)


def _flux_row(u, w, k, modes, out, table, i, lower, upper):
    """Add the fluxes of element row ``i`` (axis 0) to node row ``i`` (`lower`) and to
    node row ``i + 1`` (`upper`, modulo the grid), in the order of `nodal_flux_3d`.
    """
    n0, n1, n2 = k.shape
    m0, m1, m2 = u.shape
    d = (modes[0], modes[1], modes[2], modes[3], modes[4], modes[5], modes[6], modes[7])
    w0, w1, w2, w3, w4, w5, w6, w7 = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
    last = n2 if n2 < m2 else 0  # the node after the last element of a row
    i1 = i + 1 if i + 1 < m0 else 0
    for j in range(n1):
        j1 = j + 1 if j + 1 < m1 else 0
        u00, u01, u10, u11 = u[i, j], u[i, j1], u[i1, j], u[i1, j1]
        o00, o01, o10, o11 = out[i, j], out[i, j1], out[i1, j], out[i1, j1]
        kr = k[i, j]
        p0, p2, p4, p6 = u00[0], u01[0], u10[0], u11[0]  # the left face of the element
        r0 = r2 = r4 = r6 = 0.0  # flux of the previous element on its right face
        for l in range(n2):
            l1 = l + 1 if l + 1 < m2 else 0
            q1, q3, q5, q7 = u00[l1], u01[l1], u10[l1], u11[l1]
            a0, a1, a2, a3 = p0 + w0, q1 + w1, p2 + w2, q3 + w3
            a4, a5, a6, a7 = p4 + w4, q5 + w5, p6 + w6, q7 + w7
            p0, p2, p4, p6 = q1, q3, q5, q7
            c = kr[l] if table is None else table[kr[l]]
            b0, b1, b2, b3, b4, b5, b6, b7 = element_fluxes(a0, a1, a2, a3, a4, a5, a6, a7, c, d)
            if lower:
                o00[l] += r0 + b0 + b4
                o01[l] += r2 + b2 + b6
            if upper:
                o10[l] += r4 + b0 - b4
                o11[l] += r6 + b2 - b6
            r0, r2, r4, r6 = b1 + b5, b3 + b7, b1 - b5, b3 - b7
        if lower:
            o00[last] += r0
            o01[last] += r2
        if upper:
            o10[last] += r4
            o11[last] += r6


# Called in the slabs, where the inlined body gave wrong sums on the wrapped last node of
# the rows (Numba 0.68); the serial loop runs `flux_rows`, the same bits.
_flux_row_call = njit(cache=True, nogil=True)(_flux_row)


@njit(cache=True, nogil=True, parallel=True)
def _flux_slabs(u, w, k, modes, out, table, pieces):
    """`nodal_flux_3d` on Numba's threads, one slab of element rows ``[first, stop)`` each.

    Serially node row ``r`` receives the upper fluxes of element row ``r - 1``, then the
    lower ones of element row ``r`` (node row 0 of a periodic axis: those of row 0, then
    the upper ones of the last row). A slab zeroes its node rows ``[first, stop)``, adds
    the upper fluxes of row ``first - 1`` (computed again: one row per slab), then its
    rows, the last one without its upper fluxes, which belong to the next slab: every
    node row is written by one slab, in the serial order. The last row's upper fluxes
    follow the slabs (`_flux_last`). The slabs (`pieces`, at most ``N0``) may therefore
    be as many as the threads.
    """
    n0 = k.shape[0]
    for piece in prange(pieces):
        first = piece * n0 // pieces
        stop = (piece + 1) * n0 // pieces
        _zero_rows(out, first, stop)  # a serial call: a slice set here would be a nested
        # parallel loop, which took 8-20 ms a call on 2 threads at 32^3 (load 8)
        if first > 0:
            _flux_row_call(u, w, k, modes, out, table, first - 1, False, True)
        for i in range(first, stop):
            _flux_row_call(u, w, k, modes, out, table, i, True, i + 1 < stop)


@njit(cache=True, nogil=True)
def _zero_rows(out, first, stop):
    """``out[first:stop] = 0``."""
    out[first:stop] = 0.0


@njit(cache=True, nogil=True)
def _flux_last(u, w, k, modes, out, table):
    """The upper fluxes of the last element row, after `_flux_slabs`: into node row 0 of a
    periodic axis (last, as serially), or into the last node row of an open one.
    """
    n0 = k.shape[0]
    if u.shape[0] > n0:
        out[n0] = 0.0
    _flux_row_call(u, w, k, modes, out, table, n0 - 1, False, True)


@njit(cache=True, nogil=True, inline="always")
def element_gradient_2d(u, i, i1, j, j1, h):
    """Element average of the Q1 gradient of nodal ``u`` on the element with corner nodes
    ``i, i1`` x ``j, j1``: the mean of the differences along the two element edges
    parallel to each axis ``a``, divided by its edge ``h[a]``.
    """
    g0 = (u[i1, j] - u[i, j] + u[i1, j1] - u[i, j1]) / (2.0 * h[0])
    g1 = (u[i, j1] - u[i, j] + u[i1, j1] - u[i1, j]) / (2.0 * h[1])
    return g0, g1


@njit(cache=True, nogil=True, inline="always")
def element_gradient_3d(u, i, i1, j, j1, l, l1, h):
    """Element average of the Q1 gradient (3-D): the mean of the differences along the
    four element edges parallel to each axis ``a``, divided by its edge ``h[a]``.
    """
    g0 = (
        u[i1, j, l] - u[i, j, l] + u[i1, j1, l] - u[i, j1, l]
        + u[i1, j, l1] - u[i, j, l1] + u[i1, j1, l1] - u[i, j1, l1]
    ) / (4.0 * h[0])  # fmt: skip
    g1 = (
        u[i, j1, l] - u[i, j, l] + u[i1, j1, l] - u[i1, j, l]
        + u[i, j1, l1] - u[i, j, l1] + u[i1, j1, l1] - u[i1, j, l1]
    ) / (4.0 * h[1])  # fmt: skip
    g2 = (
        u[i, j, l1] - u[i, j, l] + u[i1, j, l1] - u[i1, j, l]
        + u[i, j1, l1] - u[i, j1, l] + u[i1, j1, l1] - u[i1, j1, l]
    ) / (4.0 * h[2])  # fmt: skip
    return g0, g1, g2


@njit(cache=True, nogil=True)
def mean_flux_2d(u, k, e, h, out, table=None):
    """Write the volume average of ``k (e + grad u)`` into ``out`` (2,).

    The element average of the Q1 gradient along an axis is the mean of the
    differences along the element edges parallel to it, divided by its edge ``h[a]``
    (``h`` float64 (2,)).
    """
    n0, n1 = k.shape
    m0, m1 = u.shape
    q0 = 0.0
    q1 = 0.0
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            g0, g1 = element_gradient_2d(u, i, i1, j, j1, h)
            c = k[i, j] if table is None else table[k[i, j]]
            q0 += c * (e[0] + g0)
            q1 += c * (e[1] + g1)
    out[0] = q0 / (n0 * n1)
    out[1] = q1 / (n0 * n1)


@njit(cache=True, nogil=True)
def mean_flux_3d(u, k, e, h, out, table=None):
    """Write the volume average of ``k (e + grad u)`` into ``out`` (3,).

    The element average of the Q1 gradient along an axis is the mean of the
    differences along the four element edges parallel to it, divided by its edge
    ``h[a]`` (``h`` float64 (3,)). The pass of `mean_flux_pair_3d` (its second average
    dropped: the same bits).
    """
    mean_flux_pair_3d(u, k, e, h, out, np.empty(3), table)


@njit(cache=True, nogil=True)
def mean_flux_pair_3d(u, k, e, h, out, out0, table=None):
    """The volume averages of ``k (e + grad u)`` into ``out`` and of ``k grad u`` (``e =
    0``) into ``out0`` (3,) in one pass over the elements, each summed element by element
    in grid order as a pass of its own would (0.17 against 2 x 0.16 ms at 32^3). The
    element gradients as in `mean_flux_3d`.
    """
    n0, n1, n2 = k.shape
    m0, m1, m2 = u.shape
    q0 = 0.0
    q1 = 0.0
    q2 = 0.0
    z0 = 0.0
    z1 = 0.0
    z2 = 0.0
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            for l in range(n2):
                l1 = l + 1 if l + 1 < m2 else 0
                g0, g1, g2 = element_gradient_3d(u, i, i1, j, j1, l, l1, h)
                c = k[i, j, l] if table is None else table[k[i, j, l]]
                q0 += c * (e[0] + g0)
                q1 += c * (e[1] + g1)
                q2 += c * (e[2] + g2)
                z0 += c * (0.0 + g0)
                z1 += c * (0.0 + g1)
                z2 += c * (0.0 + g2)
    n = n0 * n1 * n2
    out[0] = q0 / n
    out[1] = q1 / n
    out[2] = q2 / n
    out0[0] = z0 / n
    out0[1] = z1 / n
    out0[2] = z2 / n


@njit(cache=True, nogil=True)
def flux_rows(u, w, k, modes, out, table=None):
    """``out = sum_e k_e Ke (u_e + w)`` on one thread (`nodal_flux_3d`'s serial loop): the
    operations of `_flux_row` in its order, so the same bits as the slabs on float64
    fields. Along every row of elements the conductivities and the four node rows it reads
    are copied into separate arrays (the row's end node after its last), the element
    fluxes written into eight more, then their sums added to the node rows: the compiler
    vectorizes the element loop over separate arrays better than over the rows of one
    (0.19 against 0.23 ms per 32^3 application, CPU time, one thread). The arrays take the
    dtype of `modes`: float64 sums for float32 fields and float64 modes (the single
    precision solves, as before); with `u`, `out`, `w`, `modes` and `table` float32 the
    whole kernel runs in single precision (0.16 ms at 32^3; the small images' cycle).
    """
    n0, n1, n2 = k.shape
    m0, m1, m2 = u.shape
    d = (modes[0], modes[1], modes[2], modes[3], modes[4], modes[5], modes[6], modes[7])
    w0, w1, w2, w3, w4, w5, w6, w7 = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
    last = n2 if n2 < m2 else 0  # the node after the last element of a row
    out[...] = 0.0
    dtype = modes.dtype  # of the sums (float64 for float32 fields and float64 modes)
    cs = np.empty(n2, dtype)
    e00, e01 = np.empty(n2 + 1, dtype), np.empty(n2 + 1, dtype)
    e10, e11 = np.empty(n2 + 1, dtype), np.empty(n2 + 1, dtype)
    s0, s4, s2, s6 = (np.empty(n2, dtype), np.empty(n2, dtype), np.empty(n2, dtype),
                      np.empty(n2, dtype))  # fmt: skip
    t0, t2, t4, t6 = (np.empty(n2, dtype), np.empty(n2, dtype), np.empty(n2, dtype),
                      np.empty(n2, dtype))  # fmt: skip
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            u00, u01, u10, u11 = u[i, j], u[i, j1], u[i1, j], u[i1, j1]
            kr = k[i, j]
            for l in range(n2):
                cs[l] = kr[l] if table is None else table[kr[l]]
            for l in range(n2):
                e00[l], e01[l], e10[l], e11[l] = u00[l], u01[l], u10[l], u11[l]
            e00[n2], e01[n2], e10[n2], e11[n2] = u00[last], u01[last], u10[last], u11[last]
            for l in range(n2):
                c = cs[l]
                a0, a1, a2, a3 = e00[l] + w0, e00[l + 1] + w1, e01[l] + w2, e01[l + 1] + w3
                a4, a5, a6, a7 = e10[l] + w4, e10[l + 1] + w5, e11[l] + w6, e11[l + 1] + w7
                b0, b1, b2, b3, b4, b5, b6, b7 = element_fluxes(
                    a0, a1, a2, a3, a4, a5, a6, a7, c, d
                )
                s0[l], s4[l], s2[l], s6[l] = b0, b4, b2, b6
                t0[l], t2[l], t4[l], t6[l] = b1 + b5, b3 + b7, b1 - b5, b3 - b7
            o00, o01, o10, o11 = out[i, j], out[i, j1], out[i1, j], out[i1, j1]
            o00[0] += 0.0 + s0[0] + s4[0]
            o01[0] += 0.0 + s2[0] + s6[0]
            for l in range(1, n2):
                o00[l] += t0[l - 1] + s0[l] + s4[l]
                o01[l] += t2[l - 1] + s2[l] + s6[l]
            o00[last] += t0[n2 - 1]
            o01[last] += t2[n2 - 1]
            o10[0] += 0.0 + s0[0] - s4[0]
            o11[0] += 0.0 + s2[0] - s6[0]
            for l in range(1, n2):
                o10[l] += t4[l - 1] + s0[l] - s4[l]
                o11[l] += t6[l - 1] + s2[l] - s6[l]
            o10[last] += t4[n2 - 1]
            o11[last] += t6[n2 - 1]
