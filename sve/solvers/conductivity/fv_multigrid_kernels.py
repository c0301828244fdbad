"""Numba kernels of the finite-volume multigrid preconditioner (private).

Conventions of ``conductivity/fv_kernels.py``: cell fields (N0, N1, N2), a 2-D image as
``(N0, N1, 1)``; ``g0``, ``g1``, ``g2`` the face conductances, ``N_a + 1``
faces along axis ``a``, faces 0 and ``N_a`` joining the end cells to a
Dirichlet value 0 (or conductance 0: no flux). No periodic axis.
Coarse cell ``I`` aggregates the fine cells ``s I`` to ``s I + s - 1`` (those that
exist) along every axis, ``s = steps[a]``: 2 along a coarsened axis, 1 along one
left fine (semi-coarsening).
"""

import numpy as np
from numba import njit, prange

from sve.solvers._core.threads import by_size
from sve.solvers.conductivity.fv_kernels import _face, face_row


@njit(cache=True, nogil=True)
def diagonal(g0, g1, g2, out):
    """``out`` (N0, N1, N2) = the sum of the conductances of the six faces of every cell."""
    n0, n1, n2 = out.shape
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                out[i, j, l] = (
                    g0[i, j, l] + g0[i + 1, j, l] + g1[i, j, l] + g1[i, j + 1, l]
                    + g2[i, j, l] + g2[i, j, l + 1]
                )  # fmt: skip


@by_size(3)
def residual(g0, g1, g2, b, x, r):
    """``r = b - A x``, ``A`` the operator of the conductances (its diagonal summed as
    `diagonal` sums it); `r` may be `b`.
    """
    n0, n1, n2 = x.shape
    for i in prange(n0):
        for j in range(n1):
            for l in range(n2):
                d = (
                    g0[i, j, l] + g0[i + 1, j, l] + g1[i, j, l] + g1[i, j + 1, l]
                    + g2[i, j, l] + g2[i, j, l + 1]
                )  # fmt: skip
                s = b[i, j, l] - d * x[i, j, l]
                if i > 0:
                    s += g0[i, j, l] * x[i - 1, j, l]
                if i + 1 < n0:
                    s += g0[i + 1, j, l] * x[i + 1, j, l]
                if j > 0:
                    s += g1[i, j, l] * x[i, j - 1, l]
                if j + 1 < n1:
                    s += g1[i, j + 1, l] * x[i, j + 1, l]
                if l > 0:
                    s += g2[i, j, l] * x[i, j, l - 1]
                if l + 1 < n2:
                    s += g2[i, j, l + 1] * x[i, j, l + 1]
                r[i, j, l] = s


@njit(cache=True, nogil=True)
def _line_forward(a0, a1, g, inverse, b, x, i, j, s, c):
    """Relax the cells of line ``(i, j)`` (along axis 2) in turn, forward from ``x = 0``
    (the cells after this one are not read: the old value of cell l + 1 is 0, the new
    one of cell l - 1 is used). `a0` (`a1`) are the conductances of the faces ``i``
    normal to axis 0 (``j`` normal to axis 1) along the line, `g` its ``N2 + 1`` faces
    normal to axis 2 and `inverse` its inverse diagonal.

    Everything but the coupling to the cell relaxed just before is gathered first, in
    loops without a carried dependency: ``x_l = s_l + c_l x_{l - 1}``, one multiply-add
    per cell left on the sequential chain (half the time of the plain sweep at 128^3).
    """
    n2 = x.shape[2]
    for l in range(n2):
        s[l] = b[i, j, l]
    if i > 0:
        for l in range(n2):
            s[l] += a0[l] * x[i - 1, j, l]
    if j > 0:
        for l in range(n2):
            s[l] += a1[l] * x[i, j - 1, l]
    line = x[i, j]
    for l in range(n2):
        s[l] *= inverse[l]
        c[l] = inverse[l] * g[l]
    previous = 0.0
    for l in range(n2):
        previous = s[l] + c[l] * previous
        line[l] = previous


@njit(cache=True, nogil=True)
def _line_backward(a0, b0, a1, b1, g, inverse, b, x, i, j, s, c):
    """`_line_forward` backward, on any `x`: the old value of cell l - 1 is used, the new
    one of cell l + 1; `b0` (`b1`) the conductances of the faces ``i + 1`` (``j + 1``).

    Every loop runs backward, so that the backward sweep reads the arrays in one
    descending stream: with the lines descending but each line read ascending, the
    hardware prefetch missed at every line and the sweep took 1.7-1.8 times as long
    (the same sums either way).
    """
    n0, n1, n2 = x.shape
    for l in range(n2 - 1, -1, -1):
        s[l] = b[i, j, l]
    if i > 0:
        for l in range(n2 - 1, -1, -1):
            s[l] += a0[l] * x[i - 1, j, l]
    if i + 1 < n0:
        for l in range(n2 - 1, -1, -1):
            s[l] += b0[l] * x[i + 1, j, l]
    if j > 0:
        for l in range(n2 - 1, -1, -1):
            s[l] += a1[l] * x[i, j - 1, l]
    if j + 1 < n1:
        for l in range(n2 - 1, -1, -1):
            s[l] += b1[l] * x[i, j + 1, l]
    line = x[i, j]
    for l in range(n2 - 1, 0, -1):
        s[l] = inverse[l] * (s[l] + g[l] * line[l - 1])
        c[l] = inverse[l] * g[l + 1]
    s[0] *= inverse[0]
    c[0] = inverse[0] * g[1]
    following = 0.0
    for l in range(n2 - 1, -1, -1):
        following = s[l] + c[l] * following
        line[l] = following


@njit(cache=True, nogil=True)
def gauss_seidel(g0, g1, g2, inverse_diagonal, b, x, forward):
    """One lexicographic Gauss-Seidel sweep on ``A x = b`` in place, backward (reverse C
    order), or forward (C order) from ``x = 0`` (`x` is only written); a cell of inverse
    diagonal 0 (a void) is set to 0.
    """
    n0, n1, n2 = x.shape
    s = np.empty(n2, dtype=x.dtype)
    c = np.empty(n2, dtype=x.dtype)
    if forward:
        for i in range(n0):
            for j in range(n1):
                _line_forward(
                    g0[i, j], g1[i, j], g2[i, j], inverse_diagonal[i, j], b, x, i, j, s, c
                )
    else:
        for i in range(n0 - 1, -1, -1):
            for j in range(n1 - 1, -1, -1):
                _line_backward(
                    g0[i, j], g0[i + 1, j], g1[i, j], g1[i, j + 1], g2[i, j],
                    inverse_diagonal[i, j], b, x, i, j, s, c,
                )  # fmt: skip


@njit(cache=True, nogil=True)
def _rows(labels, inner, bound, periodic, i, j, a0, b0, a1, b1, g, inverse):
    """The face rows of line ``(i, j)`` from the labels (``fv_kernels.face_row``, rounded
    to the dtype of the rows) and its inverse diagonal, summed as ``diagonal`` sums it.
    """
    face_row(labels, inner, bound, periodic, 0, i, j, a0)
    face_row(labels, inner, bound, periodic, 0, i + 1, j, b0)
    face_row(labels, inner, bound, periodic, 1, i, j, a1)
    face_row(labels, inner, bound, periodic, 1, i, j + 1, b1)
    face_row(labels, inner, bound, periodic, 2, i, j, g)
    for l in range(inverse.size):
        d = a0[l] + b0[l] + a1[l] + b1[l] + g[l] + g[l + 1]
        inverse[l] = 1.0 / d if d > 0.0 else 0.0


@njit(cache=True, nogil=True)
def gauss_seidel_labels(labels, inner, bound, periodic, b, x, forward, dtype_of):
    """`gauss_seidel` with the face conductances of the labels (``fv_kernels``), rounded
    to the dtype of `dtype_of` (a float32 scalar array) as a stored level holds them:
    the same numbers, one byte per cell read instead of 20.
    """
    n0, n1, n2 = x.shape
    s = np.empty(n2, dtype=x.dtype)
    c = np.empty(n2, dtype=x.dtype)
    a0 = np.empty(n2, dtype=dtype_of.dtype)
    b0 = np.empty(n2, dtype=dtype_of.dtype)
    a1 = np.empty(n2, dtype=dtype_of.dtype)
    b1 = np.empty(n2, dtype=dtype_of.dtype)
    g = np.empty(n2 + 1, dtype=dtype_of.dtype)
    inverse = np.empty(n2, dtype=dtype_of.dtype)
    if forward:
        for i in range(n0):
            for j in range(n1):
                _rows(labels, inner, bound, periodic, i, j, a0, b0, a1, b1, g, inverse)
                _line_forward(a0, a1, g, inverse, b, x, i, j, s, c)
    else:
        for i in range(n0 - 1, -1, -1):
            for j in range(n1 - 1, -1, -1):
                _rows(labels, inner, bound, periodic, i, j, a0, b0, a1, b1, g, inverse)
                _line_backward(a0, b0, a1, b1, g, inverse, b, x, i, j, s, c)


@njit(cache=True, nogil=True)
def coarse_faces(g, axis, steps, out):
    """Galerkin conductances of the faces normal to `axis` after aggregation by `steps`
    (3,) cells per axis: coarse face ``F`` is fine face ``min(s F, N_axis)``, summed over
    the fine faces it covers.
    """
    m0, m1, m2 = out.shape
    f0, f1, f2 = g.shape
    s0, s1, s2 = steps[0], steps[1], steps[2]
    for i in range(m0):
        for j in range(m1):
            for l in range(m2):
                s = 0.0
                if axis == 0:
                    for b in range(s1 * j, min(s1 * j + s1, f1)):
                        for c in range(s2 * l, min(s2 * l + s2, f2)):
                            s += g[min(s0 * i, f0 - 1), b, c]
                elif axis == 1:
                    for a in range(s0 * i, min(s0 * i + s0, f0)):
                        for c in range(s2 * l, min(s2 * l + s2, f2)):
                            s += g[a, min(s1 * j, f1 - 1), c]
                else:
                    for a in range(s0 * i, min(s0 * i + s0, f0)):
                        for b in range(s1 * j, min(s1 * j + s1, f1)):
                            s += g[a, b, min(s2 * l, f2 - 1)]
                out[i, j, l] = s


@njit(cache=True, nogil=True)
def _zero(plane):
    """``plane[...] = 0`` in a serial call: a slice set inside a ``prange`` loop would be a
    nested parallel loop (see ``q1_kernels._flux_slabs``).
    """
    plane[...] = 0.0


@by_size(3)
def restrict_residual(g0, g1, g2, x, steps, coarse):
    """``coarse = P^T r``, ``r`` the residual of a forward sweep from zero (`gauss_seidel`),
    for aggregates of `steps` (3,) cells per axis.

    Such a sweep solved row ``c`` with the cells after ``c`` still at zero, so
    ``r_c = sum_{n > c} g_cn x_n``: the three faces towards the next cells along each
    axis. On a void, where the sweep sets 0, this is 0 too (its faces have
    conductance 0), whatever the right-hand side there: the cycle ignores the
    right-hand side on voids as it ignores them in its result, which keeps it symmetric.
    """
    n0, n1, n2 = x.shape
    s0 = steps[0]
    for m in prange(coarse.shape[0]):  # a coarse plane from its fine planes, in order
        _zero(coarse[m])
        r = np.empty(n2 + 1, dtype=coarse.dtype)  # one line, and a zero past its end
        for i in range(s0 * m, min(s0 * m + s0, n0)):
            for j in range(n1):
                _restrict_line(g0[i + 1, j], g1[i, j + 1], g2[i, j], x, i, j, steps, r, coarse)


@by_size(4)
def restrict_residual_labels(labels, inner, bound, periodic, x, steps, coarse, dtype_of):
    """`restrict_residual` with the face conductances of the labels, rounded to the dtype
    of `dtype_of` (see `gauss_seidel_labels`): the residual is made and summed into the
    aggregates line by line, no fine-size array.
    """
    n0, n1, n2 = x.shape
    s0 = steps[0]
    for m in prange(coarse.shape[0]):  # a coarse plane from its fine planes, in order
        _zero(coarse[m])
        r = np.empty(n2 + 1, dtype=coarse.dtype)
        b0 = np.empty(n2, dtype=dtype_of.dtype)
        b1 = np.empty(n2, dtype=dtype_of.dtype)
        g = np.empty(n2 + 1, dtype=dtype_of.dtype)
        for i in range(s0 * m, min(s0 * m + s0, n0)):
            for j in range(n1):
                face_row(labels, inner, bound, periodic, 0, i + 1, j, b0)
                face_row(labels, inner, bound, periodic, 1, i, j + 1, b1)
                face_row(labels, inner, bound, periodic, 2, i, j, g)
                _restrict_line(b0, b1, g, x, i, j, steps, r, coarse)


@njit(cache=True, nogil=True, inline="always")
def _restrict_line(b0, b1, g, x, i, j, steps, r, coarse):
    """Add the residual of line ``(i, j)`` (see `restrict_residual`) to its aggregates;
    `b0`, `b1`, `g` the face rows of ``_line_backward``, `r` a scratch line.
    """
    n0, n1, n2 = x.shape
    s0, s1, s2 = steps[0], steps[1], steps[2]
    line = x[i, j]
    for l in range(n2 - 1):
        r[l] = g[l + 1] * line[l + 1]
    r[n2 - 1] = 0.0
    r[n2] = 0.0
    if i + 1 < n0:
        for l in range(n2):
            r[l] += b0[l] * x[i + 1, j, l]
    if j + 1 < n1:
        for l in range(n2):
            r[l] += b1[l] * x[i, j + 1, l]
    row = coarse[i // s0, j // s1]
    if s2 == 2:
        for m in range(row.size):
            row[m] += r[2 * m] + r[2 * m + 1]
    else:
        for m in range(row.size):
            row[m] += r[m]


@by_size(3)
def prolong_add(coarse, scale, steps, fine):
    """``fine += scale P coarse``: every fine cell gets its aggregate's value (aggregates
    of `steps` (3,) cells per axis, 1 or 2 as ``fv_multigrid.coarsened_axes`` makes them).
    """
    n0, n1, n2 = fine.shape
    s0, s1, s2 = steps[0], steps[1], steps[2]
    for i in prange(n0):
        for j in range(n1):
            row = coarse[i // s0, j // s1]
            line = fine[i, j]
            if s2 == 2:  # without a division per cell: 3 times faster at 128^3
                for m in range(n2 // 2):
                    value = scale * row[m]
                    line[2 * m] += value
                    line[2 * m + 1] += value
                if n2 % 2:
                    line[n2 - 1] += scale * row[n2 // 2]
            else:  # s2 == 1
                for l in range(n2):
                    line[l] += scale * row[l]


@njit(cache=True, nogil=True)
def label_face_means(labels, inner, bound, periodic, dtype_of, out):
    """``out`` (3,) = the mean conductance of the inner faces normal to each axis, the faces
    rounded to the dtype of `dtype_of` (0 on an axis of one cell).
    """
    n = labels.shape
    for axis in range(3):
        total = 0.0
        if n[axis] > 1:
            low = 1 if axis == 0 else 0
            for i in range(low, n[0]):
                for j in range(1 if axis == 1 else 0, n[1]):
                    for l in range(1 if axis == 2 else 0, n[2]):
                        value = dtype_of.dtype.type(
                            _face(labels, inner, bound, periodic, axis, i, j, l)
                        )
                        total += value
            faces = (n[0] - (axis == 0)) * (n[1] - (axis == 1)) * (n[2] - (axis == 2))
            total /= faces
        out[axis] = total


@njit(cache=True, nogil=True)
def coarse_faces_labels(labels, inner, bound, periodic, axis, steps, out):
    """`coarse_faces` of the face conductances of the labels, each rounded to the dtype of
    `out` before it is summed (as the stored finest level holds them).
    """
    m0, m1, m2 = out.shape
    n0, n1, n2 = labels.shape
    s0, s1, s2 = steps[0], steps[1], steps[2]
    for i in range(m0):
        for j in range(m1):
            for l in range(m2):
                s = 0.0
                if axis == 0:
                    for b in range(s1 * j, min(s1 * j + s1, n1)):
                        for c in range(s2 * l, min(s2 * l + s2, n2)):
                            face = _face(labels, inner, bound, periodic, 0, min(s0 * i, n0), b, c)
                            s += out.dtype.type(face)
                elif axis == 1:
                    for a in range(s0 * i, min(s0 * i + s0, n0)):
                        for c in range(s2 * l, min(s2 * l + s2, n2)):
                            face = _face(labels, inner, bound, periodic, 1, a, min(s1 * j, n1), c)
                            s += out.dtype.type(face)
                else:
                    for a in range(s0 * i, min(s0 * i + s0, n0)):
                        for b in range(s1 * j, min(s1 * j + s1, n1)):
                            face = _face(labels, inner, bound, periodic, 2, a, b, min(s2 * l, n2))
                            s += out.dtype.type(face)
                out[i, j, l] = s
