"""Numba kernels of the multigrid preconditioner of periodic 3-D elasticity (private).

Nodal vector fields are arrays of shape ``nodes + (3,)``; a symmetric 3 x 3 block
is stored as its 6 entries ``(xx, yy, zz, yz, xz, xy)``. The coarse operators are
block stencils: ``coefficients[i, j, l, t]`` (3 x 3) couples node ``(i, j, l)`` to
node ``(i + a, j + b, l + c)`` (modulo the grid) for ``s = 9 (a + 1) + 3 (b + 1) +
(c + 1) = t + 13 >= 13``, rows the components at the node, columns those at the
neighbour; the coupling for ``s < 13`` is the transpose of the neighbour's,
``coefficients[i + a, j + b, l + c, 13 - s].T``: the upper half of the rows, exactly
symmetric, half the memory.

Loops over the first axis are parallel (``prange``) and write disjoint outputs, in
the same order on any number of threads: results are the same bits.
"""

import numpy as np
from numba import njit, prange

# Products may be fused multiply-adds (LLVM's contraction): the coarse stencil took 0.58
# times the time of the unfused one; the same bits on any number of threads.
CONTRACT = {"contract"}


@njit(cache=True, nogil=True, inline="always")
def _inverse6(a00, a11, a22, a12, a02, a01, out):
    """The 6 entries of the inverse of a symmetric 3 x 3 block (zeros if not positive
    definite: an empty node).
    """
    c00 = a11 * a22 - a12 * a12
    c01 = a02 * a12 - a01 * a22
    c02 = a01 * a12 - a02 * a11
    det = a00 * c00 + a01 * c01 + a02 * c02
    if not (det > 0.0 and a00 > 0.0):
        for k in range(6):
            out[k] = 0.0
        return
    inv = 1.0 / det
    out[0] = c00 * inv
    out[1] = (a00 * a22 - a02 * a02) * inv
    out[2] = (a00 * a11 - a01 * a01) * inv
    out[3] = (a01 * a02 - a00 * a12) * inv
    out[4] = c02 * inv
    out[5] = c01 * inv


def _fine_block_inverse(material, diagonal, out):
    """Inverse diagonal blocks of the Q1 operator of the image.

    ``material`` (N0, N1, N2) int32, ``diagonal`` (n, 8, 6) the diagonal block of
    corner ``a`` of the element of each material, ``out`` (N0, N1, N2, 6) overwritten
    (float32 or float64): node ``n`` sums the blocks of the 8 elements ``n - a``.
    """
    n0, n1, n2 = material.shape
    for i in prange(n0):
        block = np.empty(6)
        inv = np.empty(6)
        for j in range(n1):
            for l in range(n2):
                block[:] = 0.0
                for a in range(8):
                    a0, a1, a2 = a >> 2, (a >> 1) & 1, a & 1
                    ii = i - a0 if i >= a0 else n0 - 1
                    jj = j - a1 if j >= a1 else n1 - 1
                    ll = l - a2 if l >= a2 else n2 - 1
                    m = material[ii, jj, ll]
                    for k in range(6):
                        block[k] += diagonal[m, a, k]
                _inverse6(block[0], block[1], block[2], block[3], block[4], block[5], inv)
                for k in range(6):
                    out[i, j, l, k] = inv[k]


def _stencil_inverse(coefficients, out):
    """Inverse diagonal blocks (M0, M1, M2, 6) of a block stencil (module docstring)."""
    m0, m1, m2 = coefficients.shape[:3]
    for i in prange(m0):
        inv = np.empty(6)
        for j in range(m1):
            for l in range(m2):
                c = coefficients[i, j, l, 0]
                _inverse6(c[0, 0], c[1, 1], c[2, 2], c[1, 2], c[0, 2], c[0, 1], inv)
                for k in range(6):
                    out[i, j, l, k] = inv[k]


@njit(cache=True, nogil=True, inline="always")
def _times(inverse, n, r0, r1, r2):
    """The symmetric block ``inverse[n]`` (6 entries, any float type) times ``(r0, r1, r2)``,
    in float64 (entries read one by one: a float32 row view made the loop 100 times slower).
    """
    v0, v1, v2 = np.float64(inverse[n, 0]), np.float64(inverse[n, 1]), np.float64(inverse[n, 2])
    v3, v4, v5 = np.float64(inverse[n, 3]), np.float64(inverse[n, 4]), np.float64(inverse[n, 5])
    return v0 * r0 + v5 * r1 + v4 * r2, v5 * r0 + v1 * r1 + v3 * r2, v4 * r0 + v3 * r1 + v2 * r2


def _block_first(x, r, inverse, scale):
    """``x = scale D^-1 r`` (nodal fields flattened to (n, 3), ``inverse`` (n, 6))."""
    for n in prange(x.shape[0]):
        s0, s1, s2 = _times(inverse, n, r[n, 0], r[n, 1], r[n, 2])
        x[n, 0] = scale * s0
        x[n, 1] = scale * s1
        x[n, 2] = scale * s2


def _block_next(x, d, b, q, inverse, keep, scale):
    """Chebyshev step: ``d = keep d + scale D^-1 (b - q)``, ``x += d`` (the residual
    ``b - q`` formed where it is read).
    """
    for n in prange(x.shape[0]):
        t0, t1, t2 = _times(inverse, n, b[n, 0] - q[n, 0], b[n, 1] - q[n, 1], b[n, 2] - q[n, 2])
        s0 = keep * d[n, 0] + scale * t0
        s1 = keep * d[n, 1] + scale * t1
        s2 = keep * d[n, 2] + scale * t2
        d[n, 0], d[n, 1], d[n, 2] = s0, s1, s2
        x[n, 0] += s0
        x[n, 1] += s1
        x[n, 2] += s2


def _block_jacobi_add(x, b, q, inverse, scale):
    """``x += scale D^-1 (b - q)``: one damped block-Jacobi sweep on the residual."""
    for n in prange(x.shape[0]):
        t0, t1, t2 = _times(inverse, n, b[n, 0] - q[n, 0], b[n, 1] - q[n, 1], b[n, 2] - q[n, 2])
        x[n, 0] += scale * t0
        x[n, 1] += scale * t1
        x[n, 2] += scale * t2


def _residual(b, q, r):
    """``r = b - q`` (flat arrays)."""
    for n in prange(r.size):
        r[n] = b[n] - q[n]


def _block_stencil(coefficients, x, out):
    """``out = A x`` for a block stencil (module docstring); ``x``, ``out`` (M0, M1, M2, 3).

    Each stored block is read once and used twice: ``out[n] += C x[n + o]`` and, off the
    diagonal, ``out[n + o] += C^T x[n]`` (the half of the rows the stencil does not store).
    A node's blocks reach the node rows ``i`` and ``i + 1``: the even rows, then the odd
    rows, write disjoint nodes (the last row of an odd count, which wraps onto row 0, comes
    alone), so every node adds its terms in one order whatever the number of threads.
    Coefficients are read one by one (float32 block views made the loop several times
    slower). Twice as fast as reading the neighbours' transposed blocks (the 13 lower
    offsets) at every node.
    """
    m0 = x.shape[0]
    for i in prange(m0):
        for j in range(x.shape[1]):
            for l in range(x.shape[2]):
                out[i, j, l, 0] = 0.0
                out[i, j, l, 1] = 0.0
                out[i, j, l, 2] = 0.0
    half = m0 // 2
    for k in prange(half):
        _stencil_row(coefficients, x, out, 2 * k)
    for k in prange(half):
        _stencil_row(coefficients, x, out, 2 * k + 1)
    if m0 % 2 == 1:
        _stencil_row(coefficients, x, out, m0 - 1)


@njit(cache=True, nogil=True, inline="always", fastmath=CONTRACT)
def _term(coefficients, x, out, i, j, l, t, ii, jj, ll, x0, x1, x2, scatter):
    """``C x[ii, jj, ll]`` for the block ``C = coefficients[i, j, l, t]``, and ``out[ii, jj,
    ll] += C^T (x0, x1, x2)`` where `scatter`.
    """
    c00 = np.float64(coefficients[i, j, l, t, 0, 0])
    c01 = np.float64(coefficients[i, j, l, t, 0, 1])
    c02 = np.float64(coefficients[i, j, l, t, 0, 2])
    c10 = np.float64(coefficients[i, j, l, t, 1, 0])
    c11 = np.float64(coefficients[i, j, l, t, 1, 1])
    c12 = np.float64(coefficients[i, j, l, t, 1, 2])
    c20 = np.float64(coefficients[i, j, l, t, 2, 0])
    c21 = np.float64(coefficients[i, j, l, t, 2, 1])
    c22 = np.float64(coefficients[i, j, l, t, 2, 2])
    y0 = x[ii, jj, ll, 0]
    y1 = x[ii, jj, ll, 1]
    y2 = x[ii, jj, ll, 2]
    if scatter:
        out[ii, jj, ll, 0] += c00 * x0 + c10 * x1 + c20 * x2
        out[ii, jj, ll, 1] += c01 * x0 + c11 * x1 + c21 * x2
        out[ii, jj, ll, 2] += c02 * x0 + c12 * x1 + c22 * x2
    return (
        c00 * y0 + c01 * y1 + c02 * y2,
        c10 * y0 + c11 * y1 + c12 * y2,
        c20 * y0 + c21 * y1 + c22 * y2,
    )


@njit(cache=True, nogil=True, fastmath=CONTRACT)
def _stencil_row(coefficients, x, out, i):
    """Add the terms of the stored blocks of node row ``i`` to ``out`` (`_block_stencil`):
    block ``t`` couples the node to offset ``(t + 13) // 9 - 1, (t + 13) // 3 % 3 - 1,
    (t + 13) % 3 - 1``, written out (constant offsets, wrapped indices computed once).
    """
    m0, m1, m2 = x.shape[:3]
    ip = 0 if i + 1 == m0 else i + 1
    for j in range(m1):
        jm = m1 - 1 if j == 0 else j - 1
        jp = 0 if j + 1 == m1 else j + 1
        for l in range(m2):
            lm = m2 - 1 if l == 0 else l - 1
            lp = 0 if l + 1 == m2 else l + 1
            x0 = x[i, j, l, 0]
            x1 = x[i, j, l, 1]
            x2 = x[i, j, l, 2]
            s0, s1, s2 = _term(coefficients, x, out, i, j, l, 0, i, j, l, x0, x1, x2, False)
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 1, i, j, lp, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 2, i, jp, lm, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 3, i, jp, l, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 4, i, jp, lp, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 5, ip, jm, lm, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 6, ip, jm, l, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 7, ip, jm, lp, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 8, ip, j, lm, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 9, ip, j, l, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 10, ip, j, lp, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 11, ip, jp, lm, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 12, ip, jp, l, x0, x1, x2, True)
            s0, s1, s2 = s0 + a0, s1 + a1, s2 + a2
            a0, a1, a2 = _term(coefficients, x, out, i, j, l, 13, ip, jp, lp, x0, x1, x2, True)
            out[i, j, l, 0] += s0 + a0
            out[i, j, l, 1] += s1 + a1
            out[i, j, l, 2] += s2 + a2


def _remove_mean(x):
    """Subtract from ``x`` (M0, M1, M2, 3) the mean of every component: sums per row of the
    first axis, then over the rows in order (the same bits on any number of threads).
    """
    m0, m1, m2 = x.shape[:3]
    rows = np.empty((m0, 3))
    for i in prange(m0):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for j in range(m1):
            for l in range(m2):
                s0 += x[i, j, l, 0]
                s1 += x[i, j, l, 1]
                s2 += x[i, j, l, 2]
        rows[i, 0], rows[i, 1], rows[i, 2] = s0, s1, s2
    mean = np.zeros(3)
    for i in range(m0):
        for p in range(3):
            mean[p] += rows[i, p]
    scale = 1.0 / (m0 * m1 * m2)
    m_0, m_1, m_2 = mean[0] * scale, mean[1] * scale, mean[2] * scale
    for i in prange(m0):
        for j in range(m1):
            for l in range(m2):
                x[i, j, l, 0] -= m_0
                x[i, j, l, 1] -= m_1
                x[i, j, l, 2] -= m_2


def _restrict(b, q, coarse):
    """``coarse = P^T (b - q)``: trilinear restriction of a residual on a periodic grid of
    twice the coarse nodes per axis (coarse node ``I`` is fine node ``2 I``; weights 1 and 1/2).

    Separable, axis 2, then axis 1, then axis 0: each fine row of axis 0 is restricted over
    axes 1 and 2 (``plane``, through ``line``) for the coarse rows that read it, 1.5 times
    per fine node instead of 27 taps per coarse node.
    """
    m0, m1, m2 = coarse.shape[:3]
    n0, n1, n2 = b.shape[:3]
    for i in prange(m0):
        line = np.empty((n1, m2, 3))
        plane = np.empty((m1, m2, 3))
        for a in range(3):
            ii = (2 * i + a - 1) % n0
            wa = 1.0 if a == 1 else 0.5
            for j in range(n1):
                for l in range(m2):
                    lm = n2 - 1 if l == 0 else 2 * l - 1
                    lp = 2 * l + 1
                    for p in range(3):
                        below = b[ii, j, lm, p] - q[ii, j, lm, p]
                        above = b[ii, j, lp, p] - q[ii, j, lp, p]
                        line[j, l, p] = (b[ii, j, 2 * l, p] - q[ii, j, 2 * l, p]) + 0.5 * (
                            below + above
                        )
            for j in range(m1):
                jm = n1 - 1 if j == 0 else 2 * j - 1
                for l in range(m2):
                    for p in range(3):
                        v = wa * (
                            line[2 * j, l, p] + 0.5 * (line[jm, l, p] + line[2 * j + 1, l, p])
                        )
                        if a == 0:
                            plane[j, l, p] = v
                        else:
                            plane[j, l, p] += v
        for j in range(m1):
            for l in range(m2):
                for p in range(3):
                    coarse[i, j, l, p] = plane[j, l, p]


def _prolong_add(coarse, fine):
    """``fine += P coarse``: trilinear interpolation from the coarse nodes (periodic; every
    fine axis twice the coarse one). Per fine line along axis 2: the coarse line
    interpolated over axes 0 and 1 (``line``), then along axis 2.
    """
    m0, m1, m2 = coarse.shape[:3]
    n0, n1 = fine.shape[:2]
    for i in prange(n0):
        line = np.empty((m2, 3))
        i_lo = i // 2
        i_hi = ((i + 1) // 2) % m0
        for j in range(n1):
            j_lo = j // 2
            j_hi = ((j + 1) // 2) % m1
            for l in range(m2):
                for p in range(3):
                    if j % 2 == 0:
                        v0, v1 = coarse[i_lo, j_lo, l, p], coarse[i_hi, j_lo, l, p]
                    else:
                        v0 = 0.5 * (coarse[i_lo, j_lo, l, p] + coarse[i_lo, j_hi, l, p])
                        v1 = 0.5 * (coarse[i_hi, j_lo, l, p] + coarse[i_hi, j_hi, l, p])
                    line[l, p] = v0 if i % 2 == 0 else 0.5 * (v0 + v1)
            for l in range(m2):
                l_hi = l + 1 if l + 1 < m2 else 0
                for p in range(3):
                    fine[i, j, 2 * l, p] += line[l, p]
                    fine[i, j, 2 * l + 1, p] += 0.5 * (line[l, p] + line[l_hi, p])


def _level_one_elements(material, unit, first, out):
    """Galerkin element matrices of the coarse voxels of rows ``first ...`` of level 1.

    ``material`` (N0, N1, N2) int32 of the image, ``unit`` (8, n, 24, 24) the product
    ``P_c^T Ke P_c`` of every child ``c`` (C order over the 2 x 2 x 2 children) and
    material, ``out`` (rows, N1 / 2, N2 / 2, 24, 24) overwritten: the sum over the 8
    children of every coarse voxel.
    """
    rows, m1, m2 = out.shape[:3]
    for r in prange(rows):
        i = first + r
        for j in range(m1):
            for l in range(m2):
                e = out[r, j, l]
                e[:, :] = 0.0
                for c in range(8):
                    m = material[2 * i + (c >> 2), 2 * j + ((c >> 1) & 1), 2 * l + (c & 1)]
                    u = unit[c, m]
                    for p in range(24):
                        for q in range(24):
                            e[p, q] += u[p, q]


def _galerkin_elements(fine, fine_corner, coarse_corner, weight, out):
    """Coarse element matrices ``out[E] = sum_c P_c^T fine[child c of E] P_c`` (3 x 3 blocks).

    ``fine`` (F0, F1, F2, 24, 24), ``out`` (F0 / 2, F1 / 2, F2 / 2, 24, 24) overwritten;
    the interpolation of child ``c`` as its nonzeros ``k``: fine corner
    ``fine_corner[c, k]`` gets ``weight[c, k]`` times coarse corner ``coarse_corner[c, k]``.
    """
    m0, m1, m2 = out.shape[:3]
    taps = weight.shape[1]
    for i in prange(m0):
        for j in range(m1):
            for l in range(m2):
                e = out[i, j, l]
                e[:, :] = 0.0
                for c in range(8):
                    f = fine[2 * i + (c >> 2), 2 * j + ((c >> 1) & 1), 2 * l + (c & 1)]
                    for s in range(taps):
                        a, ci, wa = fine_corner[c, s], coarse_corner[c, s], weight[c, s]
                        if wa == 0.0:
                            continue
                        for t in range(taps):
                            b, cj, wb = fine_corner[c, t], coarse_corner[c, t], weight[c, t]
                            if wb == 0.0:
                                continue
                            w = wa * wb
                            for p in range(3):
                                for q in range(3):
                                    e[3 * ci + p, 3 * cj + q] += w * f[3 * a + p, 3 * b + q]


@njit(cache=True, nogil=True)
def assemble_blocks(elements, first, out):
    """Add element matrices (rows, M1, M2, 24, 24) of the voxels of rows ``first ...`` into
    the block stencil ``out`` (M0, M1, M2, 14, 3, 3) of a periodic grid.
    """
    rows, m1, m2 = elements.shape[:3]
    m0 = out.shape[0]
    for r in range(rows):
        i = first + r
        for j in range(m1):
            for l in range(m2):
                e = elements[r, j, l]
                for a in range(8):
                    a0, a1, a2 = a >> 2, (a >> 1) & 1, a & 1
                    ni, nj, nl = (i + a0) % m0, (j + a1) % m1, (l + a2) % m2
                    for b in range(8):
                        b0, b1, b2 = b >> 2, (b >> 1) & 1, b & 1
                        index = 9 * (b0 - a0 + 1) + 3 * (b1 - a1 + 1) + (b2 - a2 + 1)
                        if index < 13:
                            continue
                        block = out[ni, nj, nl, index - 13]
                        for p in range(3):
                            for q in range(3):
                                block[p, q] += e[3 * a + p, 3 * b + q]


@njit(cache=True, nogil=True)
def block_gershgorin(coefficients, scale):
    """Largest Gershgorin row sum of ``S A S`` (``S`` (M0, M1, M2, 3, 3) the inverse square
    roots of the diagonal blocks): an upper bound of the eigenvalues of ``D^-1 A``.
    """
    m0, m1, m2 = coefficients.shape[:3]
    largest = 0.0
    sums = np.empty(3)
    left = np.empty((3, 3))
    for i in range(m0):
        for j in range(m1):
            for l in range(m2):
                si = scale[i, j, l]
                sums[:] = 0.0
                for a in range(3):
                    ii = (i + a - 1) % m0
                    for b in range(3):
                        jj = (j + b - 1) % m1
                        for c in range(3):
                            ll = (l + c - 1) % m2
                            index = 9 * a + 3 * b + c
                            sj = scale[ii, jj, ll]
                            for p in range(3):  # left = S_i A_ij
                                for q in range(3):
                                    v = 0.0
                                    for k in range(3):
                                        if index >= 13:
                                            entry = coefficients[i, j, l, index - 13, k, q]
                                        else:
                                            entry = coefficients[ii, jj, ll, 13 - index, q, k]
                                        v += si[p, k] * entry
                                    left[p, q] = v
                            for p in range(3):
                                for q in range(3):
                                    v = 0.0
                                    for k in range(3):
                                        v += left[p, k] * sj[k, q]
                                    sums[p] += abs(v)
                for p in range(3):
                    if sums[p] > largest:
                        largest = sums[p]
    return largest


def _pair(function):
    """The serial and the parallel compilation of `function`, indexed by whether to run
    in parallel.
    """
    return (
        njit(cache=True, nogil=True, fastmath=CONTRACT)(function),
        njit(cache=True, nogil=True, parallel=True, fastmath=CONTRACT)(function),
    )


fine_block_inverse = _pair(_fine_block_inverse)
stencil_inverse = _pair(_stencil_inverse)
block_first = _pair(_block_first)
block_next = _pair(_block_next)
block_jacobi_add = _pair(_block_jacobi_add)
residual = _pair(_residual)
remove_mean = _pair(_remove_mean)
block_stencil = _pair(_block_stencil)
restrict = _pair(_restrict)
prolong_add = _pair(_prolong_add)
level_one_elements = _pair(_level_one_elements)
galerkin_elements = _pair(_galerkin_elements)
