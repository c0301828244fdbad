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
from numba import njit


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


@njit(cache=True, nogil=True)
def fv_apply(u, g0, g1, g2, out):
    """Write ``out = A u`` on a grid without periodic axes (``fv_flux`` with ``E = 0``).

    Gathered line by line along the last axis, the diagonal summed from the six faces:
    loops without a carried dependency or a branch per cell, which the compiler
    vectorizes (at 128^3, 4.0 ms against 5.1 ms for ``fv_flux`` in isolation, measured
    here; 7 ms against 9-10 ms profiled inside the conjugate gradients, see ``FVGrid.flux``).
    """
    n0, n1, n2 = u.shape
    for i in range(n0):
        for j in range(n1):
            line = u[i, j]
            result = out[i, j]
            g = g2[i, j]
            a0, b0 = g0[i, j], g0[i + 1, j]
            a1, b1 = g1[i, j], g1[i, j + 1]
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
