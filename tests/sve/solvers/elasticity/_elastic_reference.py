"""Assembled scipy.sparse reference for the Q1 elasticity cell problems (small images only).

Independent of the solver's code: shape-function gradients at the Gauss
points come from ``tests/_reference.py``-style loops, the strain matrices,
the Mandel basis and the element matrices are built here, the global
stiffness is assembled element by element and every system is solved
directly. Rigid modes of the static problem are removed by Lagrange
multipliers. Images with voids (voxels of zero stiffness) have a singular
matrix (nodes touching no solid, floating parts, hinge mechanisms): they are
solved densely for the minimum-norm least-squares solution, whose stresses
are the unique ones of a consistent load (small images only).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

_PAIRS = {2: ((0, 0), (1, 1), (0, 1)), 3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))}


def _edges(spacing, ndim: int) -> np.ndarray:
    """The voxel edges per axis (d,): one number for cubic voxels, or one per axis."""
    return np.broadcast_to(np.asarray(spacing, dtype=float), (ndim,)).copy()


def _element(ndim: int, spacing):
    """Element corners (2**d, d), Gauss-point strain matrices B (g, m, d 2**d), weight
    (voxel edges `spacing`, one number or one per axis)."""
    h = _edges(spacing, ndim)
    corners = np.array(list(itertools.product((0, 1), repeat=ndim)))
    points = (0.5 - 0.5 / math.sqrt(3.0), 0.5 + 0.5 / math.sqrt(3.0))
    m = len(_PAIRS[ndim])
    bs = []
    for point in itertools.product(points, repeat=ndim):
        x = np.array(point)
        grad = np.empty((2**ndim, ndim))
        for a, corner in enumerate(corners):
            for i in range(ndim):
                g = 1.0
                for j in range(ndim):
                    if j == i:
                        g *= (1.0 if corner[j] else -1.0) / h[j]
                    else:
                        g *= x[j] if corner[j] else 1.0 - x[j]
                grad[a, i] = g
        b = np.zeros((m, ndim * 2**ndim))
        for k, (i, j) in enumerate(_PAIRS[ndim]):
            factor = 1.0 if i == j else 1.0 / math.sqrt(2.0)
            for a in range(2**ndim):
                b[k, a * ndim + i] += factor * grad[a, j]
                if i != j:
                    b[k, a * ndim + j] += factor * grad[a, i]
        bs.append(b)
    return corners, np.array(bs), float(np.prod(h / 2.0))


def _tensor(vector: np.ndarray, ndim: int) -> np.ndarray:
    out = np.zeros((ndim, ndim))
    for k, (i, j) in enumerate(_PAIRS[ndim]):
        out[i, j] = out[j, i] = vector[k] if i == j else vector[k] / math.sqrt(2.0)
    return out


def apparent_stiffness_reference(stiffness: np.ndarray, bc: str, spacing=1.0) -> np.ndarray:
    """Apparent Mandel stiffness of per-voxel Mandel matrices by a direct sparse solve.

    Parameters
    ----------
    stiffness : ndarray of shape (N0, N1, 3, 3) or (N0, N1, N2, 6, 6)
    bc : {"periodic", "kinematic", "static", "mixed"}
        As in ``apparent_stiffness``; ``"mixed"`` returns the normal block
        and the shear block, NaN in the normal-shear coupling blocks.
    spacing : float or sequence of float, default 1
        Voxel edges, one number or one per axis.

    Returns
    -------
    ndarray of shape (m, m)
    """
    shape = stiffness.shape[:-2]
    ndim = len(shape)
    m = len(_PAIRS[ndim])
    periodic = bc == "periodic"
    voids = bool(np.any(np.all(stiffness == 0.0, axis=(-2, -1))))
    h = _edges(spacing, ndim)

    def solve(matrix, rhs):
        if not voids:
            return scipy.sparse.linalg.spsolve(matrix, rhs)
        dense = matrix.toarray()
        solution, *_ = np.linalg.lstsq(dense, rhs, rcond=1e-12)
        # A consistent load: the least-squares residual is round-off.
        assert np.linalg.norm(dense @ solution - rhs) <= 1e-9 * max(np.linalg.norm(rhs), 1e-300)
        return solution

    node_shape = shape if periodic else tuple(n + 1 for n in shape)
    corners, bs, weight = _element(ndim, spacing)
    bbar = bs.mean(axis=0)
    n_dof = int(np.prod(node_shape)) * ndim
    rows, cols, vals, elements = [], [], [], []
    for element in np.ndindex(shape):
        nodes = [
            np.ravel_multi_index(
                tuple((element[i] + c[i]) % node_shape[i] for i in range(ndim)), node_shape
            )
            for c in corners
        ]
        dofs = np.array([node * ndim + c for node in nodes for c in range(ndim)])
        c_e = stiffness[element]
        ke = sum(weight * b.T @ c_e @ b for b in bs)
        rows.extend(np.repeat(dofs, len(dofs)))
        cols.extend(np.tile(dofs, len(dofs)))
        vals.extend(ke.reshape(-1))
        elements.append((element, dofs, ke))
    matrix = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(n_dof, n_dof)).tocsr()
    positions = h * np.stack(np.indices(node_shape), axis=-1).reshape(-1, ndim)
    n_voxels = int(np.prod(shape))

    def averages(u_total):
        strain, stress = np.zeros(m), np.zeros(m)
        for element, dofs, _ in elements:
            e = bbar @ u_total[dofs]
            strain += e
            stress += stiffness[element] @ e
        return strain / n_voxels, stress / n_voxels

    if bc == "static" and voids:
        compliance = np.zeros((m, m))
        for k in range(m):
            sigma = np.eye(m)[k]
            load = np.zeros(n_dof)
            for _, dofs, _ in elements:
                load[dofs] += weight * 2**ndim * bbar.T @ sigma
            compliance[:, k] = averages(solve(matrix.tocsc(), load))[0]
        return np.linalg.inv(compliance)
    if bc == "static":
        rigid = []
        for c in range(ndim):
            mode = np.zeros((len(positions), ndim))
            mode[:, c] = 1.0
            rigid.append(mode.reshape(-1))
        for p in range(ndim):
            for q in range(p + 1, ndim):
                mode = np.zeros((len(positions), ndim))
                mode[:, p] = -positions[:, q]
                mode[:, q] = positions[:, p]
                rigid.append(mode.reshape(-1))
        r = np.array(rigid).T
        saddle = scipy.sparse.bmat([[matrix, r], [r.T, None]]).tocsc()
        compliance = np.zeros((m, m))
        for k in range(m):
            sigma = np.eye(m)[k]
            load = np.zeros(n_dof)
            for _, dofs, _ in elements:
                load[dofs] += weight * 2**ndim * bbar.T @ sigma
            solution = scipy.sparse.linalg.spsolve(
                saddle, np.concatenate([load, np.zeros(r.shape[1])])
            )
            compliance[:, k] = averages(solution[:n_dof])[0]
        return np.linalg.inv(compliance)

    def fixed_dofs(dirichlet):
        """Mask of the dofs fixed on the boundary: component c on the faces normal to
        `axis` wherever ``dirichlet(c, axis)``."""
        fixed = np.zeros((len(positions), ndim), dtype=bool)
        for c in range(ndim):
            for axis in range(ndim):
                if dirichlet(c, axis):
                    on_face = (positions[:, axis] == 0) | np.isclose(
                        positions[:, axis], h[axis] * shape[axis]
                    )
                    fixed[on_face, c] = True
        return fixed.reshape(-1)

    if periodic:
        fixed = np.zeros(n_dof, dtype=bool)
        fixed[:ndim] = True  # translations: fix node 0
        groups = [(fixed, range(m))]
    elif bc == "kinematic":
        groups = [(fixed_dofs(lambda c, axis: True), range(m))]
    else:  # mixed: normal loads with u_c fixed on the faces normal to c, shear loads with
        # the tangential components fixed on every face (normal traction free)
        groups = [
            (fixed_dofs(lambda c, axis: axis == c), range(ndim)),
            (fixed_dofs(lambda c, axis: axis != c), range(ndim, m)),
        ]
    tensor = np.full((m, m), np.nan) if bc == "mixed" else np.zeros((m, m))
    for fixed, cases in groups:
        free = ~fixed
        reduced = matrix[free][:, free].tocsc()
        rows = slice(cases.start, cases.stop) if bc == "mixed" else slice(None)
        for k in cases:
            strain_tensor = _tensor(np.eye(m)[k], ndim)
            if periodic:
                load = np.zeros(n_dof)
                for _, dofs, ke in elements:
                    w = (h * corners) @ strain_tensor.T  # E . x on the unwrapped element
                    load[dofs] -= ke @ w.reshape(-1)
                u = np.zeros(n_dof)
                u[free] = solve(reduced, load[free])
                stress = np.zeros(m)
                for element, dofs, _ in elements:
                    w = ((h * corners) @ strain_tensor.T).reshape(-1)
                    e = bbar @ (u[dofs] + w)
                    stress += stiffness[element] @ e
                tensor[:, k] = stress / n_voxels
                continue
            u = (positions @ strain_tensor.T).reshape(-1)
            u[free] = 0.0
            rhs = -(matrix @ u)
            u[free] = solve(reduced, rhs[free])
            tensor[rows, k] = averages(u)[1][rows]
    return tensor
