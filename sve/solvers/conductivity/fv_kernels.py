"""Numba kernels of the cell-centred finite volumes (private).

Conventions: cell fields are 3-D, a 2-D image passed as ``(N0, N1, 1)``.
Face ``f`` normal to axis ``a`` lies between cells ``f - 1`` and ``f``
along ``a``; the conductance array ``g_a`` has ``N_a + 1`` faces along
``a``. On a periodic axis face 0 joins cell ``N_a - 1`` to cell 0 and face
``N_a`` is not used. On a bounded axis faces 0 and ``N_a`` join the end cells
to the boundary, where the fluctuation vanishes (Dirichlet) or the
conductance is zero (no flux). ``jump[a, 0]`` and ``jump[a, 1]`` are the
increments of the affine field ``E . x`` across an inner face (``E_a h_a``)
and across a boundary half-cell (``E_a h_a / 2``), ``h_a`` the voxel edge
along ``a``; the conductances hold the face areas over the distances.
"""

import numpy as np
from numba import njit, prange

from sve.solvers._core.threads import by_size


@njit(cache=True, nogil=True, inline="always")
def _end_faces(u_first, u_last, g_first, g_last, step, half, periodic):
    """Fluxes through the first and last faces along an axis: the periodic face (last
    cell to first, stored as face 0), or the two boundary faces to the Dirichlet value 0
    (a no-flux face has conductance 0). Returns the flux into the first cell and the
    flux out of the last one.
    """
    if periodic:
        flux = g_first * (u_first - u_last + step)
        return flux, flux
    return g_first * (u_first + half), g_last * (half - u_last)


@njit(cache=True, nogil=True)
def fv_flux(u, g0, g1, g2, jump, periodic, out):
    """Write ``out = A (u + w)``: minus the net outflow of every cell.

    ``u`` (N0, N1, N2) fluctuation, ``g0``, ``g1``, ``g2`` face conductances
    (N0 + 1, N1, N2), (N0, N1 + 1, N2), (N0, N1, N2 + 1), ``jump`` (3, 2),
    ``periodic`` (3,) bool, ``out`` (N0, N1, N2) overwritten.

    Inner faces are visited without a branch (a face of conductance 0 adds 0),
    row by row along the last, contiguous axis; the two end faces of every line
    are added apart: 6 ms at 128^3 against 120 ms for one generic face routine
    with its tests per face (measured here, same results to 3e-16).

    Nearly memory-bound: at 128^3 one application moves 84 MB (reads ``u``
    and the conductances, writes ``out``) in 4.5-5.4 ms, 1.7-2.0 times a
    numpy copy of as many bytes in the same run. Applying it to the d load
    cases of one operator together would read the conductances once (3 + 2d
    fields instead of 5d, 40 % less traffic for d = 3): at most 1-2 ms of
    a conjugate-gradient iteration of about 30 ms that the transforms of the
    preconditioner dominate, and none under mixed conditions, whose load
    cases have different operators. Not done for that reason.
    """
    n0, n1, n2 = u.shape
    out[...] = 0.0
    s0, s1, s2 = jump[0, 0], jump[1, 0], jump[2, 0]
    for i in range(n0):
        for j in range(n1):
            # axis 2, inner faces l = 1 .. n2 - 1 between cells l - 1 and l
            carry = 0.0  # flux through the face before cell l, out of cell l - 1
            for l in range(1, n2):
                flux = g2[i, j, l] * (u[i, j, l] - u[i, j, l - 1] + s2)
                out[i, j, l - 1] += carry - flux
                carry = flux
            out[i, j, n2 - 1] += carry
            into, outof = _end_faces(
                u[i, j, 0], u[i, j, n2 - 1], g2[i, j, 0], g2[i, j, n2], s2, jump[2, 1],
                periodic[2],
            )  # fmt: skip
            out[i, j, 0] += into
            out[i, j, n2 - 1] -= outof
            if i > 0:  # axis 0, inner face i between cells i - 1 and i
                for l in range(n2):
                    flux = g0[i, j, l] * (u[i, j, l] - u[i - 1, j, l] + s0)
                    out[i - 1, j, l] -= flux
                    out[i, j, l] += flux
            if j > 0:  # axis 1, inner face j between cells j - 1 and j
                for l in range(n2):
                    flux = g1[i, j, l] * (u[i, j, l] - u[i, j - 1, l] + s1)
                    out[i, j - 1, l] -= flux
                    out[i, j, l] += flux
    for j in range(n1):
        for l in range(n2):
            into, outof = _end_faces(
                u[0, j, l], u[n0 - 1, j, l], g0[0, j, l], g0[n0, j, l], s0, jump[0, 1],
                periodic[0],
            )  # fmt: skip
            out[0, j, l] += into
            out[n0 - 1, j, l] -= outof
    for i in range(n0):
        for l in range(n2):
            into, outof = _end_faces(
                u[i, 0, l], u[i, n1 - 1, l], g1[i, 0, l], g1[i, n1, l], s1, jump[1, 1],
                periodic[1],
            )  # fmt: skip
            out[i, 0, l] += into
            out[i, n1 - 1, l] -= outof


@njit(cache=True, nogil=True)
def fv_mean_flux(u, g0, g1, g2, jump, periodic, h, volume, out):
    """Write the volume average of the flux of ``u + w`` into ``out`` (3,).

    A face normal to ``a`` stands for a slab of thickness ``h[a]`` (``h[a] / 2`` at
    a boundary), so ``V <q_a> = sum_f flux_f * thickness_f``; ``h`` (3,) holds the
    voxel edges per axis (a 2-D image: 1 on the third), ``volume`` is ``V``.
    Inner faces in one sweep, the two end faces of every line apart, as in
    ``fv_flux`` (5 ms at 128^3 against 88 ms for a generic face routine with
    its tests per face, measured here).
    """
    n0, n1, n2 = u.shape
    s0, s1, s2 = jump[0, 0], jump[1, 0], jump[2, 0]
    inner0 = inner1 = inner2 = 0.0
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                here = u[i, j, l]
                if i > 0:
                    inner0 += g0[i, j, l] * (here - u[i - 1, j, l] + s0)
                if j > 0:
                    inner1 += g1[i, j, l] * (here - u[i, j - 1, l] + s1)
                if l > 0:
                    inner2 += g2[i, j, l] * (here - u[i, j, l - 1] + s2)
    ends = np.zeros(3)  # flux times thickness through the end faces
    for j in range(n1):
        for l in range(n2):
            ends[0] += _end_thickness(
                u[0, j, l], u[n0 - 1, j, l], g0[0, j, l], g0[n0, j, l], s0, jump[0, 1],
                periodic[0], h[0],
            )  # fmt: skip
    for i in range(n0):
        for l in range(n2):
            ends[1] += _end_thickness(
                u[i, 0, l], u[i, n1 - 1, l], g1[i, 0, l], g1[i, n1, l], s1, jump[1, 1],
                periodic[1], h[1],
            )  # fmt: skip
    for i in range(n0):
        for j in range(n1):
            ends[2] += _end_thickness(
                u[i, j, 0], u[i, j, n2 - 1], g2[i, j, 0], g2[i, j, n2], s2, jump[2, 1],
                periodic[2], h[2],
            )  # fmt: skip
    out[0] = (h[0] * inner0 + ends[0]) / volume
    out[1] = (h[1] * inner1 + ends[1]) / volume
    out[2] = (h[2] * inner2 + ends[2]) / volume


@njit(cache=True, nogil=True, inline="always")
def _end_thickness(u_first, u_last, g_first, g_last, step, half, periodic, h):
    """Flux times slab thickness of the end faces of one line (see ``_end_faces``): the
    periodic face, a slab ``h``, or the two boundary faces, ``h / 2`` each.
    """
    into, outof = _end_faces(u_first, u_last, g_first, g_last, step, half, periodic)
    if periodic:
        return h * into
    return 0.5 * h * (into + outof)


@njit(cache=True, nogil=True)
def harmonic(a, b, out):
    """Write the harmonic means ``2 a b / (a + b)`` of two (N0, N1, N2) arrays into
    `out`, 0 where ``a + b = 0`` (two voids), in one pass (no temporaries).
    """
    n0, n1, n2 = a.shape
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                total = a[i, j, l] + b[i, j, l]
                out[i, j, l] = 2.0 * a[i, j, l] * b[i, j, l] / total if total > 0.0 else 0.0


@by_size(0)
def fv_apply(u, g0, g1, g2, out):
    """Write ``out = A u`` on a grid without periodic axes (``fv_flux`` with ``E = 0``).

    Gathered line by line along the last axis, the diagonal summed from the six faces:
    loops without a carried dependency or a branch per cell, which the compiler
    vectorizes (at 128^3, 4.0 ms against 5.1 ms for ``fv_flux`` in isolation, measured
    here; 7 ms against 9-10 ms profiled inside the conjugate gradients, see ``FVGrid.flux``).
    """
    n0, n1, n2 = u.shape
    for i in prange(n0):
        for j in range(n1):
            a0, b0, a1, b1 = g0[i, j], g0[i + 1, j], g1[i, j], g1[i, j + 1]
            _apply_line(u, i, j, a0, b0, a1, b1, g2[i, j], out[i, j])


# -- Faces from the phase labels ----------------------------------------------------------
# ``labels`` (N0, N1, N2) holds the phase of every cell (any integer dtype, >= 0); per axis
# ``a``, ``inner[a, p, q]`` is the conductance of an inner face between phases ``p`` and
# ``q`` (their harmonic mean times ``A_a / h_a``), ``bound[a, p]`` that of a boundary face
# of a cell of phase ``p`` (``2 k_p A_a / h_a`` on a Dirichlet axis, 0 on a no-flux one) and
# ``periodic[a]`` whether face 0 joins the last cell to the first. These give the numbers
# that ``FVGrid`` stores per face, computed where they are used: one byte per cell is read
# instead of 24 bytes of conductances.


@njit(cache=True, nogil=True, inline="always")
def _face(labels, inner, bound, periodic, axis, i, j, l):
    """Conductance of face ``(i, j, l)`` normal to `axis` (its index along `axis` is the
    face number, ``N_axis + 1`` faces), as ``FVGrid`` stores it.
    """
    n = labels.shape[axis]
    f = i if axis == 0 else (j if axis == 1 else l)
    if axis == 0:  # the cell above the face, the last cell for face N
        here = labels[min(i, n - 1), j, l]
    elif axis == 1:
        here = labels[i, min(j, n - 1), l]
    else:
        here = labels[i, j, min(l, n - 1)]
    if 0 < f < n:
        if axis == 0:
            return inner[0, labels[i - 1, j, l], here]
        if axis == 1:
            return inner[1, labels[i, j - 1, l], here]
        return inner[2, labels[i, j, l - 1], here]
    if f == 0:
        if not periodic[axis]:
            return bound[axis, here]
        if axis == 0:
            return inner[0, labels[n - 1, j, l], here]
        if axis == 1:
            return inner[1, labels[i, n - 1, l], here]
        return inner[2, labels[i, j, n - 1], here]
    return 0.0 if periodic[axis] else bound[axis, here]  # face N: `here` is cell N - 1


@njit(cache=True, nogil=True)
def face_row(labels, inner, bound, periodic, axis, i, j, out):
    """Write a row of face conductances into `out` (cast to its dtype): for `axis` 2 the
    ``N2 + 1`` faces of line ``(i, j)``; for `axis` 0 (1) the ``N2`` faces number `i`
    (`j`) normal to it along line ``(i, j)`` (``i <= N0``, ``j <= N1``).
    """
    n0, n1, n2 = labels.shape
    if axis == 2:
        row = labels[i, j]
        for l in range(1, n2):
            out[l] = inner[2, row[l - 1], row[l]]
        if periodic[2]:
            out[0] = inner[2, row[n2 - 1], row[0]]
            out[n2] = 0.0
        else:
            out[0] = bound[2, row[0]]
            out[n2] = bound[2, row[n2 - 1]]
        return
    n = n0 if axis == 0 else n1
    f = i if axis == 0 else j
    if 0 < f < n:
        low = labels[i - 1, j] if axis == 0 else labels[i, j - 1]
        high = labels[i, j]
        for l in range(n2):
            out[l] = inner[axis, low[l], high[l]]
    elif f == 0:
        high = labels[i, j]
        if periodic[axis]:
            low = labels[n0 - 1, j] if axis == 0 else labels[i, n1 - 1]
            for l in range(n2):
                out[l] = inner[axis, low[l], high[l]]
        else:
            for l in range(n2):
                out[l] = bound[axis, high[l]]
    elif periodic[axis]:
        for l in range(n2):
            out[l] = 0.0
    else:
        low = labels[i - 1, j] if axis == 0 else labels[i, j - 1]
        for l in range(n2):
            out[l] = bound[axis, low[l]]


@njit(cache=True, nogil=True)
def faces_of_labels(labels, inner, bound, periodic, axis, out):
    """Write every face conductance normal to `axis` into `out` (``FVGrid`` layout, cast to
    the dtype of `out`).
    """
    f0, f1, f2 = out.shape
    for i in range(f0):
        for j in range(f1):
            face_row(labels, inner, bound, periodic, axis, i, j, out[i, j])


@njit(cache=True, nogil=True)
def phase_counts(labels, phases):
    """Number of cells of every phase ``0 .. phases - 1``, int64 (no index array made)."""
    counts = np.zeros(phases, dtype=np.int64)
    flat = labels.reshape(-1)
    for index in range(flat.size):
        counts[flat[index]] += 1
    return counts


@by_size(0)
def fv_apply_labels(u, labels, inner, bound, periodic, out):
    """``fv_apply`` with the conductances of the labels: the same sums in the same order."""
    n0, n1, n2 = u.shape
    for i in prange(n0):  # the face rows of a plane of cells (a thread's own)
        a0 = np.empty(n2)
        b0 = np.empty(n2)
        a1 = np.empty(n2)
        b1 = np.empty(n2)
        g = np.empty(n2 + 1)
        for j in range(n1):
            face_row(labels, inner, bound, periodic, 0, i, j, a0)
            face_row(labels, inner, bound, periodic, 0, i + 1, j, b0)
            face_row(labels, inner, bound, periodic, 1, i, j, a1)
            face_row(labels, inner, bound, periodic, 1, i, j + 1, b1)
            face_row(labels, inner, bound, periodic, 2, i, j, g)
            _apply_line(u, i, j, a0, b0, a1, b1, g, out[i, j])


@njit(cache=True, nogil=True, inline="always")
def _apply_line(u, i, j, a0, b0, a1, b1, g, result):
    """Row ``(i, j)`` of ``A u`` from its face rows (see ``fv_apply``)."""
    n0, n1, n2 = u.shape
    line = u[i, j]
    for l in range(n2):
        result[l] = (a0[l] + b0[l] + a1[l] + b1[l] + g[l] + g[l + 1]) * line[l]
    for l in range(1, n2):
        result[l] -= g[l] * line[l - 1]
        result[l - 1] -= g[l] * line[l]
    if i > 0:
        for l in range(n2):
            result[l] -= a0[l] * u[i - 1, j, l]
    if i + 1 < n0:
        for l in range(n2):
            result[l] -= b0[l] * u[i + 1, j, l]
    if j > 0:
        for l in range(n2):
            result[l] -= a1[l] * u[i, j - 1, l]
    if j + 1 < n1:
        for l in range(n2):
            result[l] -= b1[l] * u[i, j + 1, l]


@njit(cache=True, nogil=True)
def fv_flux_labels(u, labels, inner, bound, jump, periodic, out):
    """``fv_flux`` with the conductances of the labels: the same sums in the same order."""
    n0, n1, n2 = u.shape
    out[...] = 0.0
    s0, s1, s2 = jump[0, 0], jump[1, 0], jump[2, 0]
    for i in range(n0):
        for j in range(n1):
            carry = 0.0
            for l in range(1, n2):
                g = _face(labels, inner, bound, periodic, 2, i, j, l)
                flux = g * (u[i, j, l] - u[i, j, l - 1] + s2)
                out[i, j, l - 1] += carry - flux
                carry = flux
            out[i, j, n2 - 1] += carry
            into, outof = _end_faces(
                u[i, j, 0], u[i, j, n2 - 1],
                _face(labels, inner, bound, periodic, 2, i, j, 0),
                _face(labels, inner, bound, periodic, 2, i, j, n2), s2, jump[2, 1], periodic[2],
            )  # fmt: skip
            out[i, j, 0] += into
            out[i, j, n2 - 1] -= outof
            if i > 0:
                for l in range(n2):
                    g = _face(labels, inner, bound, periodic, 0, i, j, l)
                    flux = g * (u[i, j, l] - u[i - 1, j, l] + s0)
                    out[i - 1, j, l] -= flux
                    out[i, j, l] += flux
            if j > 0:
                for l in range(n2):
                    g = _face(labels, inner, bound, periodic, 1, i, j, l)
                    flux = g * (u[i, j, l] - u[i, j - 1, l] + s1)
                    out[i, j - 1, l] -= flux
                    out[i, j, l] += flux
    for j in range(n1):
        for l in range(n2):
            into, outof = _end_faces(
                u[0, j, l], u[n0 - 1, j, l],
                _face(labels, inner, bound, periodic, 0, 0, j, l),
                _face(labels, inner, bound, periodic, 0, n0, j, l), s0, jump[0, 1], periodic[0],
            )  # fmt: skip
            out[0, j, l] += into
            out[n0 - 1, j, l] -= outof
    for i in range(n0):
        for l in range(n2):
            into, outof = _end_faces(
                u[i, 0, l], u[i, n1 - 1, l],
                _face(labels, inner, bound, periodic, 1, i, 0, l),
                _face(labels, inner, bound, periodic, 1, i, n1, l), s1, jump[1, 1], periodic[1],
            )  # fmt: skip
            out[i, 0, l] += into
            out[i, n1 - 1, l] -= outof


@njit(cache=True, nogil=True)
def fv_mean_flux_labels(u, labels, inner, bound, jump, periodic, h, volume, out):
    """``fv_mean_flux`` with the conductances of the labels: the same sums in the same order."""
    n0, n1, n2 = u.shape
    s0, s1, s2 = jump[0, 0], jump[1, 0], jump[2, 0]
    inner0 = inner1 = inner2 = 0.0
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                here = u[i, j, l]
                if i > 0:
                    g = _face(labels, inner, bound, periodic, 0, i, j, l)
                    inner0 += g * (here - u[i - 1, j, l] + s0)
                if j > 0:
                    g = _face(labels, inner, bound, periodic, 1, i, j, l)
                    inner1 += g * (here - u[i, j - 1, l] + s1)
                if l > 0:
                    g = _face(labels, inner, bound, periodic, 2, i, j, l)
                    inner2 += g * (here - u[i, j, l - 1] + s2)
    ends = np.zeros(3)
    for j in range(n1):
        for l in range(n2):
            ends[0] += _end_thickness(
                u[0, j, l], u[n0 - 1, j, l],
                _face(labels, inner, bound, periodic, 0, 0, j, l),
                _face(labels, inner, bound, periodic, 0, n0, j, l), s0, jump[0, 1], periodic[0],
                h[0],
            )  # fmt: skip
    for i in range(n0):
        for l in range(n2):
            ends[1] += _end_thickness(
                u[i, 0, l], u[i, n1 - 1, l],
                _face(labels, inner, bound, periodic, 1, i, 0, l),
                _face(labels, inner, bound, periodic, 1, i, n1, l), s1, jump[1, 1], periodic[1],
                h[1],
            )  # fmt: skip
    for i in range(n0):
        for j in range(n1):
            ends[2] += _end_thickness(
                u[i, j, 0], u[i, j, n2 - 1],
                _face(labels, inner, bound, periodic, 2, i, j, 0),
                _face(labels, inner, bound, periodic, 2, i, j, n2), s2, jump[2, 1], periodic[2],
                h[2],
            )  # fmt: skip
    out[0] = (h[0] * inner0 + ends[0]) / volume
    out[1] = (h[1] * inner1 + ends[1]) / volume
    out[2] = (h[2] * inner2 + ends[2]) / volume
