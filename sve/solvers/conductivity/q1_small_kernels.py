"""Numba kernels of the multigrid cycle of small images (private).

Images of fewer than ``q1_multigrid.SLABS_FROM`` nodes (the SVEs of a study, one per
core) run their V-cycle as one compiled call (`v_cycle_small`). Its transfers between
levels are separable: the restriction ``R (b - q)`` and the interpolation ``x += P c``
are applied one axis at a time (``R = R_0 R_1 R_2``, each factor the 1-D operator of
``restriction_taps`` or ``prolongation_taps`` on its axis), through scratch arrays of at
most half a field of the finer level. The 3-D restriction then reads each fine residual
once instead of eight times (27 taps per coarse node), and the passes along the first
axes are loops over contiguous rows that the compiler vectorizes (timings against the
tap kernels `restrict_3d` and `prolong_add_3d`: ``docs/solver_notes.rst``, "Small
SVEs", fourth round). The
sums are those of the tensor-product operators in another order (the same operator up to
rounding: ``P`` is still the transpose of ``R``, and the cycle stays symmetric to
rounding). The interpreted ``Cycle._cycle`` uses the same kernels on small images, so the
compiled cycle is still the interpreted one bit for bit.

"""

import numpy as np
from numba import njit

from sve.solvers._core.cholesky import cholesky_solve
from sve.solvers.conductivity.q1_kernels import element_fluxes
from sve.solvers.conductivity.q1_multigrid_kernels import (
    _chebyshev_first,
    _coarse_smooth,
    _fine_flux,
    _jacobi_add,
    _stencil,
)


@njit(cache=True, nogil=True)
def restrict_separable_2d(b, q, coarse, taps0, weights0, taps1, weights1, scratch):
    """``coarse = R (b - q)`` one axis at a time (`restrict_2d`'s taps and weights):
    along axis 1 into `scratch` (at least ``N0 * M1`` entries), then along axis 0.
    """
    n0 = b.shape[0]
    m0, m1 = coarse.shape
    t = scratch[: n0 * m1].reshape((n0, m1))
    for i in range(n0):
        for m in range(m1):
            s = 0.0
            for c in range(3):
                jj = taps1[m, c]
                s += weights1[m, c] * (b[i, jj] - q[i, jj])
            t[i, m] = s
    for p in range(m0):
        a0, a1, a2 = taps0[p, 0], taps0[p, 1], taps0[p, 2]
        w0, w1, w2 = weights0[p, 0], weights0[p, 1], weights0[p, 2]
        row = coarse[p]
        for m in range(m1):
            row[m] = w0 * t[a0, m] + w1 * t[a1, m] + w2 * t[a2, m]


@njit(cache=True, nogil=True)
def prolong_separable_2d(coarse, fine, taps0, weights0, taps1, weights1, scratch):
    """``fine += P coarse`` one axis at a time (`prolong_add_2d`'s taps and weights):
    along axis 1 into `scratch` (at least ``M0 * N1`` entries), then along axis 0.
    """
    n0, n1 = fine.shape
    m0 = coarse.shape[0]
    u = scratch[: m0 * n1].reshape((m0, n1))
    for p in range(m0):
        for j in range(n1):
            u[p, j] = (
                weights1[j, 0] * coarse[p, taps1[j, 0]] + weights1[j, 1] * coarse[p, taps1[j, 1]]
            )
    for i in range(n0):
        a0, a1 = taps0[i, 0], taps0[i, 1]
        w0, w1 = weights0[i, 0], weights0[i, 1]
        row = fine[i]
        for j in range(n1):
            row[j] += w0 * u[a0, j] + w1 * u[a1, j]


@njit(cache=True, nogil=True)
def restrict_separable_3d(b, q, coarse, taps0, weights0, taps1, weights1, taps2, weights2,
                          scratch):  # fmt: skip
    """``coarse = R (b - q)`` one axis at a time (`restrict_3d`'s taps and weights): along
    axis 2, then 1, then 0, through `scratch` (at least ``N0 N1 M2 + N0 M1 M2`` entries).
    """
    n0, n1 = b.shape[0], b.shape[1]
    m0, m1, m2 = coarse.shape
    t1 = scratch[: n0 * n1 * m2].reshape((n0, n1, m2))
    t2 = scratch[n0 * n1 * m2 : n0 * n1 * m2 + n0 * m1 * m2].reshape((n0, m1, m2))
    for i in range(n0):
        for j in range(n1):
            rb, rq, out = b[i, j], q[i, j], t1[i, j]
            for l in range(m2):
                s = 0.0
                for c in range(3):
                    ll = taps2[l, c]
                    s += weights2[l, c] * (rb[ll] - rq[ll])
                out[l] = s
    for i in range(n0):
        for m in range(m1):
            a0, a1, a2 = t1[i, taps1[m, 0]], t1[i, taps1[m, 1]], t1[i, taps1[m, 2]]
            w0, w1, w2 = weights1[m, 0], weights1[m, 1], weights1[m, 2]
            out = t2[i, m]
            for l in range(m2):
                out[l] = w0 * a0[l] + w1 * a1[l] + w2 * a2[l]
    for p in range(m0):
        a0, a1, a2 = t2[taps0[p, 0]], t2[taps0[p, 1]], t2[taps0[p, 2]]
        w0, w1, w2 = weights0[p, 0], weights0[p, 1], weights0[p, 2]
        out = coarse[p]
        for m in range(m1):
            for l in range(m2):
                out[m, l] = w0 * a0[m, l] + w1 * a1[m, l] + w2 * a2[m, l]


@njit(cache=True, nogil=True)
def prolong_separable_3d(coarse, fine, taps0, weights0, taps1, weights1, taps2, weights2,
                         scratch):  # fmt: skip
    """``fine += P coarse`` one axis at a time (`prolong_add_3d`'s taps and weights): along
    axis 2, then 1, then 0, through `scratch` (at least ``M0 M1 N2 + M0 N1 N2`` entries).
    """
    n0, n1, n2 = fine.shape
    m0, m1 = coarse.shape[0], coarse.shape[1]
    u1 = scratch[: m0 * m1 * n2].reshape((m0, m1, n2))
    u2 = scratch[m0 * m1 * n2 : m0 * m1 * n2 + m0 * n1 * n2].reshape((m0, n1, n2))
    for p in range(m0):
        for m in range(m1):
            row, out = coarse[p, m], u1[p, m]
            for l in range(n2):
                out[l] = weights2[l, 0] * row[taps2[l, 0]] + weights2[l, 1] * row[taps2[l, 1]]
    for p in range(m0):
        for j in range(n1):
            a0, a1 = u1[p, taps1[j, 0]], u1[p, taps1[j, 1]]
            w0, w1 = weights1[j, 0], weights1[j, 1]
            out = u2[p, j]
            for l in range(n2):
                out[l] = w0 * a0[l] + w1 * a1[l]
    for i in range(n0):
        a0, a1 = u2[taps0[i, 0]], u2[taps0[i, 1]]
        w0, w1 = weights0[i, 0], weights0[i, 1]
        out = fine[i]
        for j in range(n1):
            for l in range(n2):
                out[j, l] += w0 * a0[j, l] + w1 * a1[j, l]


def scratch_size(fine: tuple[int, ...], coarse: tuple[int, ...]) -> int:
    """Entries of the scratch array of the separable transfers between node grids `fine`
    and `coarse` (the larger of the restriction's and the interpolation's).
    """
    if len(fine) == 2:
        return max(fine[0] * coarse[1], coarse[0] * fine[1])
    down = fine[0] * fine[1] * coarse[2] + fine[0] * coarse[1] * coarse[2]
    up = coarse[0] * coarse[1] * fine[2] + coarse[0] * fine[1] * fine[2]
    return max(down, up)


@njit(cache=True, nogil=True)
def _transfer(restrict, coarse, b, q, x, fine_shape, coarse_shape, taps, weights, scratch):
    """``coarse = R (b - q)`` (`restrict`) or ``x += P coarse`` on flat arrays, separable
    (`taps`, `weights`: those of every axis of the coarse level).
    """
    if len(fine_shape) == 2:
        f2 = (fine_shape[0], fine_shape[1])
        c2 = (coarse_shape[0], coarse_shape[1])
        t = (taps[0], weights[0], taps[1], weights[1])
        if restrict:
            restrict_separable_2d(b.reshape(f2), q.reshape(f2), coarse.reshape(c2), *t, scratch)
        else:
            prolong_separable_2d(coarse.reshape(c2), x.reshape(f2), *t, scratch)
    else:
        f3 = (fine_shape[0], fine_shape[1], fine_shape[2])
        c3 = (coarse_shape[0], coarse_shape[1], coarse_shape[2])
        t3 = (taps[0], weights[0], taps[1], weights[1], taps[2], weights[2])
        if restrict:
            restrict_separable_3d(b.reshape(f3), q.reshape(f3), coarse.reshape(c3), *t3,
                                  scratch)  # fmt: skip
        else:
            prolong_separable_3d(coarse.reshape(c3), x.reshape(f3), *t3, scratch)


@njit(cache=True, nogil=True)
def _level0_flux(x, q, k, table, modes, offset, shape):
    """``q = A x`` on level 0: `flux_planes` in single precision in 3-D
    (`v_cycle_single`), else `_fine_flux`.
    """
    if k.ndim == 3 and modes.itemsize == 4:
        s3 = (shape[0], shape[1], shape[2])
        flux_planes(x.reshape(s3), k, table, modes, q.reshape(s3))
    else:
        _fine_flux(x, q, k, table, modes, offset, shape)


@njit(cache=True, nogil=True)
def v_cycle_small(b, x, q, k, table, modes, offset, inverse, theta, delta, degrees, shapes,
                  coefficients, padded, bs, xs, ds, qs, coarsest_b, coarsest_x, restriction,
                  prolongation, factor, keep, scratch):  # fmt: skip
    """``x = B b``: ``q1_multigrid_kernels.v_cycle`` (its arguments, the same order of
    kernels and scalars) with the separable transfers; `scratch` (flat float64) serves
    the transfers of every level in turn.
    """
    last = shapes.shape[0] - 2  # the last level smoothed
    _chebyshev_first(x, x, b, inverse[0], 1.0 / theta[0])  # level 0: one sweep from 0
    _level0_flux(x, q, k, table, modes, offset, shapes[0])
    r = restriction[0]
    _transfer(True, bs[0], b, q, x, shapes[0], shapes[1], (r[0], r[2], r[4]),
              (r[1], r[3], r[5]), scratch)  # fmt: skip
    for level in range(1, last + 1):
        c, pc = coefficients[level - 1], padded[level - 1]
        lb, lx, ld, lq = bs[level - 1], xs[level - 1], ds[level - 1], qs[level - 1]
        _coarse_smooth(c, pc, lx, ld, lb, lq, inverse[level], theta[level], delta[level],
                       degrees[level], True)  # fmt: skip
        _stencil(c, pc, lx, lq)
        r = restriction[level]
        taps, weights = (r[0], r[2], r[4]), (r[1], r[3], r[5])
        if level < last:
            _transfer(True, bs[level], lb, lq, lx, shapes[level], shapes[level + 1], taps,
                      weights, scratch)  # fmt: skip
        else:
            _transfer(True, coarsest_b, lb, lq, lx, shapes[level], shapes[level + 1], taps,
                      weights, scratch)  # fmt: skip
    cholesky_solve(factor, keep, coarsest_b, coarsest_x)
    for level in range(last, 0, -1):  # up: prolong the correction, then smooth again
        c, pc = coefficients[level - 1], padded[level - 1]
        lb, lx, ld, lq = bs[level - 1], xs[level - 1], ds[level - 1], qs[level - 1]
        p = prolongation[level]
        taps, weights = (p[0], p[2], p[4]), (p[1], p[3], p[5])
        if level < last:
            _transfer(False, xs[level], lb, lq, lx, shapes[level], shapes[level + 1], taps,
                      weights, scratch)  # fmt: skip
        else:
            _transfer(False, coarsest_x, lb, lq, lx, shapes[level], shapes[level + 1], taps,
                      weights, scratch)  # fmt: skip
        _coarse_smooth(c, pc, lx, ld, lb, lq, inverse[level], theta[level], delta[level],
                       degrees[level], False)  # fmt: skip
    p = prolongation[0]
    _transfer(False, xs[0], b, q, x, shapes[0], shapes[1], (p[0], p[2], p[4]),
              (p[1], p[3], p[5]), scratch)  # fmt: skip
    _level0_flux(x, q, k, table, modes, offset, shapes[0])
    _jacobi_add(x, b, q, inverse[0], 1.0 / theta[0])


def empty_scratch(shapes: list[tuple[int, ...]]) -> np.ndarray:
    """The scratch array of the separable transfers between the node grids `shapes`
    (finest first): the largest that one pair of levels needs.
    """
    sizes = [scratch_size(f, c) for f, c in zip(shapes[:-1], shapes[1:], strict=True)]
    return np.empty(max(sizes, default=1))


@njit(cache=True, nogil=True)
def v_cycle_single(b, x, b32, x32, q32, k, table, modes, offset, inverse, theta, delta,
                   degrees, shapes, coefficients, padded, bs, xs, ds, qs, coarsest_b,
                   coarsest_x, restriction, prolongation, factor, keep, scratch):  # fmt: skip
    """``x = B b`` with level 0 in single precision: `b` (float64) rounded into `b32`,
    `v_cycle_small` on the float32 level-0 fields `b32`, `x32`, `q32` (the operator
    `flux_planes`: `table` or `k`, and `modes` float32, `offset` unused), its result
    widened into `x`. The coarse levels as in
    `v_cycle_small`; a fixed linear operator, symmetric up to the rounding of float32.
    """
    for i in range(b.size):
        b32[i] = b[i]
    v_cycle_small(b32, x32, q32, k, table, modes, offset, inverse, theta, delta, degrees,
                  shapes, coefficients, padded, bs, xs, ds, qs, coarsest_b, coarsest_x,
                  restriction, prolongation, factor, keep, scratch)  # fmt: skip
    for i in range(x.size):
        x[i] = x32[i]


@njit(cache=True, nogil=True)
def flux_planes(u, k, table, modes, out):
    """``out = sum_e k_e Ke u_e`` in 3-D, a plane of elements (axis 0) at a time in flat
    loops: the single-precision operator of `v_cycle_single` (no offset: its ``w`` is 0).

    The nodes of two planes at a time are copied into planes padded to ``(N1 + 1) (N2 +
    1)`` (the nodes after the last element of every axis, wrapped on periodic axes), so
    that the corners of element ``e`` of a plane sit at the flat offsets ``0, 1, N2 + 1,
    N2 + 2`` of its two node planes, and one loop over the ``N1 (N2 + 1)`` elements of a
    plane (those of the padding column with conductivity 0) reads them without an index
    test; the compiler turns it into vector instructions. The element fluxes (`flux_rows`'
    Hadamard butterflies) go to eight arrays, and each node sums its eight corners from
    them. Each node receives the same terms as in `flux_rows`, summed in another order
    (the same operator, float32 rounding apart; about twice as fast at 32^3:
    docs/solver_notes.rst, "Small SVEs", sixth round).

    ``u``, ``out`` float32 node fields, (N0, N1, N2) on periodic axes and one node more
    on bounded ones; ``k`` (N0, N1, N2) float32 conductivities, or labels of the float32
    `table` (copied into a padded row of values a plane at a time: a table look-up in the
    element loop is not vectorized, and a padded float32 copy of the image would cost
    half a node field); ``modes`` float32 (8,) as in `flux_rows`.
    """
    n0, n1, n2 = k.shape
    s2 = n2 + 1
    cs = np.zeros(n1 * s2, u.dtype)  # a plane's conductivities, every row closed by a 0
    plane = (n1 + 1) * s2  # a padded node plane
    lo = np.zeros(plane + 1, u.dtype)  # +1: the far corner of the last padding element
    hi = np.zeros(plane + 1, u.dtype)
    _pad_plane(u, 0, lo, n1, n2)
    lead = s2 + 1  # the zeros before the first element of the flux arrays
    size = lead + plane
    f0, f1, f2, f3 = (np.zeros(size, u.dtype), np.zeros(size, u.dtype),
                      np.zeros(size, u.dtype), np.zeros(size, u.dtype))  # fmt: skip
    f4, f5, f6, f7 = (np.zeros(size, u.dtype), np.zeros(size, u.dtype),
                      np.zeros(size, u.dtype), np.zeros(size, u.dtype))  # fmt: skip
    h4, h5, h6, h7 = (np.zeros(size, u.dtype), np.zeros(size, u.dtype),
                      np.zeros(size, u.dtype), np.zeros(size, u.dtype))  # fmt: skip
    out[...] = 0.0
    for i in range(n0 + 1):
        if i < n0:  # corners 0-3 of element plane i in f0-f3, 4-7 in f4-f7
            _pad_plane(u, i + 1, hi, n1, n2)
            _plane_values(k[i], table, cs, s2)
            _element_fluxes(lo, hi, cs, s2, modes, f0[lead:],
                            f1[lead:], f2[lead:], f3[lead:], f4[lead:], f5[lead:],
                            f6[lead:], f7[lead:])  # fmt: skip
            lo, hi = hi, lo
        else:  # the padding plane of nodes: the corners of the plane before only
            f0[:] = 0.0
            f1[:] = 0.0
            f2[:] = 0.0
            f3[:] = 0.0
        _gather(out[i % u.shape[0]], n1, n2, f0[lead:], f1[lead - 1 :], f2[1:], f3, h4[lead:],
                h5[lead - 1 :], h6[1:], h7)  # fmt: skip
        f4, f5, f6, f7, h4, h5, h6, h7 = h4, h5, h6, h7, f4, f5, f6, f7


@njit(cache=True, nogil=True)
def _plane_values(labels, table, cs, s2):
    """Copy the conductivities of a plane of elements (`labels`, or their values in
    `table`) into the rows of ``s2`` entries of `cs` (the padding entries untouched).

    With two phases the value is chosen by a comparison (``table[1]`` where the label is
    not 0), which the compiler vectorizes where the look-up ``table[label]`` (a gather)
    is not: the same values, in less time (the solver notes, "Small SVEs", seventh
    round).
    """
    n1, n2 = labels.shape
    for j in range(n1):
        kr, row = labels[j], cs[j * s2 : j * s2 + n2]
        if table is None:
            for l in range(n2):
                row[l] = kr[l]
        elif table.size == 2:
            low, high = table[0], table[1]
            for l in range(n2):
                row[l] = high if kr[l] != 0 else low
        else:
            for l in range(n2):
                row[l] = table[kr[l]]


@njit(cache=True, nogil=True)
def _pad_plane(u, a, padded, n1, n2):
    """Copy node plane ``a`` of `u` (modulo its planes) into the flat `padded` plane of
    ``(N1 + 1) (N2 + 1)`` nodes, the nodes after the last element wrapped on periodic axes.
    """
    m0, m1, m2 = u.shape
    s2 = n2 + 1
    for b in range(n1 + 1):
        row, start = u[a % m0, b % m1], b * s2
        for c in range(n2):
            padded[start + c] = row[c]
        padded[start + n2] = row[n2 % m2]


@njit(cache=True, nogil=True)
def _element_fluxes(lo, hi, cs, s2, modes, f0, f1, f2, f3, f4, f5, f6, f7):
    """The corner fluxes ``f0 .. f7`` of the elements of a plane (`flux_planes`): node
    planes `lo` and `hi` (padded, flat), conductivities `cs`.
    """
    d = (modes[0], modes[1], modes[2], modes[3], modes[4], modes[5], modes[6], modes[7])
    l1, l2, l3 = lo[1:], lo[s2:], lo[s2 + 1 :]
    u1, u2, u3 = hi[1:], hi[s2:], hi[s2 + 1 :]
    for e in range(cs.size):
        c = cs[e]
        a0, a1, a2, a3 = lo[e], l1[e], l2[e], l3[e]
        a4, a5, a6, a7 = hi[e], u1[e], u2[e], u3[e]
        b0, b1, b2, b3, b4, b5, b6, b7 = element_fluxes(a0, a1, a2, a3, a4, a5, a6, a7, c, d)
        f0[e], f1[e], f2[e], f3[e] = b0 + b4, b1 + b5, b2 + b6, b3 + b7
        f4[e], f5[e], f6[e], f7[e] = b0 - b4, b1 - b5, b2 - b6, b3 - b7


@njit(cache=True, nogil=True)
def _gather(target, n1, n2, g0, g1, g2, g3, h4, h5, h6, h7):
    """Add to the node plane `target` the eight element corners at each node of a padded
    plane (``N1 + 1`` rows of ``N2 + 1``), each corner array shifted so that the node's
    flat index picks its element; periodic axes wrap the padding onto their first nodes.
    """
    m1, m2 = target.shape
    s2 = n2 + 1
    for b in range(n1 + 1):
        row, start = target[b % m1], b * s2
        for c in range(n2):
            n = start + c
            row[c] += (g0[n] + g1[n] + g2[n] + g3[n]) + (h4[n] + h5[n] + h6[n] + h7[n])
        n = start + n2
        row[n2 % m2] += (g0[n] + g1[n] + g2[n] + g3[n]) + (h4[n] + h5[n] + h6[n] + h7[n])
