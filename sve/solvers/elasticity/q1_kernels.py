"""Numba kernels of the Q1 voxel elasticity cell problems (private).

Conventions (as in ``conductivity/q1_kernels.py``): element ``(i, j[, l])`` has its corners
at nodes ``i`` and ``i + 1`` per axis, indices wrapping modulo the node grid
shape (periodic grids have as many nodes as elements per axis, bounded grids
one more). Nodal displacements are arrays of shape ``node_shape + (d,)``;
element dofs are ordered node-major, ``a * d + c`` (``elasticity/q1.py``).
Materials are indexed per voxel (``material`` int32) into a stack of element
stiffnesses: no tensor is stored per voxel.

The element stiffness is applied in the Walsh-Hadamard basis of the corners,
per displacement component (``_hadamard``, unnormalised, ``H H = 2**d I``):
``Ke = T Khat T`` with ``T = H (x) I_d`` and ``Khat = T Ke T / 4**d``. There
``Khat`` is sparse (the mean mode carries no strain and the 1-D stiffness,
mass and first-moment matrices are diagonal or rank one in the Hadamard
basis): 171 of 576 entries in 3-D, 20 of 64 in 2-D. Its pattern (``rows``,
``cols``) is shared by all materials, the values ``vals`` (n, nnz) are per
material (see ``sparse_hadamard`` in ``elasticity/q1.py``).
"""

import numpy as np
from numba import njit, prange

from sve.solvers._core.threads import threaded

# The 3-D operator's products may be fused multiply-adds (LLVM's contraction, on CPUs
# that have them): the same bits on any number of threads (one compiled row function),
# not those of an unfused build. The isotropic element product took 0.8 times the time
# of the unfused one (docs/solver_notes.rst, "Elastic multigrid").
CONTRACT = {"contract"}


@njit(cache=True, nogil=True)
def mean_strain_stress_2d(u, material, stiffness, bbar, strain, stress):
    """Volume averages of the Mandel strain of ``u`` and of ``C`` times it.

    ``u`` (M0, M1, 2), ``material`` (N0, N1) int32, ``stiffness`` (n, 3, 3),
    ``bbar`` (3, 8); ``strain`` and ``stress`` (3,) overwritten.
    """
    n0, n1 = material.shape
    m0, m1 = u.shape[0], u.shape[1]
    v = np.empty(8)
    e = np.empty(3)
    strain[:] = 0.0
    stress[:] = 0.0
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            for c in range(2):
                v[c] = u[i, j, c]
                v[2 + c] = u[i, j1, c]
                v[4 + c] = u[i1, j, c]
                v[6 + c] = u[i1, j1, c]
            for r in range(3):
                s = 0.0
                for q in range(8):
                    s += bbar[r, q] * v[q]
                e[r] = s
                strain[r] += s
            c_e = stiffness[material[i, j]]
            for r in range(3):
                s = 0.0
                for q in range(3):
                    s += c_e[r, q] * e[q]
                stress[r] += s
    n = n0 * n1
    for r in range(3):
        strain[r] /= n
        stress[r] /= n


@njit(cache=True, nogil=True)
def mean_strain_stress_3d(u, material, stiffness, bbar, strain, stress):
    """Volume averages of the Mandel strain of ``u`` and of ``C`` times it.

    ``u`` (M0, M1, M2, 3), ``material`` (N0, N1, N2) int32, ``stiffness``
    (n, 6, 6), ``bbar`` (6, 24); ``strain`` and ``stress`` (6,) overwritten.
    """
    n0, n1, n2 = material.shape
    m0, m1, m2 = u.shape[0], u.shape[1], u.shape[2]
    v = np.empty(24)
    e = np.empty(6)
    strain[:] = 0.0
    stress[:] = 0.0
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            for l in range(n2):
                l1 = l + 1 if l + 1 < m2 else 0
                for c in range(3):
                    v[c] = u[i, j, l, c]
                    v[3 + c] = u[i, j, l1, c]
                    v[6 + c] = u[i, j1, l, c]
                    v[9 + c] = u[i, j1, l1, c]
                    v[12 + c] = u[i1, j, l, c]
                    v[15 + c] = u[i1, j, l1, c]
                    v[18 + c] = u[i1, j1, l, c]
                    v[21 + c] = u[i1, j1, l1, c]
                for r in range(6):
                    s = 0.0
                    for q in range(24):
                        s += bbar[r, q] * v[q]
                    e[r] = s
                    strain[r] += s
                c_e = stiffness[material[i, j, l]]
                for r in range(6):
                    s = 0.0
                    for q in range(6):
                        s += c_e[r, q] * e[q]
                    stress[r] += s
    n = n0 * n1 * n2
    for r in range(6):
        strain[r] /= n
        stress[r] /= n


@njit(cache=True, nogil=True)
def _hadamard(v, ndim):
    """Unnormalised Walsh-Hadamard transform over the corners, per component, in place."""
    corners = 1 << ndim
    stride = 1
    while stride < corners:
        for a in range(corners):
            if a & stride == 0:
                b = a + stride
                for c in range(ndim):
                    x = v[a * ndim + c]
                    y = v[b * ndim + c]
                    v[a * ndim + c] = x + y
                    v[b * ndim + c] = x - y
        stride *= 2


@njit(cache=True, nogil=True)
def sparse_force_2d(u, w, material, rows, cols, vals, out):
    """Write ``out = sum_e Ke[mat_e] (u_e + w)``: nodal forces of ``u + w``.

    ``u`` (M0, M1, 2), ``w`` (8,) element dofs added on every element,
    ``material`` (N0, N1) int32, ``rows``, ``cols`` (nnz,) and ``vals``
    (n, nnz): ``Khat`` per material; ``out`` like ``u``, overwritten.
    """
    n0, n1 = material.shape
    m0, m1 = u.shape[0], u.shape[1]
    v = np.empty(8)
    f = np.empty(8)
    nnz = rows.size
    out[...] = 0.0
    for i in range(n0):
        i1 = i + 1 if i + 1 < m0 else 0
        for j in range(n1):
            j1 = j + 1 if j + 1 < m1 else 0
            for c in range(2):
                v[c] = u[i, j, c] + w[c]
                v[2 + c] = u[i, j1, c] + w[2 + c]
                v[4 + c] = u[i1, j, c] + w[4 + c]
                v[6 + c] = u[i1, j1, c] + w[6 + c]
            _hadamard(v, 2)
            f[:] = 0.0
            values = vals[material[i, j]]
            for p in range(nnz):
                f[rows[p]] += values[p] * v[cols[p]]
            _hadamard(f, 2)
            for c in range(2):
                out[i, j, c] += f[c]
                out[i, j1, c] += f[2 + c]
                out[i1, j, c] += f[4 + c]
                out[i1, j1, c] += f[6 + c]


@njit(cache=True, nogil=True)
def _face_transform(u, i, i1, j, j1, l, face):
    """Hadamard transform over axes 0 and 1 of the 4 nodes ``(i|i1, j|j1, l)``.

    ``face[3 k + c]``, ``k = 2 k0 + k1``: the sum of ``u`` over the nodes with
    signs ``(-1)**(a0 k0 + a1 k1)``, per component ``c``.
    """
    for c in range(3):
        a = u[i, j, l, c]
        b = u[i, j1, l, c]
        p = u[i1, j, l, c]
        q = u[i1, j1, l, c]
        s0 = a + b
        d0 = a - b
        s1 = p + q
        d1 = p - q
        face[c] = s0 + s1
        face[3 + c] = d0 + d1
        face[6 + c] = s0 - s1
        face[9 + c] = d0 - d1


@njit(cache=True, nogil=True)
def _face_scatter(face, out, i, i1, j, j1, l):
    """Add the inverse (unnormalised, the same) face transform of ``face`` to ``out``."""
    for c in range(3):
        f0 = face[c]
        f1 = face[3 + c]
        f2 = face[6 + c]
        f3 = face[9 + c]
        s0 = f0 + f1
        d0 = f0 - f1
        s1 = f2 + f3
        d1 = f2 - f3
        out[i, j, l, c] += s0 + s1
        out[i, j1, l, c] += d0 + d1
        out[i1, j, l, c] += s0 - s1
        out[i1, j1, l, c] += d0 - d1


# The pattern of ``Khat`` of isotropic materials (any voxel edges, lambda != 0; 45 of 576
# entries): `_isotropic_khat` applies it with constant indices.
# fmt: off
ISOTROPIC_ROWS = np.repeat(
    np.arange(24), [0, 0, 0, 2, 2, 3, 2, 3, 2, 3, 2, 2, 3, 2, 2, 2, 3, 2, 2, 2, 3, 1, 1, 1]
)
ISOTROPIC_COLS = np.array([
    3, 14, 4, 8, 5, 7, 12, 6, 13, 5, 7, 12, 4, 8, 9, 16, 20, 10, 15, 11, 18, 5, 7, 12, 6,
    13, 3, 14, 10, 15, 9, 16, 20, 17, 19, 11, 18, 17, 19, 9, 16, 20, 21, 22, 23
])
# fmt: on


@njit(cache=True, nogil=True, inline="always", fastmath=CONTRACT)
def _isotropic_khat(values, v, f):
    """``f = Khat v`` on the pattern ``ISOTROPIC_ROWS``, ``ISOTROPIC_COLS``: each row summed
    in the order of the entries (the bits of the loop over them), with constant indices, so
    that the row sums stay in registers (the loop's read-modify-write of ``f[rows[p]]`` made
    the 3-D operator about 1.x times slower).
    """
    f[0] = 0.0
    f[1] = 0.0
    f[2] = 0.0
    f[3] = values[0] * v[3] + values[1] * v[14]
    f[4] = values[2] * v[4] + values[3] * v[8]
    f[5] = values[4] * v[5] + values[5] * v[7] + values[6] * v[12]
    f[6] = values[7] * v[6] + values[8] * v[13]
    f[7] = values[9] * v[5] + values[10] * v[7] + values[11] * v[12]
    f[8] = values[12] * v[4] + values[13] * v[8]
    f[9] = values[14] * v[9] + values[15] * v[16] + values[16] * v[20]
    f[10] = values[17] * v[10] + values[18] * v[15]
    f[11] = values[19] * v[11] + values[20] * v[18]
    f[12] = values[21] * v[5] + values[22] * v[7] + values[23] * v[12]
    f[13] = values[24] * v[6] + values[25] * v[13]
    f[14] = values[26] * v[3] + values[27] * v[14]
    f[15] = values[28] * v[10] + values[29] * v[15]
    f[16] = values[30] * v[9] + values[31] * v[16] + values[32] * v[20]
    f[17] = values[33] * v[17] + values[34] * v[19]
    f[18] = values[35] * v[11] + values[36] * v[18]
    f[19] = values[37] * v[17] + values[38] * v[19]
    f[20] = values[39] * v[9] + values[40] * v[16] + values[41] * v[20]
    f[21] = values[42] * v[21]
    f[22] = values[43] * v[22]
    f[23] = values[44] * v[23]


@njit(cache=True, nogil=True, fastmath=CONTRACT)
def _force_row_3d(u, w_hat, affine, material, rows, cols, vals, isotropic, out, i):
    """Add the nodal forces of the elements of row ``i`` (axis 0) to ``out`` (nodes of rows
    ``i`` and ``i + 1``); the arguments of `sparse_force_3d`, ``w_hat`` the Hadamard transform
    of ``w`` and ``affine`` whether it is non-zero.

    The Hadamard transform of an element factorises into the face transform
    over axes 0 and 1 at each of its two node columns along axis 2, then one
    butterfly between them; consecutive elements along axis 2 share a face,
    so each face is transformed (and its forces transformed back and added)
    once per row instead of twice. ``isotropic``: whether the pattern is that of
    `_isotropic_khat`.
    """
    n1, n2 = material.shape[1], material.shape[2]
    m0, m1, m2 = u.shape[0], u.shape[1], u.shape[2]
    nnz = rows.size
    i1 = i + 1 if i + 1 < m0 else 0
    lo = np.empty(12)
    hi = np.empty(12)
    v = np.empty(24)
    f = np.empty(24)
    pending = np.empty(12)
    for j in range(n1):
        j1 = j + 1 if j + 1 < m1 else 0
        _face_transform(u, i, i1, j, j1, 0, lo)
        pending[:] = 0.0
        l1 = 0
        for l in range(n2):
            l1 = l + 1 if l + 1 < m2 else 0
            _face_transform(u, i, i1, j, j1, l1, hi)
            for k in range(4):
                for c in range(3):
                    x = lo[3 * k + c]
                    y = hi[3 * k + c]
                    v[6 * k + c] = x + y
                    v[6 * k + 3 + c] = x - y
            if affine:
                for q in range(24):
                    v[q] += w_hat[q]
            values = vals[material[i, j, l]]
            if isotropic:
                _isotropic_khat(values, v, f)
            else:
                for r in range(24):
                    f[r] = 0.0
                for p in range(nnz):
                    f[rows[p]] += values[p] * v[cols[p]]
            for k in range(4):
                for c in range(3):
                    x = f[6 * k + c]
                    y = f[6 * k + 3 + c]
                    pending[3 * k + c] += x + y
                    f[6 * k + c] = x - y
            _face_scatter(pending, out, i, i1, j, j1, l)
            for k in range(4):
                for c in range(3):
                    pending[3 * k + c] = f[6 * k + c]
            lo, hi = hi, lo
        _face_scatter(pending, out, i, i1, j, j1, l1)


def _sparse_force_3d(u, w, material, rows, cols, vals, out):
    """`sparse_force_3d`, compiled serial and parallel (``prange`` over rows of elements)."""
    n0 = material.shape[0]
    isotropic = rows.size == ISOTROPIC_ROWS.size
    if isotropic:
        for p in range(rows.size):
            if rows[p] != ISOTROPIC_ROWS[p] or cols[p] != ISOTROPIC_COLS[p]:
                isotropic = False
    w_hat = w.copy()
    _hadamard(w_hat, 3)
    affine = False
    for q in range(24):
        if w[q] != 0.0:
            affine = True
    for i in prange(u.shape[0]):
        out[i] = 0.0
    # Rows of elements write the nodes of rows i and i + 1: the even rows, then the odd rows,
    # write disjoint nodes (the last row of an odd count, which wraps onto node row 0 of a
    # periodic grid, comes alone), and every node adds its two rows in this fixed order,
    # whatever the number of threads.
    half = n0 // 2
    for k in prange(half):
        _force_row_3d(u, w_hat, affine, material, rows, cols, vals, isotropic, out, 2 * k)
    for k in prange(half):
        _force_row_3d(u, w_hat, affine, material, rows, cols, vals, isotropic, out, 2 * k + 1)
    if n0 % 2 == 1:
        _force_row_3d(u, w_hat, affine, material, rows, cols, vals, isotropic, out, n0 - 1)


_FORCE_3D = (
    njit(cache=True, nogil=True, fastmath=CONTRACT)(_sparse_force_3d),
    njit(cache=True, nogil=True, parallel=True, fastmath=CONTRACT)(_sparse_force_3d),
)


def sparse_force_3d(u, w, material, rows, cols, vals, out):
    """Write ``out = sum_e Ke[mat_e] (u_e + w)``: nodal forces of ``u + w``.

    ``u`` (M0, M1, M2, 3), ``w`` (24,), ``material`` (N0, N1, N2) int32,
    ``rows``, ``cols`` (nnz,) and ``vals`` (n, nnz); ``out`` like ``u``.
    Rows of elements run on Numba's threads from ``threads.PARALLEL_SIZE`` entries on, in an
    order that makes the result the same bits on any number of threads.
    """
    _FORCE_3D[threaded(u.size)](u, w, material, rows, cols, vals, out)


def _multiply_blocks(spectrum, inverse):
    """In place ``spectrum[k] = inverse[k] @ spectrum[k]`` for every wave vector ``k``.

    ``spectrum`` (n, d) complex, ``inverse`` (n, d, d) real (float32 with complex64, or
    float64 with complex128); entries read one by one (no row views).
    """
    n, d = spectrum.shape
    for k in prange(n):
        if d == 3:
            v0, v1, v2 = spectrum[k, 0], spectrum[k, 1], spectrum[k, 2]
            for c in range(3):
                spectrum[k, c] = (
                    inverse[k, c, 0] * v0 + inverse[k, c, 1] * v1 + inverse[k, c, 2] * v2
                )
        else:
            v0, v1 = spectrum[k, 0], spectrum[k, 1]
            for c in range(2):
                spectrum[k, c] = inverse[k, c, 0] * v0 + inverse[k, c, 1] * v1


multiply_blocks = (
    njit(cache=True, nogil=True)(_multiply_blocks),
    njit(cache=True, nogil=True, parallel=True)(_multiply_blocks),
)


@njit(cache=True, nogil=True)
def unwrapped_positions(labels, periodic):
    """Unwrapped lattice position of every labelled voxel within its part.

    ``labels`` (N0, N1, N2) int64 part of every voxel (-1: void), parts
    connected through faces; ``periodic`` (3,) bool, whether each axis wraps.
    Returns ``positions`` (N0, N1, N2, 3) int64: a breadth-first walk from the
    first voxel of every part adds the steps it takes, so crossing a periodic
    face adds +-N. Voids keep their own index.
    """
    n0, n1, n2 = labels.shape
    shape = np.array([n0, n1, n2])
    size = n0 * n1 * n2
    flat = labels.ravel()
    positions = np.empty((n0, n1, n2, 3), np.int64)
    seen = np.zeros(size, np.bool_)
    queue = np.empty(size, np.int64)
    here = np.empty(3, np.int64)
    there = np.empty(3, np.int64)
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                positions[i, j, l, 0] = i
                positions[i, j, l, 1] = j
                positions[i, j, l, 2] = l
    for start in range(size):
        if seen[start] or flat[start] < 0:
            continue
        seen[start] = True
        queue[0] = start
        head, tail = 0, 1
        while head < tail:
            v = queue[head]
            head += 1
            here[0] = v // (n1 * n2)
            here[1] = (v // n2) % n1
            here[2] = v % n2
            part = labels[here[0], here[1], here[2]]
            for axis in range(3):
                for step in (-1, 1):
                    there[:] = here
                    there[axis] += step
                    if there[axis] < 0 or there[axis] >= shape[axis]:
                        if not periodic[axis]:
                            continue
                        there[axis] %= shape[axis]
                    w = (there[0] * n1 + there[1]) * n2 + there[2]
                    if seen[w] or labels[there[0], there[1], there[2]] != part:
                        continue
                    seen[w] = True
                    for ax in range(3):
                        positions[there[0], there[1], there[2], ax] = positions[
                            here[0], here[1], here[2], ax
                        ]
                    positions[there[0], there[1], there[2], axis] += step
                    queue[tail] = w
                    tail += 1
    return positions
