"""Numba kernels of the Q1 voxel conductivity cell problems with conductivity tensors (private).

Conventions as in ``conductivity/q1_kernels.py`` (element ``(i, j[, l])`` has its corners at
nodes ``i`` and ``i + 1`` per axis, wrapping modulo the node grid shape;
corner ``a`` numbered by its binary digits, axis 0 most significant).
Every voxel has a material index (``material``, int32) into a stack of
conductivity tensors: no tensor is stored per voxel.

The element stiffness ``Ke = int grad N . K grad N`` of a material is applied
in the Walsh-Hadamard basis of the corners, ``Ke = H Khat H`` with ``H`` the
unnormalised Hadamard matrix and ``Khat = H Ke H / 4**d``. For an isotropic
tensor ``Khat`` is diagonal (``k modes``, see ``conductivity/q1.py``); an off-diagonal
entry ``K_ij`` only adds the two Hadamard entries per mode of the other
axes that pair the difference mode along ``i`` with the one along ``j``:
19 non-zero entries of 64 in 3-D, 5 of 16 in 2-D (the mean mode carries no
gradient), 13 distinct values per material in 3-D and 4 in 2-D
(``hadamard_coefficients`` in ``conductivity/q1.py``).
"""

import numpy as np
from numba import njit

from sve.solvers.conductivity.q1_kernels import element_gradient_2d, element_gradient_3d


@njit(cache=True, nogil=True)
def tensor_flux_2d(u, w, material, coef, out):
    """Write ``out = sum_e Ke[mat_e] (u_e + w)``, the nodal fluxes of ``u + w``.

    ``u`` (M0, M1) nodal field, ``w`` (4,) added on every element,
    ``material`` (N0, N1) int32, ``coef`` (n, 4): the non-zero entries of
    ``Khat`` per material, ``(Khat[1, 1], Khat[2, 2], Khat[3, 3], Khat[2, 1])``;
    ``out`` like ``u``, overwritten.
    """
    n0, n1 = material.shape
    m0, m1 = u.shape
    w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
    out[...] = 0.0
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            a0 = u[i, j] + w0
            a1 = u[i, j1] + w1
            a2 = u[i1, j] + w2
            a3 = u[i1, j1] + w3
            b0, b1, b2, b3 = a0 + a1, a0 - a1, a2 + a3, a2 - a3
            h2, h1, h3 = b0 - b2, b1 + b3, b1 - b3
            c = coef[material[i, j]]
            f1 = c[0] * h1 + c[3] * h2
            f2 = c[1] * h2 + c[3] * h1
            f3 = c[2] * h3
            g1, g3 = f1 + f3, f1 - f3
            out[i, j] += f2 + g1
            out[i, j1] += f2 - g1
            out[i1, j] += g3 - f2
            out[i1, j1] -= f2 + g3


@njit(cache=True, nogil=True)
def tensor_flux_3d(u, w, material, coef, out):
    """Write ``out = sum_e Ke[mat_e] (u_e + w)``, the nodal fluxes of ``u + w``.

    ``u`` (M0, M1, M2) nodal field, ``w`` (8,), ``material`` (N0, N1, N2)
    int32, ``coef`` (n, 13): the non-zero entries of ``Khat`` per material,
    the diagonal ``Khat[m, m]`` for ``m = 1..7`` then ``Khat[4, 2]``,
    ``Khat[5, 3]``, ``Khat[4, 1]``, ``Khat[6, 3]``, ``Khat[2, 1]``,
    ``Khat[6, 5]`` (``K_01``, ``K_02`` and ``K_12`` pair two modes each);
    ``out`` like ``u``, overwritten.

    As in ``nodal_flux_3d``: butterflies on scalars, and along a row of
    elements the face shared by two neighbours is loaded once and its flux
    carried in registers.
    """
    n0, n1, n2 = material.shape
    m0, m1, m2 = u.shape
    out[...] = 0.0
    w0, w1, w2, w3, w4, w5, w6, w7 = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
    last = n2 if n2 < m2 else 0  # the node after the last element of a row
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            u00, u01, u10, u11 = u[i, j], u[i, j1], u[i1, j], u[i1, j1]
            o00, o01, o10, o11 = out[i, j], out[i, j1], out[i1, j], out[i1, j1]
            mr = material[i, j]
            p0, p2, p4, p6 = u00[0], u01[0], u10[0], u11[0]  # the left face of the element
            r0 = r2 = r4 = r6 = 0.0  # flux of the previous element on its right face
            for l in range(n2):
                l1 = l + 1 if l + 1 < m2 else 0
                q1, q3, q5, q7 = u00[l1], u01[l1], u10[l1], u11[l1]
                a0, a1, a2, a3 = p0 + w0, q1 + w1, p2 + w2, q3 + w3
                a4, a5, a6, a7 = p4 + w4, q5 + w5, p6 + w6, q7 + w7
                p0, p2, p4, p6 = q1, q3, q5, q7
                # Hadamard transform of the corner values (mode 0 carries no gradient).
                b0, b1, b2, b3 = a0 + a1, a0 - a1, a2 + a3, a2 - a3
                b4, b5, b6, b7 = a4 + a5, a4 - a5, a6 + a7, a6 - a7
                c0, c2, c1, c3 = b0 + b2, b0 - b2, b1 + b3, b1 - b3
                c4, c6, c5, c7 = b4 + b6, b4 - b6, b5 + b7, b5 - b7
                h4, h1, h5 = c0 - c4, c1 + c5, c1 - c5
                h2, h6, h3, h7 = c2 + c6, c2 - c6, c3 + c7, c3 - c7
                k = coef[mr[l]]
                f1 = k[0] * h1 + k[9] * h4 + k[11] * h2
                f2 = k[1] * h2 + k[7] * h4 + k[11] * h1
                f3 = k[2] * h3 + k[8] * h5 + k[10] * h6
                f4 = k[3] * h4 + k[7] * h2 + k[9] * h1
                f5 = k[4] * h5 + k[8] * h3 + k[12] * h6
                f6 = k[5] * h6 + k[10] * h3 + k[12] * h5
                f7 = k[6] * h7
                # Inverse transform (the same butterflies), f0 = 0.
                g1, g5, g2, g6 = f1 + f5, f1 - f5, f2 + f6, f2 - f6
                g3, g7 = f3 + f7, f3 - f7
                e0, e2, e1, e3 = f4 + g2, f4 - g2, g1 + g3, g1 - g3
                e4, e6, e5, e7 = g6 - f4, -f4 - g6, g5 + g7, g5 - g7
                o00[l] += r0 + e0 + e1
                o01[l] += r2 + e2 + e3
                o10[l] += r4 + e4 + e5
                o11[l] += r6 + e6 + e7
                r0, r2, r4, r6 = e0 - e1, e2 - e3, e4 - e5, e6 - e7
            o00[last] += r0
            o01[last] += r2
            o10[last] += r4
            o11[last] += r6


@njit(cache=True, nogil=True)
def tensor_mean_flux_2d(u, material, tensors, e, h, out):
    """Write the volume average of ``K (e + grad u)`` into ``out`` (2,).

    ``material`` (N0, N1) int32, ``tensors`` (n, 2, 2), ``h`` (2,) the voxel edges per
    axis. The element averages
    of ``e + grad u`` are summed per material first, then multiplied by the
    tensors.
    """
    n0, n1 = material.shape
    m0, m1 = u.shape
    sums = np.zeros((tensors.shape[0], 2))
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            g0, g1 = element_gradient_2d(u, i, i1, j, j1, h)
            m = material[i, j]
            sums[m, 0] += e[0] + g0
            sums[m, 1] += e[1] + g1
    for a in range(2):
        s = 0.0
        for m in range(tensors.shape[0]):
            s += tensors[m, a, 0] * sums[m, 0] + tensors[m, a, 1] * sums[m, 1]
        out[a] = s / (n0 * n1)


@njit(cache=True, nogil=True)
def tensor_mean_flux_3d(u, material, tensors, e, h, out):
    """Write the volume average of ``K (e + grad u)`` into ``out`` (3,).

    ``material`` (N0, N1, N2) int32, ``tensors`` (n, 3, 3), ``h`` (3,) the voxel edges
    per axis.
    """
    n0, n1, n2 = material.shape
    m0, m1, m2 = u.shape
    sums = np.zeros((tensors.shape[0], 3))
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            for l in range(n2):
                l1 = l + 1 if l + 1 < m2 else 0
                g0, g1, g2 = element_gradient_3d(u, i, i1, j, j1, l, l1, h)
                m = material[i, j, l]
                sums[m, 0] += e[0] + g0
                sums[m, 1] += e[1] + g1
                sums[m, 2] += e[2] + g2
    n = n0 * n1 * n2
    for a in range(3):
        s = 0.0
        for m in range(tensors.shape[0]):
            s += (
                tensors[m, a, 0] * sums[m, 0]
                + tensors[m, a, 1] * sums[m, 1]
                + tensors[m, a, 2] * sums[m, 2]
            )
        out[a] = s / n
