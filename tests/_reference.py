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


def q1_gradient_products(ndim: int, spacing: float) -> np.ndarray:
    """``P[i, j, a, b] = int d_i N_a d_j N_b dV`` over one voxel, by Gauss quadrature.

    The element stiffness of a conductivity tensor ``K`` is
    ``sum_ij K_ij P[i, j]``; for ``K = k I`` it is ``k`` times the
    `q1_element_integrals` stiffness. Exact (2-point rule per axis).
    """
    corners = np.array(list(itertools.product((0, 1), repeat=ndim)))
    points_1d = (0.5 - 0.5 / np.sqrt(3.0), 0.5 + 0.5 / np.sqrt(3.0))
    weight = (spacing / 2.0) ** ndim
    products = np.zeros((ndim, ndim, 2**ndim, 2**ndim))
    for point in itertools.product(points_1d, repeat=ndim):
        x = np.array(point)
        value = np.where(corners == 1, x, 1.0 - x)
        slope = np.where(corners == 1, 1.0, -1.0) / spacing
        grad = np.empty((2**ndim, ndim))
        for i in range(ndim):
            others = [j for j in range(ndim) if j != i]
            grad[:, i] = slope[:, i] * np.prod(value[:, others], axis=1)
        products += weight * np.einsum("ai,bj->ijab", grad, grad)
    return products


def _image(conductivity) -> tuple[np.ndarray, tuple[int, ...], int]:
    """The conductivity as floats, the image shape and d: a scalar field (N0, N1[, N2])
    or a tensor field (N0, N1, 2, 2) / (N0, N1, N2, 3, 3)."""
    k = np.asarray(conductivity, dtype=float)
    ndim = {2: 2, 3: 3, 4: 2, 5: 3}[k.ndim]
    return k, k.shape[:ndim], ndim


def _element_stiffness(k_e, ndim: int, spacing: float) -> np.ndarray:
    """``int grad N . k_e grad N`` of one voxel, `k_e` a scalar or a d x d tensor."""
    if np.ndim(k_e) == 0:
        stiffness, _ = q1_element_integrals(ndim, spacing)
        return k_e * stiffness
    return np.einsum("ij,ijab->ab", k_e, q1_gradient_products(ndim, spacing))


def periodic_conductivity_q1(conductivity: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Apparent conductivity under periodic conditions, by a direct sparse solve.

    Parameters
    ----------
    conductivity : ndarray of shape (N0, N1) or (N0, N1, N2), float
        Conductivity of every voxel (> 0), or a tensor field of shape
        (N0, N1, 2, 2) / (N0, N1, N2, 3, 3) (symmetric positive definite).
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
    k, shape, ndim = _image(conductivity)
    n_nodes = int(np.prod(shape))
    _, gradient = q1_element_integrals(ndim, spacing)
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
        element_stiffness = _element_stiffness(k[element], ndim, spacing)
        for a, node_a in enumerate(nodes):
            rhs[node_a] -= np.dot(k[element], gradient[a])
            for b, node_b in enumerate(nodes):
                rows.append(node_a)
                cols.append(node_b)
                vals.append(element_stiffness[a, b])
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
            total_flux[:, j] += np.dot(k[element], mean_gradient)
    return total_flux / n_nodes


def _q1_assembly(k: np.ndarray, spacing: float, periodic: bool):
    """Assembled Q1 stiffness on the node grid, with each element's node list."""
    k, shape, ndim = _image(k)
    node_shape = shape if periodic else tuple(n + 1 for n in shape)
    corners = list(itertools.product((0, 1), repeat=ndim))
    rows, cols, vals, element_nodes = [], [], [], []
    for element in np.ndindex(shape):
        index = [tuple((element[i] + c[i]) % node_shape[i] for i in range(ndim)) for c in corners]
        nodes = [np.ravel_multi_index(n, node_shape) for n in index]
        element_nodes.append((element, nodes))
        stiffness = _element_stiffness(k[element], ndim, spacing)
        for a, node_a in enumerate(nodes):
            for b, node_b in enumerate(nodes):
                rows.append(node_a)
                cols.append(node_b)
                vals.append(stiffness[a, b])
    n_nodes = int(np.prod(node_shape))
    matrix = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(n_nodes, n_nodes)).tocsr()
    return matrix, element_nodes, node_shape


def _q1_mean_gradient(temperature, element_nodes, ndim, spacing, weights):
    """Volume average of ``weights * grad T`` from the element gradient integrals
    (`weights` per element: scalars, or d x d tensors)."""
    _, gradient = q1_element_integrals(ndim, spacing)
    total = np.zeros(ndim)
    for element, nodes in element_nodes:
        total += np.dot(weights[element], gradient.T @ temperature[nodes])
    return total / (len(element_nodes) * spacing**ndim)


def _solve_with_fixed(matrix, rhs, fixed, values):
    """Solve ``matrix T = rhs`` with ``T[fixed] = values`` imposed."""
    free = np.setdiff1d(np.arange(matrix.shape[0]), fixed)
    temperature = np.zeros(matrix.shape[0])
    temperature[fixed] = values
    reduced_rhs = rhs[free] - matrix[free][:, fixed] @ values
    temperature[free] = scipy.sparse.linalg.spsolve(matrix[free][:, free].tocsc(), reduced_rhs)
    return temperature


def bounded_conductivity_q1(conductivity: np.ndarray, bc: str, spacing: float = 1.0):
    """Apparent conductivity of Q1 voxel elements on the (N+1)**d node grid, directly.

    Parameters
    ----------
    conductivity : ndarray of shape (N0, N1) or (N0, N1, N2), float, > 0
        Or a tensor field (N0, N1, 2, 2) / (N0, N1, N2, 3, 3), symmetric
        positive definite.
    bc : {"kinematic", "static", "mixed"}
        ``kinematic``: ``T = e_j . x`` on every boundary node, column ``j``
        the average flux. ``static``: nodal loads ``int (Q . n) N_a dS``
        from face quadrature, one temperature pinned, resistivity columns the
        average gradients, the tensor its inverse. ``mixed``: ``T = x_i`` on
        the faces normal to ``i`` and nothing on the others; the diagonal
        entry ``i`` is the average flux along ``i``, the rest NaN.
    spacing : float
    """
    k, shape, ndim = _image(conductivity)
    matrix, element_nodes, node_shape = _q1_assembly(k, spacing, periodic=False)
    coordinates = spacing * np.indices(node_shape).reshape(ndim, -1)
    node_index = np.indices(node_shape).reshape(ndim, -1)
    on_face = [(node_index[i] == 0) | (node_index[i] == node_shape[i] - 1) for i in range(ndim)]
    tensor = np.full((ndim, ndim), np.nan)
    if bc == "kinematic":
        fixed = np.flatnonzero(np.any(on_face, axis=0))
        for j in range(ndim):
            temperature = _solve_with_fixed(
                matrix, np.zeros(matrix.shape[0]), fixed, coordinates[j][fixed]
            )
            tensor[:, j] = _q1_mean_gradient(temperature, element_nodes, ndim, spacing, k)
    elif bc == "mixed":
        for i in range(ndim):
            fixed = np.flatnonzero(on_face[i])
            temperature = _solve_with_fixed(
                matrix, np.zeros(matrix.shape[0]), fixed, coordinates[i][fixed]
            )
            tensor[i, i] = _q1_mean_gradient(temperature, element_nodes, ndim, spacing, k)[i]
    elif bc == "static":
        resistivity = np.empty((ndim, ndim))
        for j in range(ndim):
            # Face quadrature of the hat functions: the product over the face axes of the
            # 1-D trapezoid weights (h / 2 at the ends, h inside).
            weight = np.ones(node_index.shape[1])
            for a in range(ndim):
                if a != j:
                    ends = (node_index[a] == 0) | (node_index[a] == node_shape[a] - 1)
                    weight *= np.where(ends, spacing / 2.0, spacing)
            load = np.zeros(matrix.shape[0])
            load[node_index[j] == node_shape[j] - 1] += weight[node_index[j] == node_shape[j] - 1]
            load[node_index[j] == 0] -= weight[node_index[j] == 0]
            temperature = _solve_with_fixed(matrix, load, np.array([0]), np.array([0.0]))
            resistivity[:, j] = _q1_mean_gradient(
                temperature, element_nodes, ndim, spacing, np.ones(shape)
            )
        tensor = np.linalg.inv(resistivity)
    else:
        raise ValueError(f"unknown bc {bc!r}")
    return tensor


def conductivity_fv(conductivity: np.ndarray, bc: str, spacing: float = 1.0) -> np.ndarray:
    """Apparent conductivity of cell-centred finite volumes, by a direct sparse solve.

    Two-point fluxes with harmonic-mean face conductances; Dirichlet values
    sit on the boundary faces, half a cell from the boundary cell centres.
    ``periodic``: ``T = e_j . x + u``, ``u`` periodic, column ``j`` the
    average flux. ``kinematic``: ``T = e_j . x`` on every boundary face.
    ``mixed``: ``T = x_i`` on the faces normal to ``i``, no flux elsewhere;
    diagonal only, from the current through the outlet face, ``K_ii = I / A``
    (the TauFactor definition). Otherwise the average flux counts every face
    flux times the slab it stands for (``h``, or ``h / 2`` at a boundary).
    A diagonal tensor field (N0, N1, 2, 2) / (N0, N1, N2, 3, 3) uses ``K_aa``
    for the faces normal to axis ``a``.
    """
    field, shape, ndim = _image(conductivity)
    if field.ndim == ndim:
        along = [field] * ndim
    else:
        along = [field[..., a, a] for a in range(ndim)]
    h = spacing
    n_cells = int(np.prod(shape))
    area = h ** (ndim - 1)

    def faces(kinds):
        """(left cell or -1, right cell or -1, conductance, axis, offset of T across)."""
        out = []
        for cell in np.ndindex(shape):
            for a in range(ndim):
                neighbour = list(cell)
                neighbour[a] += 1
                left = np.ravel_multi_index(cell, shape)
                if neighbour[a] < shape[a] or kinds[a] == "periodic":
                    neighbour[a] %= shape[a]
                    k1, k2 = along[a][cell], along[a][tuple(neighbour)]
                    g = 2 * k1 * k2 / (k1 + k2) * area / h if k1 + k2 > 0 else 0.0
                    out.append((left, np.ravel_multi_index(neighbour, shape), g, a, h))
                if kinds[a] == "dirichlet":
                    g = along[a][cell] * area / (h / 2)
                    if cell[a] == 0:
                        out.append((-1, left, g, a, h / 2))
                    if cell[a] == shape[a] - 1:
                        out.append((left, -1, g, a, h / 2))
        return out

    def solve(kinds, gradient):
        rows, cols, vals = [], [], []
        rhs = np.zeros(n_cells)
        face_list = faces(kinds)
        for left, right, g, a, step in face_list:
            # Flux g * (T_right - T_left) with T = gradient . x + u; the affine jump is
            # gradient[a] * step, and u vanishes on Dirichlet faces.
            for cell, sign in ((left, -1.0), (right, 1.0)):
                if cell < 0:
                    continue
                for other, other_sign in ((left, -1.0), (right, 1.0)):
                    if other >= 0:
                        rows.append(cell)
                        cols.append(other)
                        vals.append(sign * other_sign * g)
                rhs[cell] -= sign * g * gradient[a] * step
        matrix = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(n_cells, n_cells)).tocsr()
        if all(kind == "periodic" for kind in kinds):
            u = _solve_with_fixed(matrix, rhs, np.array([0]), np.array([0.0]))
        else:
            u = scipy.sparse.linalg.spsolve(matrix.tocsc(), rhs)
        mean = np.zeros(ndim)
        outflow = np.zeros(ndim)  # current through the faces x_a = L
        for left, right, g, a, step in face_list:
            difference = gradient[a] * step
            difference += (u[right] if right >= 0 else 0.0) - (u[left] if left >= 0 else 0.0)
            mean[a] += g * difference * step
            if right < 0:
                outflow[a] += g * difference
        return mean / (n_cells * h**ndim), outflow

    tensor = np.full((ndim, ndim), np.nan)
    for j in range(ndim):
        gradient = np.eye(ndim)[j]
        if bc == "periodic":
            tensor[:, j] = solve(("periodic",) * ndim, gradient)[0]
        elif bc == "kinematic":
            tensor[:, j] = solve(("dirichlet",) * ndim, gradient)[0]
        elif bc == "mixed":
            kinds = tuple("dirichlet" if a == j else "neumann" for a in range(ndim))
            outlet_area = n_cells * h**ndim / (shape[j] * h)
            tensor[j, j] = solve(kinds, gradient)[1][j] / outlet_area
        else:
            raise ValueError(f"unknown bc {bc!r}")
    return tensor
