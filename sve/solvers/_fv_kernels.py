"""Numba kernels of the cell-centred finite volumes (private).

Conventions: cell fields are 3-D, a 2-D image passed as ``(N0, N1, 1)``.
Face ``f`` normal to axis ``a`` lies between cells ``f - 1`` and ``f``
along ``a``; the conductance array ``g_a`` has ``N_a + 1`` faces along
``a``. On a periodic axis face 0 joins cell ``N_a - 1`` to cell 0 and face
``N_a`` is not used. On a bounded axis faces 0 and ``N_a`` join the end cells
to the boundary, where the fluctuation vanishes (Dirichlet) or the
conductance is zero (no flux). ``jump[a, 0]`` and ``jump[a, 1]`` are the
increments of the affine field ``E . x`` across an inner face (``E_a h``)
and across a boundary half-cell (``E_a h / 2``).
"""

from numba import njit


@njit(cache=True, nogil=True)
def _face(u, g, jump, periodic, n, f, i, j, l, axis):
    """Flux through face `f` along `axis` at the transverse position of (i, j, l),
    and the left and right cell indices along `axis` (-1 outside)."""
    left = f - 1
    right = f
    step = jump[axis, 0]
    if f == 0:
        if periodic[axis]:
            left = n - 1
        else:
            step = jump[axis, 1]
    if f == n:
        right = -1
        step = jump[axis, 1]
    difference = step
    if axis == 0:
        if left >= 0:
            difference -= u[left, j, l]
        if right >= 0:
            difference += u[right, j, l]
    elif axis == 1:
        if left >= 0:
            difference -= u[i, left, l]
        if right >= 0:
            difference += u[i, right, l]
    else:
        if left >= 0:
            difference -= u[i, j, left]
        if right >= 0:
            difference += u[i, j, right]
    return g * difference, left, right


@njit(cache=True, nogil=True)
def fv_flux(u, g0, g1, g2, jump, periodic, out):
    """Write ``out = A (u + w)``: minus the net outflow of every cell.

    ``u`` (N0, N1, N2) fluctuation, ``g0``, ``g1``, ``g2`` face conductances
    (N0 + 1, N1, N2), (N0, N1 + 1, N2), (N0, N1, N2 + 1), ``jump`` (3, 2),
    ``periodic`` (3,) bool, ``out`` (N0, N1, N2) overwritten.
    """
    n0, n1, n2 = u.shape
    out[...] = 0.0
    for f in range(n0 + 1):
        if f == n0 and periodic[0]:
            continue
        for j in range(n1):
            for l in range(n2):
                if g0[f, j, l] != 0.0:
                    flux, left, right = _face(u, g0[f, j, l], jump, periodic, n0, f, 0, j, l, 0)
                    if left >= 0:
                        out[left, j, l] -= flux
                    if right >= 0:
                        out[right, j, l] += flux
    for i in range(n0):
        for f in range(n1 + 1):
            if f == n1 and periodic[1]:
                continue
            for l in range(n2):
                if g1[i, f, l] != 0.0:
                    flux, left, right = _face(u, g1[i, f, l], jump, periodic, n1, f, i, 0, l, 1)
                    if left >= 0:
                        out[i, left, l] -= flux
                    if right >= 0:
                        out[i, right, l] += flux
    for i in range(n0):
        for j in range(n1):
            for f in range(n2 + 1):
                if f == n2 and periodic[2]:
                    continue
                if g2[i, j, f] != 0.0:
                    flux, left, right = _face(u, g2[i, j, f], jump, periodic, n2, f, i, j, 0, 2)
                    if left >= 0:
                        out[i, j, left] -= flux
                    if right >= 0:
                        out[i, j, right] += flux


@njit(cache=True, nogil=True)
def fv_mean_flux(u, g0, g1, g2, jump, periodic, h, volume, out):
    """Write the volume average of the flux of ``u + w`` into ``out`` (3,).

    A face normal to ``a`` stands for a slab of thickness ``h`` (``h / 2`` at
    a boundary), so ``V <q_a> = sum_f flux_f * thickness_f``; ``volume`` is ``V``.
    """
    n0, n1, n2 = u.shape
    out[:] = 0.0
    gs = (g0, g1, g2)
    for axis in range(3):
        g = gs[axis]
        m0, m1, m2 = g.shape
        n = (n0, n1, n2)[axis]
        total = 0.0
        for a in range(m0):
            for b in range(m1):
                for c in range(m2):
                    f = (a, b, c)[axis]
                    if (f == n and periodic[axis]) or g[a, b, c] == 0.0:
                        continue
                    flux, left, right = _face(u, g[a, b, c], jump, periodic, n, f, a, b, c, axis)
                    thickness = h if (left >= 0 and right >= 0) else 0.5 * h
                    total += flux * thickness
        out[axis] = total / volume
