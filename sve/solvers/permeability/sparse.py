"""The MAC Stokes matrix assembled with scipy.sparse, and a direct solve (private).

The same discrete problem as the matrix-free `StokesOperator`, for tests of the
kernels and for the benchmark against a sparse direct solver (SuperLU): the viscous
blocks from the stencils, the gradient from the face-cell incidence (``+1/h`` to
the upper cell, ``-1/h`` to the lower one), minus the divergence as its transpose
(the matrix is symmetric).
Unknowns outside the pore space are dropped, and one pressure per fluid cluster is
pinned to 0 under periodic conditions (the pressure is defined up to a constant per
cluster there).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from sve.solvers._core.clusters import find_clusters
from sve.solvers.permeability.mac import StokesOperator


def assemble(operator: StokesOperator) -> scipy.sparse.csr_matrix:
    """The full saddle-point matrix (size ``operator.size``; empty rows included)."""
    rows, cols, vals = [], [], []
    cell_index = np.arange(operator.cells).reshape(operator.fluid.shape)
    base = operator.pressure_offset
    for comp in operator.components:
        shape = comp.shape
        index = comp.offset + np.arange(comp.size).reshape(shape)
        diag, ws = comp.stencil.arrays()
        rows.append(index.ravel())
        cols.append(index.ravel())
        vals.append(diag.ravel())
        for b in range(3):
            w = ws[b]
            neighbour = np.roll(index, -1, axis=b)
            mask = w != 0.0
            for r, c in ((index, neighbour), (neighbour, index)):
                rows.append(r[mask])
                cols.append(c[mask])
                vals.append(-w[mask])
        c = comp.axis
        m = operator.fluid.shape[c]
        position = np.arange(shape[c]).reshape([-1 if a == c else 1 for a in range(3)])
        for offset, sign in ((1 - comp.shift, 1.0), (-comp.shift, -1.0)):
            target = position + offset
            inside = np.ones_like(target, dtype=bool)
            if comp.wrap:
                target = target % m
            else:
                inside = (target >= 0) & (target < m)
                target = np.clip(target, 0, m - 1)
            cells = np.take_along_axis(
                np.broadcast_to(cell_index, cell_index.shape),
                np.broadcast_to(target, shape),
                axis=c,
            )
            mask = comp.active & np.broadcast_to(inside, shape)
            value = sign / operator.h[c]
            rows.append(index[mask])
            cols.append(base + cells[mask])
            vals.append(np.full(int(mask.sum()), value))
            rows.append(base + cells[mask])
            cols.append(index[mask])
            vals.append(np.full(int(mask.sum()), value))
    matrix = scipy.sparse.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(operator.size, operator.size),
    )
    return matrix.tocsr()


def direct_solve(operator: StokesOperator, loads: list[np.ndarray], *, periodic: bool):
    """Solve every load with SuperLU on the pore unknowns; return the full solutions."""
    matrix = assemble(operator)
    keep = np.zeros(operator.size, dtype=bool)
    for comp in operator.components:
        keep[comp.offset : comp.offset + comp.size] = comp.active.ravel()
    fluid = operator.fluid.ravel().copy()
    if periodic:
        clusters = find_clusters(operator.fluid, periodic=True, discretization="fv")
        labels = clusters.labels.ravel()
        _, first = np.unique(labels[labels >= 0], return_index=True)
        pinned = np.flatnonzero(labels >= 0)[first]
        fluid[pinned] = False
    keep[operator.pressure_offset :] = fluid
    index = np.flatnonzero(keep)
    reduced = matrix[index][:, index].tocsc()
    solver = scipy.sparse.linalg.splu(reduced)
    solutions = []
    for b in loads:
        x = np.zeros(operator.size)
        x[index] = solver.solve(b[index])
        solutions.append(x)
    return solutions
