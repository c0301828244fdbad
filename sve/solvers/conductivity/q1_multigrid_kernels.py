"""Numba kernels of the multigrid preconditioner (private).

Fused vector updates of the Chebyshev smoother on flat arrays: one
pass over memory instead of the three or four of the numpy expressions; the
stencils of the coarse levels; the transfers between levels, on periodic or
open axes; the Galerkin products that build the levels.
"""

import numpy as np
from numba import njit, prange

from sve.solvers._core.cholesky import cholesky_solve
from sve.solvers._core.threads import by_size
from sve.solvers.conductivity.q1_kernels import flux_rows, nodal_flux_2d


@by_size(0)
def chebyshev_first(x, d, r, inverse_diagonal, scale):
    """In place: ``d = scale * r / diag``, ``x = d`` (the first step from ``x = 0``)."""
    for i in prange(x.size):
        step = scale * inverse_diagonal[i] * r[i]
        d[i] = step
        x[i] = step


@by_size(0)
def jacobi_add(x, b, q, inverse_diagonal, scale):
    """In place: ``x += scale * (b - q) / diag`` (one damped Jacobi sweep on the residual
    ``b - q``, never stored).
    """
    for i in prange(x.size):
        x[i] += scale * inverse_diagonal[i] * (b[i] - q[i])


@by_size(1)
def stencil_2d(coefficients, x, out):
    """``out = A x`` for a symmetric periodic 9-point operator, ``coefficients`` (N0, N1, 5).

    The upper half of the rows: ``coefficients[i, j, s - 4]`` couples node
    ``(i, j)`` to node ``(i + a, j + b)`` (modulo the grid), ``s = 3 (a + 1) +
    (b + 1) >= 4``, ``a, b`` in ``{-1, 0, 1}``; the coupling for ``s < 4`` is
    that of the neighbour, ``coefficients[i + a, j + b, 4 - s]``. On an open
    (non-periodic) axis the couplings across the ends are zero, so the wrapped
    reads add nothing.
    """
    n0, n1 = x.shape
    for i in prange(n0):  # the nine entries written out: the generic loop took 3x the time
        im = i - 1 if i > 0 else n0 - 1
        ip = i + 1 if i + 1 < n0 else 0
        below, here, above = x[im], x[i], x[ip]
        lower, centre = coefficients[im], coefficients[i]
        row = out[i]
        for j in range(n1):
            jm = j - 1 if j > 0 else n1 - 1
            jp = j + 1 if j + 1 < n1 else 0
            c = centre[j]
            row[j] = (
                lower[jm, 4] * below[jm]
                + lower[j, 3] * below[j]
                + lower[jp, 2] * below[jp]
                + centre[jm, 1] * here[jm]
                + c[0] * here[j]
                + c[1] * here[jp]
                + c[2] * above[jm]
                + c[3] * above[j]
                + c[4] * above[jp]
            )


@by_size(1)
def stencil_3d(coefficients, x, out):
    """``out = A x`` for a symmetric periodic 27-point operator, ``coefficients`` (N0, N1, N2, 14).

    The upper half of the rows: ``coefficients[i, j, l, s - 13]`` couples node
    ``(i, j, l)`` to node ``(i + a, j + b, l + c)`` (modulo the grid), ``s = 9
    (a + 1) + 3 (b + 1) + (c + 1) >= 13``; the coupling for ``s < 13`` is that
    of the neighbour, ``coefficients[i + a, j + b, l + c, 13 - s]``; open axes as in
    `stencil_2d`.

    The nine rows ``(a, b)`` around ``(i, j)`` are taken once per row of nodes, the
    sums in the order of the loop over ``(a, b)`` they replace: that loop, compiled with
    ``prange`` (also serially), took twice the time of its plain ``range`` compilation
    at 64^3; this one takes the time of the latter in both compilations.
    """
    n0, n1, n2 = x.shape
    for i in prange(n0):
        im = i - 1 if i > 0 else n0 - 1
        ip = i + 1 if i + 1 < n0 else 0
        for j in range(n1):
            jm = j - 1 if j > 0 else n1 - 1
            jp = j + 1 if j + 1 < n1 else 0
            x_mm, x_m0, x_mp = x[im, jm], x[im, j], x[im, jp]
            x_0m, x_00, x_0p = x[i, jm], x[i, j], x[i, jp]
            x_pm, x_p0, x_pp = x[ip, jm], x[ip, j], x[ip, jp]
            u_mm, u_m0, u_mp = coefficients[im, jm], coefficients[im, j], coefficients[im, jp]
            u_0m, here = coefficients[i, jm], coefficients[i, j]
            row = out[i, j]
            for l in range(n2):
                lo = l - 1 if l > 0 else n2 - 1
                hi = l + 1 if l + 1 < n2 else 0
                c = here[l]
                s = 0.0
                s += u_mm[lo, 13] * x_mm[lo] + u_mm[l, 12] * x_mm[l] + u_mm[hi, 11] * x_mm[hi]
                s += u_m0[lo, 10] * x_m0[lo] + u_m0[l, 9] * x_m0[l] + u_m0[hi, 8] * x_m0[hi]
                s += u_mp[lo, 7] * x_mp[lo] + u_mp[l, 6] * x_mp[l] + u_mp[hi, 5] * x_mp[hi]
                s += u_0m[lo, 4] * x_0m[lo] + u_0m[l, 3] * x_0m[l] + u_0m[hi, 2] * x_0m[hi]
                s += here[lo, 1] * x_00[lo] + c[0] * x_00[l] + c[1] * x_00[hi]
                s += c[2] * x_0p[lo] + c[3] * x_0p[l] + c[4] * x_0p[hi]
                s += c[5] * x_pm[lo] + c[6] * x_pm[l] + c[7] * x_pm[hi]
                s += c[8] * x_p0[lo] + c[9] * x_p0[l] + c[10] * x_p0[hi]
                s += c[11] * x_pp[lo] + c[12] * x_pp[l] + c[13] * x_pp[hi]
                row[l] = s


@njit(cache=True, nogil=True)
def pad_stencil_3d(coefficients):
    """The coefficients of `stencil_3d` (N0, N1, N2, 14) laid out for
    `stencil_padded_3d`: (N0, 14, (N1 + 2) (N2 + 2)), each plane of each coefficient
    padded by one node on both sides of axes 1 and 2 with the values of the other end
    (wrapped, as `stencil_3d` reads them).
    """
    n0, n1, n2, m = coefficients.shape
    p2 = n2 + 2
    out = np.empty((n0, m, (n1 + 2) * p2), coefficients.dtype)
    for i in range(n0):
        for j in range(n1 + 2):
            row = coefficients[i, (j - 1) % n1]
            for l in range(p2):
                entry = row[(l - 1) % n2]
                for s in range(m):
                    out[i, s, j * p2 + l] = entry[s]
    return out


@njit(cache=True, nogil=True)
def _pad_node_plane(x, i, plane):
    """Copy node plane `i` of `x` (N0, N1, N2) into the flat `plane` of (N1 + 2) (N2 + 2)
    nodes, padded as in `pad_stencil_3d`.
    """
    n0, n1, n2 = x.shape
    p2 = n2 + 2
    for j in range(n1 + 2):
        row, start = x[i, (j - 1) % n1], j * p2
        plane[start] = row[n2 - 1]
        for l in range(n2):
            plane[start + 1 + l] = row[l]
        plane[start + n2 + 1] = row[0]


@njit(cache=True, nogil=True)
def _three_terms(w, first, ca, cb, cc, xa, xb, xc, count):
    """``w (+)= ca xa + cb xb + cc xc`` over `count` entries (``w = 0 + ...`` if `first`):
    the terms of one row of neighbours of `stencil_3d`, in its order.
    """
    if first:
        for q in range(count):
            w[q] = 0.0 + (ca[q] * xa[q] + cb[q] * xb[q] + cc[q] * xc[q])
    else:
        for q in range(count):
            w[q] = w[q] + (ca[q] * xa[q] + cb[q] * xb[q] + cc[q] * xc[q])


@njit(cache=True, nogil=True)
def stencil_padded_3d(padded, x, out):
    """``out = A x``: `stencil_3d` with its coefficients laid out by `pad_stencil_3d`, the
    same terms summed in the same order (the same bits), serial.

    The node planes are copied into padded planes, so that the neighbours of a node sit
    at fixed flat offsets; a plane of nodes is then summed in nine loops over its padded
    rows, one per row of neighbours (the results of the padding columns discarded),
    which the compiler turns into vector instructions: 0.026 against 0.057 to 0.080 ms at
    16^3 (docs/solver_notes.rst, "Small SVEs", eighth round). Three padded node planes
    are kept at a time (those below, at and above the plane summed), not a padded copy
    of `x`.
    """
    n0, n1, n2 = x.shape
    p2 = n2 + 2
    ring = np.empty((3, (n1 + 2) * p2), x.dtype)
    below, at, above = 0, 1, 2  # the planes i - 1, i, i + 1 (modulo N0) in `ring`
    _pad_node_plane(x, n0 - 1, ring[below])
    _pad_node_plane(x, 0, ring[at])
    s = p2 + 1  # the first node of a padded plane
    count = (n1 - 1) * p2 + n2  # from the first node to the last
    w = np.empty(count, np.float64)
    a, b, d = s - p2 - 1, s - p2, s - p2 + 1  # the row below (axis 1)
    e, f, g = s + p2 - 1, s + p2, s + p2 + 1  # the row above
    for i in range(n0):
        im = i - 1 if i > 0 else n0 - 1
        _pad_node_plane(x, i + 1 if i + 1 < n0 else 0, ring[above])
        xm, x0, xq = ring[below], ring[at], ring[above]
        u, c = padded[im], padded[i]
        _three_terms(w, True, u[13][a:], u[12][b:], u[11][d:], xm[a:], xm[b:], xm[d:], count)
        _three_terms(w, False, u[10][s - 1 :], u[9][s:], u[8][s + 1 :], xm[s - 1 :], xm[s:],
                     xm[s + 1 :], count)  # fmt: skip
        _three_terms(w, False, u[7][e:], u[6][f:], u[5][g:], xm[e:], xm[f:], xm[g:], count)
        _three_terms(w, False, c[4][a:], c[3][b:], c[2][d:], x0[a:], x0[b:], x0[d:], count)
        _three_terms(w, False, c[1][s - 1 :], c[0][s:], c[1][s:], x0[s - 1 :], x0[s:],
                     x0[s + 1 :], count)  # fmt: skip
        c2, c3, c4 = c[2][s:], c[3][s:], c[4][s:]
        _three_terms(w, False, c2, c3, c4, x0[e:], x0[f:], x0[g:], count)
        c5, c6, c7 = c[5][s:], c[6][s:], c[7][s:]
        _three_terms(w, False, c5, c6, c7, xq[a:], xq[b:], xq[d:], count)
        c8, c9, c10 = c[8][s:], c[9][s:], c[10][s:]
        _three_terms(w, False, c8, c9, c10, xq[s - 1 :], xq[s:], xq[s + 1 :], count)
        c11, c12, c13 = c[11][s:], c[12][s:], c[13][s:]
        _three_terms(w, False, c11, c12, c13, xq[e:], xq[f:], xq[g:], count)
        plane = out[i]
        for j in range(n1):
            row, start = plane[j], j * p2
            for l in range(n2):
                row[l] = w[start + l]
        below, at, above = at, above, below


@by_size(0)
def restrict_2d(b, q, coarse, taps0, weights0, taps1, weights1):
    """``coarse = P^T (b - q)``: bilinear restriction of a residual, formed where it is read.

    Per axis ``a``, ``taps_a`` (coarse nodes, 3) are the fine nodes ``2 i - 1, 2 i, 2 i + 1``
    of coarse node ``i`` (wrapped on a periodic axis) and ``weights_a`` their weights
    ``1/2, 1, 1/2``, 0 for a node outside an open axis (``restriction_taps``).
    """
    m0, m1 = coarse.shape
    for i in prange(m0):
        for j in range(m1):
            s = 0.0
            for a in range(3):
                wa = weights0[i, a]
                ii = taps0[i, a]
                for c in range(3):
                    jj = taps1[j, c]
                    s += wa * weights1[j, c] * (b[ii, jj] - q[ii, jj])
            coarse[i, j] = s


@by_size(0)
def restrict_3d(b, q, coarse, taps0, weights0, taps1, weights1, taps2, weights2):
    """``coarse = P^T (b - q)``: trilinear restriction of a residual, formed where it is read
    (the taps and weights of `restrict_2d`, one pair per axis).
    """
    m0, m1, m2 = coarse.shape
    for i in prange(m0):
        for j in range(m1):
            for l in range(m2):
                lower, centre, upper = taps2[l, 0], taps2[l, 1], taps2[l, 2]
                w_lower, w_upper = weights2[l, 0], weights2[l, 2]
                s = 0.0
                for a in range(3):
                    ii = taps0[i, a]
                    for c in range(3):
                        jj = taps1[j, c]  # indexed whole: row views took 4x the time
                        r_centre = b[ii, jj, centre] - q[ii, jj, centre]
                        r_lower = b[ii, jj, lower] - q[ii, jj, lower]
                        r_upper = b[ii, jj, upper] - q[ii, jj, upper]
                        s += (
                            weights0[i, a]
                            * weights1[j, c]
                            * (r_centre + w_lower * r_lower + w_upper * r_upper)
                        )
                coarse[i, j, l] = s


@by_size(1)
def prolong_add_2d(coarse, fine, taps0, weights0, taps1, weights1):
    """``fine += P coarse``: bilinear interpolation.

    Per axis ``a``, ``taps_a`` (fine nodes, 2) are the coarse nodes around fine node ``f``
    (``f / 2`` twice for even ``f``; ``(f - 1) / 2`` and ``(f + 1) / 2``, wrapped on a
    periodic axis, for odd ``f``) and ``weights_a`` their weights (``1, 0`` or ``1/2, 1/2``;
    ``prolongation_taps``).
    """
    n0, n1 = fine.shape
    for i in prange(n0):
        for a in range(2):
            wa = weights0[i, a]
            if wa == 0.0:
                continue
            row = coarse[taps0[i, a]]
            for j in range(n1):
                fine[i, j] += wa * (
                    weights1[j, 0] * row[taps1[j, 0]] + weights1[j, 1] * row[taps1[j, 1]]
                )


# Fine node planes per piece of `prolong_add_3d` (a coarse plane more interpolated per piece).
PROLONG_PLANES = 16


@by_size(1)
def prolong_add_3d(coarse, fine, taps0, weights0, taps1, weights1, taps2, weights2):
    """``fine += P coarse``: trilinear interpolation (the taps and weights of
    `prolong_add_2d`, one pair per axis).

    A coarse node plane is interpolated along axes 2 and 1 once (`_prolong_planes`) and
    added, weighted, to the one or two fine planes it reaches, rather than each fine row
    gathering from its coarse rows once per weight along axes 0 and 1 (about three times
    faster: docs/solver_notes.rst, "Threads"). The fine planes run in pieces of
    `PROLONG_PLANES` (the iterations of the parallel loop), each interpolating its own
    coarse planes (one more per piece): every fine node gets the same operations, so the
    same bits on any number of threads.
    """
    n0 = fine.shape[0]
    for piece in prange((n0 + PROLONG_PLANES - 1) // PROLONG_PLANES):
        first = piece * PROLONG_PLANES
        _prolong_planes(
            coarse, fine, first, min(first + PROLONG_PLANES, n0),
            taps0, weights0, taps1, weights1, taps2, weights2,
        )  # fmt: skip


@njit(cache=True, nogil=True)
def _prolong_planes(coarse, fine, first, stop, taps0, weights0, taps1, weights1, taps2, weights2):
    """`prolong_add_3d` on the fine node planes ``[first, stop)``: each coarse plane they
    read interpolated once into one of two buffers (by its parity; the wrapped plane of a
    periodic axis interpolated again where it is read).
    """
    n1, n2 = fine.shape[1:]
    rows = np.empty((coarse.shape[1], n2))
    planes = np.empty((2, n1, n2))
    held = np.full(2, -1)
    for i in range(first, stop):
        for a in range(2):
            wa = weights0[i, a]
            if wa == 0.0:
                continue
            index = taps0[i, a]
            slot = index % 2
            if held[slot] != index:
                _interpolate_plane(coarse[index], taps1, weights1, taps2, weights2, rows,
                                   planes[slot])  # fmt: skip
                held[slot] = index
            source = planes[slot]
            for j in range(n1):
                target, values = fine[i, j], source[j]
                for l in range(n2):
                    target[l] += wa * values[l]


@njit(cache=True, nogil=True)
def _interpolate_plane(plane, taps1, weights1, taps2, weights2, rows, out):
    """``out`` (N1, N2) = coarse `plane` (M1, M2) interpolated along axis 2 (into `rows`,
    (M1, N2)), then along axis 1.
    """
    for jj in range(plane.shape[0]):
        row, target = plane[jj], rows[jj]
        for l in range(out.shape[1]):
            target[l] = weights2[l, 0] * row[taps2[l, 0]] + weights2[l, 1] * row[taps2[l, 1]]
    for j in range(out.shape[0]):
        lower, upper = rows[taps1[j, 0]], rows[taps1[j, 1]]
        w_lower, w_upper = weights1[j, 0], weights1[j, 1]
        target = out[j]
        for l in range(out.shape[1]):
            target[l] = w_lower * lower[l] + w_upper * upper[l]


@njit(cache=True, nogil=True)
def galerkin_scalar(k, children, unit, out):
    """Coarse element matrices of a scalar-conductivity grid: ``out[e] = sum_c k_c unit[c]``.

    ``k`` (fine voxels,) conductivities, ``children`` (coarse voxels, 2**d) the fine
    voxel of every child, ``unit`` (2**d, 2**d, 2**d) the product ``P_c^T Ke P_c``
    of the unit element per child, ``out`` (coarse voxels, 2**d, 2**d) overwritten.
    """
    n = unit.shape[1]
    # The sums of each element in one flat local array (the same sums in the same order, so
    # the same bits; the compiler vectorizes the loop over its n * n entries): 0.62 -> 0.34
    # ms for the 4096 elements of level 1 of a 32^3 image (CPU time, one thread).
    flat = np.ascontiguousarray(unit).reshape(unit.shape[0], n * n)
    acc = np.empty(n * n)
    for e in range(children.shape[0]):
        for ab in range(n * n):
            acc[ab] = 0.0
        for c in range(children.shape[1]):
            kc = k[children[e, c]]
            if kc == 0.0:
                continue
            row = flat[c]
            for ab in range(n * n):
                acc[ab] += kc * row[ab]
        for a in range(n):
            for b in range(n):
                out[e, a, b] = acc[a * n + b]


@njit(cache=True, nogil=True)
def galerkin(fine, children, child, out):
    """Coarse element matrices ``out[e] = sum_c P_c^T fine[children[e, c]] P_c``.

    ``fine`` (fine voxels, 2**d, 2**d), ``children`` (coarse voxels, 2**d),
    ``child`` (2**d, 2**d, 2**d) the interpolation ``P_c`` per child, ``out``
    (coarse voxels, 2**d, 2**d) overwritten.
    """
    n = child.shape[1]
    half = np.empty((n, n))
    row = np.empty(n)
    # Each sum over b (then a) runs in order, its terms added to a row of n sums at once
    # (the loops over j innermost, which the compiler vectorizes: the same bits as the
    # sums formed one entry at a time; 1.99 -> 1.27 ms for the 4096 elements of a 16^3
    # level, CPU time on one thread).
    for e in range(children.shape[0]):
        for a in range(n):
            for b in range(n):
                out[e, a, b] = 0.0
        for c in range(children.shape[1]):
            f = fine[children[e, c]]
            p = child[c]
            for a in range(n):  # half = f P_c
                for j in range(n):
                    row[j] = 0.0
                for b in range(n):
                    fab = f[a, b]
                    for j in range(n):
                        row[j] += fab * p[b, j]
                for j in range(n):
                    half[a, j] = row[j]
            for i in range(n):  # out += P_c^T half
                for j in range(n):
                    row[j] = 0.0
                for a in range(n):
                    pai = p[a, i]
                    for j in range(n):
                        row[j] += pai * half[a, j]
                for j in range(n):
                    out[e, i, j] += row[j]


@njit(cache=True, nogil=True)
def assemble_stencil(elements, nodes, offsets, out):
    """``out[nodes[e, a], offsets[a, b]] += elements[e, a, b]`` (stencil rows of the sum).

    ``elements`` (voxels, 2**d, 2**d), ``nodes`` (voxels, 2**d) the node of every corner,
    ``offsets`` (2**d, 2**d) the stored stencil entry joining corner ``a`` to corner ``b``,
    negative where it is not stored (the lower half of the rows), ``out`` (nodes, entries)
    accumulated into.
    """
    for e in range(elements.shape[0]):
        for a in range(elements.shape[1]):
            row = nodes[e, a]
            for b in range(elements.shape[2]):
                if offsets[a, b] >= 0:
                    out[row, offsets[a, b]] += elements[e, a, b]


@njit(cache=True, nogil=True)
def chebyshev_residual(x, d, b, q, inverse_diagonal, keep, scale):
    """In place: ``d = keep * d + scale * (b - q) / diag``, ``x += d`` (a Chebyshev step
    from a nonzero ``x``, ``q = A x``); ``keep = 0`` starts the recurrence (``d`` not read).
    """
    if keep == 0.0:
        for i in range(x.size):
            step = scale * inverse_diagonal[i] * (b[i] - q[i])
            d[i] = step
            x[i] += step
    else:
        for i in range(x.size):
            step = keep * d[i] + scale * inverse_diagonal[i] * (b[i] - q[i])
            d[i] = step
            x[i] += step


@njit(cache=True, nogil=True)
def restrict_planes_3d(
    b, q, coarse, targets, target_weights, taps1, weights1, taps2, weights2, plane
):
    """``coarse[targets[f, t]] += target_weights[f, t] * R2 (b[f] - q[f])`` for the node
    planes ``f`` of a slab: the trilinear restriction of a residual, one slab of node planes
    at a time (``R2`` the restriction over axes 1 and 2, the taps and weights of
    `restrict_2d`; along axis 0 fine plane ``f`` goes to at most two coarse planes, weight
    0 where it has none). ``plane`` (coarse.shape[1:]) is scratch. Each coarse plane sums its
    fine planes in their order, whatever the slabs.
    """
    m1, m2 = plane.shape
    for f in range(b.shape[0]):
        bf, qf = b[f], q[f]
        for j in range(m1):
            for l in range(m2):
                lower, centre, upper = taps2[l, 0], taps2[l, 1], taps2[l, 2]
                w_lower, w_upper = weights2[l, 0], weights2[l, 2]
                s = 0.0
                for c in range(3):
                    jj = taps1[j, c]
                    r_centre = bf[jj, centre] - qf[jj, centre]
                    r_lower = bf[jj, lower] - qf[jj, lower]
                    r_upper = bf[jj, upper] - qf[jj, upper]
                    s += weights1[j, c] * (r_centre + w_lower * r_lower + w_upper * r_upper)
                plane[j, l] = s
        for t in range(2):
            w = target_weights[f, t]
            if w == 0.0:
                continue
            out = coarse[targets[f, t]]
            for j in range(m1):
                for l in range(m2):
                    out[j, l] += w * plane[j, l]


@njit(cache=True, nogil=True)
def inverse_diagonal_planes(k, first, corner, out, table=None):
    """``out[t] = 1 / (corner * sum k)`` over the voxels of node plane ``first + t`` of a
    slab, 0 where that sum is 0 (nodes touching voids alone): the inverse diagonal of the
    Q1 operator, from the conductivities (or labels and `table`) of the slab.

    ``k`` (R - 1, N1, N2): the voxel planes of a slab of R node planes, open along axis 0
    (node plane ``r`` touches voxel planes ``r - 1`` and ``r`` where they exist); along
    axes 1 and 2 periodic where ``out`` has as many nodes as ``k`` has voxels, open where
    it has one more (as in ``nodal_flux_3d``). ``corner`` is the diagonal entry of the unit
    element.

    The eight voxels of a node are summed axis by axis, over axis 0 (a plane of pairs),
    then 1 (a row), then 2: each voxel is read (through `table`) twice, not eight times,
    and the inner loops run without branches (about twice as fast as voxel by voxel:
    docs/solver_notes.rst, "Threads"). The sums of the eight values are formed in another
    order than the voxel by voxel loop before, which moved the inverse diagonal by at most
    5e-17 relative.
    """
    rows, n1, n2 = k.shape
    count, m1, m2 = out.shape
    plane = np.empty((n1, n2))  # the node plane's voxel planes summed
    column = np.empty(n2 + 1)  # [l + 1]: plane's rows j - 1 and j summed at l; [0]: wrapped
    for t in range(count):
        r = first + t
        plane[...] = 0.0
        for i in range(max(r - 1, 0), min(r + 1, rows)):
            _add_plane(k[i], table, plane)
        for j in range(m1):
            lower = j - 1 if j > 0 else (n1 - 1 if m1 == n1 else -1)  # -1: no voxel row
            upper = j if j < n1 else -1
            column[:] = 0.0
            for row in (lower, upper):
                if row >= 0:
                    values = plane[row]
                    for l in range(n2):
                        column[l + 1] += values[l]
            column[0] = column[n2] if m2 == n2 else 0.0
            target = out[t, j]
            for l in range(n2):
                target[l] = _inverse_of(corner * (column[l] + column[l + 1]))
            if m2 > n2:
                target[n2] = _inverse_of(corner * column[n2])


@njit(cache=True, nogil=True)
def _add_plane(k, table, plane):
    """``plane += k`` (or ``table[k]``), ``k`` one voxel plane."""
    n1, n2 = k.shape
    for j in range(n1):
        row, target = k[j], plane[j]
        if table is None:
            for l in range(n2):
                target[l] += row[l]
        else:
            for l in range(n2):
                target[l] += table[row[l]]


@njit(cache=True, nogil=True, inline="always")
def _inverse_of(diagonal):
    """``1 / diagonal``, 0 where the diagonal is 0 (a node of voids)."""
    return 1.0 / diagonal if diagonal > 0.0 else 0.0


# The serial compilations, callable from the compiled V-cycles below (small images only).
_chebyshev_first = chebyshev_first.serial
_jacobi_add = jacobi_add.serial
_stencil_2d, _stencil_3d = stencil_2d.serial, stencil_3d.serial
_restrict_2d, _restrict_3d = restrict_2d.serial, restrict_3d.serial
_prolong_add_2d, _prolong_add_3d = prolong_add_2d.serial, prolong_add_3d.serial


@njit(cache=True, nogil=True)
def _stencil(coefficients, padded, x, out):
    """``out = A x`` on flat `x`, `out` (`stencil_2d` or `stencil_3d`, by the dimension;
    `stencil_padded_3d` where `padded`, the coefficients laid out by `pad_stencil_3d`, is
    not empty).
    """
    shape = coefficients.shape[:-1]
    if coefficients.ndim == 3:
        _stencil_2d(coefficients, x.reshape(shape), out.reshape(shape))
    elif padded.shape[0] > 0:
        stencil_padded_3d(padded, x.reshape(shape), out.reshape(shape))
    else:
        _stencil_3d(coefficients, x.reshape(shape), out.reshape(shape))


@njit(cache=True, nogil=True)
def _coarse_smooth(coefficients, padded, x, d, b, q, inverse_diagonal, theta, delta, degree,
                   zero):  # fmt: skip
    """`Cycle._smooth` on a coarse level (degree >= 2, `d` held): the same kernels and
    scalars in the same order (`padded`: see `_stencil`).
    """
    sigma = theta / delta
    rho = 1.0 / sigma
    if zero:
        _chebyshev_first(x, d, b, inverse_diagonal, 1.0 / theta)
    else:
        _stencil(coefficients, padded, x, q)
        chebyshev_residual(x, d, b, q, inverse_diagonal, 0.0, 1.0 / theta)
    for _ in range(1, degree):
        _stencil(coefficients, padded, x, q)
        rho_next = 1.0 / (2.0 * sigma - rho)
        chebyshev_residual(x, d, b, q, inverse_diagonal, rho_next * rho, 2.0 * rho_next / delta)
        rho = rho_next


@njit(cache=True, nogil=True)
def _transfer(restrict, coarse, b, q, x, fine_shape, coarse_shape, taps, weights):
    """``coarse = R (b - q)`` (`restrict`) or ``x += P coarse`` on flat arrays, `taps` and
    `weights` those of every axis of the coarse level (`restriction_taps`,
    `prolongation_taps`).
    """
    if len(fine_shape) == 2:
        f2 = (fine_shape[0], fine_shape[1])
        c2 = (coarse_shape[0], coarse_shape[1])
        if restrict:
            t = (taps[0], weights[0], taps[1], weights[1])
            _restrict_2d(b.reshape(f2), q.reshape(f2), coarse.reshape(c2), *t)
        else:
            _prolong_add_2d(
                coarse.reshape(c2), x.reshape(f2), taps[0], weights[0], taps[1], weights[1]
            )
    else:
        f3 = (fine_shape[0], fine_shape[1], fine_shape[2])
        c3 = (coarse_shape[0], coarse_shape[1], coarse_shape[2])
        if restrict:
            t3 = (taps[0], weights[0], taps[1], weights[1], taps[2], weights[2])
            _restrict_3d(b.reshape(f3), q.reshape(f3), coarse.reshape(c3), *t3)
        else:
            t3 = (taps[0], weights[0], taps[1], weights[1], taps[2], weights[2])
            _prolong_add_3d(coarse.reshape(c3), x.reshape(f3), *t3)


@njit(cache=True, nogil=True)
def _fine_flux(x, q, k, table, modes, offset, shape):
    """``q = A x`` on level 0 (the image's Q1 operator, flat `x` and `q`)."""
    if k.ndim == 2:
        s2 = (shape[0], shape[1])
        nodal_flux_2d(x.reshape(s2), offset, k, modes, q.reshape(s2), table)
    else:
        s3 = (shape[0], shape[1], shape[2])
        flux_rows(x.reshape(s3), offset, k, modes, q.reshape(s3), table)


@njit(cache=True, nogil=True)
def v_cycle(b, x, q, k, table, modes, offset, inverse, theta, delta, degrees, shapes,
            coefficients, padded, bs, xs, ds, qs, coarsest_b, coarsest_x, restriction,
            prolongation, factor, keep):  # fmt: skip
    """``x = B b``: `Cycle` as a V-cycle (gamma 1) in one compiled call, for small images
    without voids (level 0 as fields, one damped Jacobi sweep there, degree >= 2 below, a
    Cholesky factor on the coarsest of at least three levels): the kernels of `Cycle` with
    the same scalars in the same order, so the same bits, without the interpreter between
    them.

    ``b``, ``x``, ``q``: level 0's flat right-hand side, result and ``A x`` (float64);
    ``k``, ``table``, ``modes``, ``offset``: its operator (`nodal_flux_2d`,
    `nodal_flux_3d`); per level ``l``: ``inverse[l]`` (but the coarsest), ``theta[l]``,
    ``delta[l]`` (`_interval`), ``degrees[l]``, ``shapes[l]`` (nodes per axis); per level
    ``1 <= l <= L - 2`` (index ``l - 1``): ``coefficients``, ``padded`` (the same laid
    out by `pad_stencil_3d`, or empty: `_stencil`) and the work arrays ``bs``, ``xs``,
    ``ds``, ``qs`` (of one dtype); ``coarsest_b``, ``coarsest_x``: those of the
    coarsest level (float64); per level ``l >= 1`` (index ``l - 1``) the taps and weights
    of its transfers (``restriction[l - 1]``: taps and weights of axes 0, 1, 2, a dummy
    third axis in 2-D); ``factor``, ``keep``: `cholesky_solve`'s arguments.
    """
    last = shapes.shape[0] - 2  # the last level smoothed
    _chebyshev_first(x, x, b, inverse[0], 1.0 / theta[0])  # level 0: one sweep from 0
    _fine_flux(x, q, k, table, modes, offset, shapes[0])
    r = restriction[0]
    _transfer(True, bs[0], b, q, x, shapes[0], shapes[1], (r[0], r[2], r[4]), (r[1], r[3], r[5]))
    for level in range(1, last + 1):
        c, pc = coefficients[level - 1], padded[level - 1]
        lb, lx, ld, lq = bs[level - 1], xs[level - 1], ds[level - 1], qs[level - 1]
        _coarse_smooth(c, pc, lx, ld, lb, lq, inverse[level], theta[level], delta[level],
                       degrees[level], True)  # fmt: skip
        _stencil(c, pc, lx, lq)
        r = restriction[level]
        taps, weights = (r[0], r[2], r[4]), (r[1], r[3], r[5])
        if level < last:
            _transfer(True, bs[level], lb, lq, lx, shapes[level], shapes[level + 1], taps, weights)
        else:
            _transfer(True, coarsest_b, lb, lq, lx, shapes[level], shapes[level + 1], taps,
                      weights)  # fmt: skip
    cholesky_solve(factor, keep, coarsest_b, coarsest_x)
    for level in range(last, 0, -1):  # up: prolong the correction, then smooth again
        c, pc = coefficients[level - 1], padded[level - 1]
        lb, lx, ld, lq = bs[level - 1], xs[level - 1], ds[level - 1], qs[level - 1]
        p = prolongation[level]
        taps, weights = (p[0], p[2], p[4]), (p[1], p[3], p[5])
        if level < last:
            _transfer(False, xs[level], lb, lq, lx, shapes[level], shapes[level + 1], taps,
                      weights)  # fmt: skip
        else:
            _transfer(False, coarsest_x, lb, lq, lx, shapes[level], shapes[level + 1], taps,
                      weights)  # fmt: skip
        _coarse_smooth(c, pc, lx, ld, lb, lq, inverse[level], theta[level], delta[level],
                       degrees[level], False)  # fmt: skip
    p = prolongation[0]
    _transfer(False, xs[0], b, q, x, shapes[0], shapes[1], (p[0], p[2], p[4]), (p[1], p[3], p[5]))
    _fine_flux(x, q, k, table, modes, offset, shapes[0])
    _jacobi_add(x, b, q, inverse[0], 1.0 / theta[0])
