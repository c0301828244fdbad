"""Voids in the elasticity cell problems: rigid parts, hinges, zero-energy modes (private).

A voxel of zero stiffness (a void) carries no stress. The solid voxels fall
into *parts*, connected through shared faces (edges in 2-D). A Q1 element
with a positive definite stiffness has exactly the rigid motions as its zero
energy modes, and two voxels sharing a face (2**(d-1) nodes) must move with
one rigid motion; so a zero-energy displacement is one rigid motion per
part, equal at the nodes that parts share and zero on the fixed degrees of
freedom. Parts that touch only at a node (2-D) or along an edge or at a
corner (3-D) share those nodes: a *hinge*, which transmits forces but no
moment, so the pair keeps a relative rotation about the hinge (a mechanism).
Parts no boundary holds (all parts under static conditions, parts off the
Dirichlet faces otherwise) float; under periodic conditions a part that
wraps around the cell only keeps the rotations about its wrapping
directions. Everything is found the same way here: the rigid motions of the
parts, constrained node by node, give the null space of the operator on the
nodes that touch a solid voxel; nodes that touch none have empty rows and
are fixed at zero. The solver keeps its iterates orthogonal to both.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from sve.solvers._core.cluster_kernels import label_clusters
from sve.solvers._core.spacing import per_axis
from sve.solvers.elasticity.q1_kernels import unwrapped_positions

# Eigenvalues of the constraint Gram matrix of a group of parts below this fraction of its
# largest are zero-energy modes. Rows have entries O(1) (positions in units of the largest
# cell edge N), so a genuine constraint gives an eigenvalue >= ~1 / N**2 >> 1e-10.
_NULL_TOLERANCE = 1e-10


@dataclass(frozen=True)
class ZeroModes:
    """Null space of the elasticity operator of an image with voids.

    Attributes
    ----------
    empty : ndarray of the node grid, bool
        Nodes that touch no solid voxel (fixed at zero).
    blocks : tuple of (ndarray, ndarray)
        Per group of parts coupled by hinges: the flat dof indices it
        covers and an orthonormal basis (n_dofs, k) of its zero-energy modes.
    parts, hinges, modes : int
        Number of face-connected solid parts, of nodes shared by two or more
        parts only, and of zero-energy modes.
    """

    empty: np.ndarray
    blocks: tuple[tuple[np.ndarray, np.ndarray], ...]
    parts: int
    hinges: int
    modes: int

    def project(self, x: np.ndarray) -> None:
        """In place: zero the empty nodes of `x` (node grid + (d,)) and remove its
        components along the zero-energy modes.
        """
        x[self.empty] = 0.0
        flat = x.reshape(-1)
        for dofs, basis in self.blocks:
            values = flat[dofs]
            flat[dofs] = values - basis @ (basis.T @ values)

    def components(self, x: np.ndarray) -> np.ndarray:
        """The parts of `x` that `project` removes, as one vector (empty nodes, then modes)."""
        flat = x.reshape(-1)
        pieces = [x[self.empty].reshape(-1)]
        pieces += [basis.T @ flat[dofs] for dofs, basis in self.blocks]
        return np.concatenate(pieces)


def _distinct_copies(node, part, y, node_shape, n_parts) -> np.ndarray:
    """Indices of the distinct (node, part, lattice image) triples, sorted by node first.

    One int64 key per copy (one sort) when it fits, else rows sorted as a whole.
    """
    image = (y - y % np.array(node_shape)) // np.array(node_shape)  # lattice image per axis
    low = image.min(axis=0)
    base = image.max(axis=0) - low + 1
    if float(np.prod(base, dtype=float)) * node.max(initial=0) * n_parts < 2.0**62:
        key = node * n_parts + part
        for axis in range(y.shape[1]):
            key = key * base[axis] + (image[:, axis] - low[axis])
        _, first = np.unique(key, return_index=True)
        return first
    _, first = np.unique(np.column_stack([node, part, y]), axis=0, return_index=True)
    return first


def rigid_matrix(y: np.ndarray) -> np.ndarray:
    """``T`` (n, d, r): the rigid displacement at positions `y` (n, d) is ``T @ params``.

    Translations first, then the rotations in the planes (p, q), p < q.
    """
    n, ndim = y.shape
    pairs = list(itertools.combinations(range(ndim), 2))
    out = np.zeros((n, ndim, ndim + len(pairs)))
    for c in range(ndim):
        out[:, c, c] = 1.0
    for k, (p, q) in enumerate(pairs):
        out[:, p, ndim + k] = -y[:, q]
        out[:, q, ndim + k] = y[:, p]
    return out


def zero_modes(
    solid: np.ndarray, fixed: np.ndarray, *, periodic: bool, spacing: object = 1.0
) -> ZeroModes:
    """Zero-energy modes of the Q1 elasticity operator of an image with voids.

    Parameters
    ----------
    solid : ndarray of shape (N0, N1[, N2]), bool
        Voxels of nonzero (positive definite) stiffness.
    fixed : ndarray of the node grid + (d,), bool
        Degrees of freedom held at zero (Dirichlet faces).
    periodic : bool
        Periodic node grid (N nodes per axis) or bounded (N + 1).
    spacing : float or sequence of float, default 1
        Voxel edges per axis: the rotations are those of the physical positions
        (node index times ``h_i``), which differ from those of the indices when the
        voxels are boxes.
    """
    ndim = solid.ndim
    shape = solid.shape
    node_shape = fixed.shape[:-1]
    r = ndim * (ndim + 1) // 2
    padded = solid.reshape(shape + (1,) * (3 - ndim))
    wrap = np.array([periodic] * ndim + [False] * (3 - ndim))
    steps = np.array([(1, 0, 0), (0, 1, 0), (0, 0, 1)], np.int64)
    labels, _, _, _ = label_clusters(padded, wrap, steps)
    positions = unwrapped_positions(labels, wrap)[..., :ndim]
    n_parts = int(labels.max()) + 1 if labels.size else 0
    labels = labels.reshape(-1)
    voxels = np.flatnonzero(labels >= 0)
    empty = np.ones(node_shape, dtype=bool)
    if n_parts == 0:
        return ZeroModes(empty, (), 0, 0, 0)

    # Copies of the nodes: (node, part, unwrapped position), one per distinct triple.
    corners = np.array(list(itertools.product((0, 1), repeat=ndim)), np.int64)
    y = positions.reshape(-1, ndim)[voxels][:, None, :] + corners[None]  # (n, 2**d, d)
    part = np.repeat(labels[voxels], len(corners))
    y = y.reshape(-1, ndim)
    node = np.ravel_multi_index(tuple((y % np.array(node_shape)).T), node_shape)
    copies = _distinct_copies(node, part, y, node_shape, n_parts)
    node, part, y = node[copies], part[copies], y[copies].astype(np.float64)
    y *= per_axis(spacing, ndim)  # physical positions
    empty.reshape(-1)[node] = False
    counts = np.bincount(part, minlength=n_parts)
    centroid = np.stack(
        [np.bincount(part, weights=y[:, i], minlength=n_parts) for i in range(ndim)], axis=1
    )
    centroid /= counts[:, None]
    scale = float(np.max(np.array(shape) * per_axis(spacing, ndim)))
    t = rigid_matrix((y - centroid[part]) / scale)  # (copies, d, r)

    # Constraint rows, each on one part (a) or two (a, b): coefficients (rows, r).
    first = np.r_[True, node[1:] != node[:-1]]
    leader = np.maximum.accumulate(np.where(first, np.arange(node.size), 0))
    others = np.flatnonzero(~first)
    shared_parts = np.zeros(node.size, bool)
    shared_parts[others] = part[others] != part[leader[others]]
    hinges = np.unique(node[shared_parts]).size
    rows_a = np.repeat(part[others], ndim)
    coef_a = t[others].reshape(-1, r)
    rows_b = np.repeat(part[leader[others]], ndim)
    coef_b = -t[leader[others]].reshape(-1, r)
    held_dof = fixed.reshape(-1, ndim)[node]  # (copies, d)
    copy, component = np.nonzero(held_dof)
    rows_a = np.concatenate([rows_a, part[copy]])
    coef_a = np.concatenate([coef_a, t[copy, component]])
    rows_b = np.concatenate([rows_b, np.full(copy.size, -1)])
    coef_b = np.concatenate([coef_b, np.zeros((copy.size, r))])

    # Parts held by their own constraints move no more; their rows then hold their
    # neighbours. Repeat until nothing changes.
    held = np.zeros(n_parts, bool)
    while True:
        a_live, b_live = ~held[rows_a], (rows_b >= 0) & ~held[np.maximum(rows_b, 0)]
        single = (a_live & ~b_live) | (~a_live & b_live)
        gram = np.zeros((n_parts, r, r))
        on = np.where(a_live[single], rows_a[single], rows_b[single])
        coefficient = np.where(a_live[single][:, None], coef_a[single], coef_b[single])
        np.add.at(gram, on, coefficient[:, :, None] * coefficient[:, None, :])
        lowest = np.linalg.eigvalsh(gram)[:, 0]
        newly = ~held & (lowest > _NULL_TOLERANCE * np.maximum(np.abs(gram).max(axis=(1, 2)), 1.0))
        if not newly.any():
            break
        held |= newly

    # The free parts: one constraint matrix, split into groups coupled by two-part rows.
    free = np.flatnonzero(~held)
    index = np.full(n_parts, -1)
    index[free] = np.arange(free.size)
    keep_a, keep_b = a_live, b_live
    cols, vals, row_ids = [], [], []
    n_rows = rows_a.size
    ids = np.arange(n_rows)
    for keep, rows, coef in ((keep_a, rows_a, coef_a), (keep_b, rows_b, coef_b)):
        sel = np.flatnonzero(keep)
        cols.append((index[rows[sel]][:, None] * r + np.arange(r)).reshape(-1))
        vals.append(coef[sel].reshape(-1))
        row_ids.append(np.repeat(ids[sel], r))
    matrix = scipy.sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(row_ids), np.concatenate(cols))),
        shape=(n_rows, free.size * r),
    )
    pairs = keep_a & keep_b
    graph = scipy.sparse.coo_matrix(
        (np.ones(pairs.sum()), (index[rows_a[pairs]], index[rows_b[pairs]])),
        shape=(free.size, free.size),
    )
    n_groups, group = scipy.sparse.csgraph.connected_components(graph, directed=False)
    gram = (matrix.T @ matrix).tocsr()
    copy_index = index[part]
    copy_group = np.full(node.size, -1)
    copy_group[copy_index >= 0] = group[copy_index[copy_index >= 0]]
    order = np.argsort(copy_group, kind="stable")
    bounds = np.searchsorted(copy_group[order], np.arange(n_groups + 1))
    held_dofs = fixed.reshape(-1)

    def nodal(copies, params):
        """Flat dofs (sorted) and values (dofs, k) of part parameters `params` (n_parts, r, k)
        at the nodes of `copies` (the copies of one node agree: constraints).
        """
        fields = np.einsum("ndr,nrk->ndk", t[copies], params[part[copies]])
        nodes, first_copy = np.unique(node[copies], return_index=True)
        values = fields[first_copy].reshape(-1, params.shape[2])
        dofs = (nodes[:, None] * ndim + np.arange(ndim)).reshape(-1)
        values[held_dofs[dofs]] = 0.0
        return dofs, values

    blocks, modes = [], 0
    for g in range(n_groups):
        members = np.flatnonzero(group == g)
        columns = (members[:, None] * r + np.arange(r)).reshape(-1)
        block = gram[columns][:, columns].toarray()
        values, vectors = np.linalg.eigh(block)
        null = vectors[:, values <= _NULL_TOLERANCE * max(values.max(initial=0.0), 1.0)]
        if null.shape[1] == 0:
            continue
        mine = order[bounds[g] : bounds[g + 1]]
        # Keep the basis local: rotate it so that at most r modes move the largest part
        # (its rigid motions, over the whole group); the others (hinge mechanisms, floating
        # pieces) leave it at rest and live on the small parts only.
        sizes = np.bincount(copy_index[mine], minlength=free.size)[members]
        big = int(np.argmax(sizes))
        _, singular, turn = np.linalg.svd(null[big * r : (big + 1) * r])
        rank = int(np.count_nonzero(singular > 1e-8))
        null = null @ turn.T
        local = null[:, rank:].reshape(members.size, r, -1)
        local[big] = 0.0
        params = np.zeros((n_parts, r, null.shape[1] - rank))
        params[free[members]] = local
        small = mine[copy_index[mine] != members[big]]
        local_block = None
        if params.shape[2] and small.size:
            dofs, values = nodal(small, params)
            basis, _ = np.linalg.qr(values)
            local_block = (dofs, np.ascontiguousarray(basis))
        if rank:
            params = np.zeros((n_parts, r, rank))
            params[free[members]] = null[:, :rank].reshape(members.size, r, rank)
            dofs, values = nodal(mine, params)
            if local_block is not None:  # orthogonal to the local modes
                where = np.searchsorted(dofs, local_block[0])
                values[where] -= local_block[1] @ (local_block[1].T @ values[where])
            basis, _ = np.linalg.qr(values)
            blocks.append((dofs, np.ascontiguousarray(basis)))
            modes += basis.shape[1]
        if local_block is not None:
            blocks.append(local_block)
            modes += local_block[1].shape[1]
    return ZeroModes(empty, tuple(blocks), n_parts, int(hinges), modes)
