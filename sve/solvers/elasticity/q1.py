"""Q1 voxel elements for linear elasticity: Mandel notation and element matrices (private).

Mandel notation (orthonormal basis of symmetric tensors): in 3-D the strain
vector is ``(e11, e22, e33, sqrt2 e23, sqrt2 e13, sqrt2 e12)``, in 2-D
``(e11, e22, sqrt2 e12)``; a stiffness is the 6x6 (3x3) matrix mapping the
Mandel strain to the Mandel stress (the convention of
``generators.rotate_tensor``). ``E : C : E`` is then ``e . C e`` with no
factor 2 on the shear terms.

Element degrees of freedom are ordered node-major: ``dof = a * d + c`` with
``a`` the corner (binary digits, axis 0 most significant, as in ``conductivity/q1.py``)
and ``c`` the displacement component.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from sve.solvers._core.q1_geometry import corner_hadamard, corner_offsets
from sve.solvers._core.spacing import per_axis

MANDEL_PAIRS = {2: ((0, 0), (1, 1), (0, 1)), 3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))}
SQRT2 = math.sqrt(2.0)


def mandel_size(ndim: int) -> int:
    """Length of a Mandel vector in `ndim` dimensions (3 or 6)."""
    return 3 * (ndim - 1)


def mandel_to_matrix(vector: np.ndarray) -> np.ndarray:
    """Symmetric d x d tensor of a Mandel vector (3,) or (6,)."""
    ndim = 2 if len(vector) == 3 else 3
    out = np.zeros((ndim, ndim))
    for k, (i, j) in enumerate(MANDEL_PAIRS[ndim]):
        value = vector[k] if i == j else vector[k] / SQRT2
        out[i, j] = out[j, i] = value
    return out


def mandel_basis(ndim: int) -> np.ndarray:
    """Tensors of the Mandel basis, shape (m, d, d): ``eps = sum_k v_k basis[k]``."""
    return np.array([mandel_to_matrix(row) for row in np.eye(mandel_size(ndim))])


def gauss_gradients(
    ndim: int, spacing: float | tuple[float, ...] | np.ndarray
) -> tuple[np.ndarray, float]:
    """Shape-function gradients at the 2**d Gauss points and the quadrature weight.

    `spacing` holds the voxel edges ``h_i`` per axis (one number: cubic voxels).

    Returns
    -------
    gradients : ndarray of shape (2**d, 2**d, d)
        ``gradients[g, a, i]``: derivative along axis ``i`` of the shape
        function of corner ``a`` at Gauss point ``g``.
    weight : float
        Quadrature weight of every point, ``prod_i h_i / 2**d``.
    """
    h = per_axis(spacing, ndim)
    corners = corner_offsets(ndim)
    points = (0.5 - 0.5 / math.sqrt(3.0), 0.5 + 0.5 / math.sqrt(3.0))
    gradients = np.empty((2**ndim, 2**ndim, ndim))
    for g, point in enumerate(itertools.product(points, repeat=ndim)):
        x = np.array(point)
        value = np.where(corners == 1, x, 1.0 - x)
        slope = np.where(corners == 1, 1.0, -1.0) / h  # d/dx_i divides by h_i
        for i in range(ndim):
            others = [j for j in range(ndim) if j != i]
            gradients[g, :, i] = slope[:, i] * np.prod(value[:, others], axis=1)
    return gradients, float(np.prod(h / 2.0))


def strain_matrices(
    ndim: int, spacing: float | tuple[float, ...] | np.ndarray
) -> tuple[np.ndarray, float]:
    """Mandel strain-displacement matrices ``B`` at the Gauss points.

    Returns
    -------
    b : ndarray of shape (2**d, m, d 2**d)
        ``strain(g) = b[g] @ u_e`` (Mandel) for element dofs ``u_e``.
    weight : float
        Quadrature weight of every point.
    """
    gradients, weight = gauss_gradients(ndim, spacing)
    m = mandel_size(ndim)
    b = np.zeros((2**ndim, m, ndim * 2**ndim))
    for k, (i, j) in enumerate(MANDEL_PAIRS[ndim]):
        for a in range(2**ndim):
            if i == j:
                b[:, k, a * ndim + i] = gradients[:, a, i]
            else:
                b[:, k, a * ndim + i] = gradients[:, a, j] / SQRT2
                b[:, k, a * ndim + j] = gradients[:, a, i] / SQRT2
    return b, weight


def element_stiffness(
    stiffness: np.ndarray, spacing: float | tuple[float, ...] | np.ndarray
) -> np.ndarray:
    """Element stiffness ``sum_g w B_g^T C B_g`` of each material.

    Parameters
    ----------
    stiffness : ndarray of shape (n, m, m)
        Mandel stiffness of each material.
    spacing : float or sequence of float
        Voxel edges ``h_i`` per axis (one number: cubic voxels).

    Returns
    -------
    ndarray of shape (n, d 2**d, d 2**d), float64, C-contiguous
        Exact for Q1 (the integrand is a polynomial of degree <= 2 per axis).
    """
    ndim = 2 if stiffness.shape[-1] == 3 else 3
    b, weight = strain_matrices(ndim, spacing)
    ke = weight * np.einsum("gki,nkl,glj->nij", b, stiffness, b)
    return np.ascontiguousarray(0.5 * (ke + ke.transpose(0, 2, 1)))


def mean_strain_matrix(ndim: int, spacing: float | tuple[float, ...] | np.ndarray) -> np.ndarray:
    """``Bbar`` (m, d 2**d): the element average of the Mandel strain is ``Bbar @ u_e``."""
    b, _ = strain_matrices(ndim, spacing)
    return np.ascontiguousarray(b.mean(axis=0))


def affine_nodal(
    strain: np.ndarray, spacing: float | tuple[float, ...] | np.ndarray
) -> np.ndarray:
    """Element dofs of the displacement ``E . x`` (E from a Mandel vector), shape (d 2**d,);
    the corners sit at ``h_i`` times their binary digits.
    """
    tensor = mandel_to_matrix(strain)
    ndim = tensor.shape[0]
    corners = per_axis(spacing, ndim) * corner_offsets(ndim).astype(np.float64)
    return np.ascontiguousarray((corners @ tensor.T).reshape(-1))


def sparse_hadamard(ke: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse form of element stiffnesses in the corner Hadamard basis.

    Parameters
    ----------
    ke : ndarray of shape (n, d 2**d, d 2**d)
        Element stiffnesses (`element_stiffness`).

    Returns
    -------
    rows, cols : ndarray of shape (nnz,), int64
        Shared pattern of ``Khat = T Ke T / 4**d``, ``T = H (x) I_d`` (``H``
        the unnormalised Hadamard matrix of the corners): the union over the
        materials of the entries above ``1e-13`` of each one's largest, so
        only round-off is dropped; symmetric.
    vals : ndarray of shape (n, nnz), float64
        The entries per material: ``Ke v = T (Khat (T v))``.
    """
    size = ke.shape[-1]
    ndim = 2 if size == 8 else 3
    t = np.kron(corner_hadamard(ndim), np.eye(ndim))
    khat = np.einsum("ij,njk,kl->nil", t, ke, t) / 4.0**ndim
    khat = 0.5 * (khat + khat.transpose(0, 2, 1))
    scale = np.abs(khat).max(axis=(1, 2), keepdims=True)
    pattern = np.any(np.abs(khat) > 1e-13 * scale, axis=0)
    rows, cols = np.nonzero(pattern)
    return rows.astype(np.int64), cols.astype(np.int64), np.ascontiguousarray(khat[:, rows, cols])
