"""Slow, simple reference implementations that the fast solvers are tested against.

Nothing here is clever: matrices are assembled element by element in Python
loops, integrals use Gauss quadrature, linear systems are solved directly.
Use small images only.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse
import scipy.sparse.linalg


def q1_element_integrals(ndim: int, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Integrals of the Q1 shape functions over one voxel, by Gauss quadrature.

    Returns
    -------
    stiffness : ndarray of shape (2**ndim, 2**ndim)
        ``int grad N_a . grad N_b dV`` (unit conductivity).
    gradient : ndarray of shape (2**ndim, ndim)
        ``int grad N_a dV``.

    Notes
    -----
    Local node ``a`` sits at the corner ``spacing * corners[a]``, with
    ``corners`` the binary digits of ``a`` (axis 0 most significant). The
    integrands are polynomials of degree <= 2 in every coordinate, so the
    2-point Gauss rule per axis is exact.
    """
    corners = np.array(list(itertools.product((0, 1), repeat=ndim)))
    points_1d = (0.5 - 0.5 / np.sqrt(3.0), 0.5 + 0.5 / np.sqrt(3.0))  # on [0, 1]
    weight = (spacing / 2.0) ** ndim
    stiffness = np.zeros((2**ndim, 2**ndim))
    gradient = np.zeros((2**ndim, ndim))
    for point in itertools.product(points_1d, repeat=ndim):
        x = np.array(point)
        # 1-D factors at this point: value and derivative of the hat function
        # of each corner along each axis.
        value = np.where(corners == 1, x, 1.0 - x)
        slope = np.where(corners == 1, 1.0, -1.0) / spacing
        grad = np.empty((2**ndim, ndim))
        for i in range(ndim):
            others = [j for j in range(ndim) if j != i]
            grad[:, i] = slope[:, i] * np.prod(value[:, others], axis=1)
        stiffness += weight * grad @ grad.T
        gradient += weight * grad
    return stiffness, gradient


def periodic_conductivity_q1(conductivity: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Apparent conductivity under periodic conditions, by a direct sparse solve.

    Parameters
    ----------
    conductivity : ndarray of shape (N0, N1) or (N0, N1, N2), float
        Conductivity of every voxel (> 0).
    spacing : float
        Voxel edge.

    Returns
    -------
    ndarray of shape (d, d)
        Column ``j``: volume average of ``k (e_j + grad u_j)`` with ``u_j``
        the periodic Q1 fluctuation solving the cell problem.

    Notes
    -----
    The global stiffness is assembled element by element on the periodic
    node grid (node indices modulo the shape). Its null space (constants) is
    removed by fixing the fluctuation at node 0 to zero, which does not
    change any gradient.
    """
    k = np.asarray(conductivity, dtype=float)
    shape = k.shape
    ndim = k.ndim
    n_nodes = k.size
    stiffness, gradient = q1_element_integrals(ndim, spacing)
    corners = list(itertools.product((0, 1), repeat=ndim))

    rows, cols, vals = [], [], []
    element_nodes = []
    rhs = np.zeros((n_nodes, ndim))
    for element in np.ndindex(shape):
        nodes = [
            np.ravel_multi_index(tuple((element[i] + c[i]) % shape[i] for i in range(ndim)), shape)
            for c in corners
        ]
        element_nodes.append((element, nodes))
        for a, node_a in enumerate(nodes):
            rhs[node_a] -= k[element] * gradient[a]
            for b, node_b in enumerate(nodes):
                rows.append(node_a)
                cols.append(node_b)
                vals.append(k[element] * stiffness[a, b])
    matrix = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(n_nodes, n_nodes)).tocsc()

    reduced = matrix[1:, 1:]
    fluctuation = np.zeros((n_nodes, ndim))
    for j in range(ndim):
        fluctuation[1:, j] = scipy.sparse.linalg.spsolve(reduced, rhs[1:, j])

    cell_volume = spacing**ndim
    total_flux = np.zeros((ndim, ndim))
    for element, nodes in element_nodes:
        for j in range(ndim):
            mean_gradient = np.eye(ndim)[j] + gradient.T @ fluctuation[nodes, j] / cell_volume
            total_flux[:, j] += k[element] * mean_gradient
    return total_flux / k.size
