"""The reference-medium solver of the boundary-value problems, against dense algebra."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sve.solvers._core.boundary import reference_solver
from sve.solvers.conductivity.q1 import Q1Grid


@pytest.mark.parametrize("shape, spacing", [((5, 4), (1.0, 0.5)), ((4, 3, 5), (1.0, 2.0, 0.7))])
def test_reference_solver_inverts_the_homogeneous_operator(shape, spacing):
    """Every combination of end conditions per axis (Neumann, Dirichlet at either end or
    both): the transform solver equals the dense inverse of the free block of the
    assembled Q1 operator, to 1e-10 relative (round-off of the transforms); all-Neumann:
    the pseudo-inverse, up to the constant."""
    ndim = len(shape)
    nodes = tuple(n + 1 for n in shape)
    grid = Q1Grid(np.ones(shape), ("neumann",) * ndim, spacing)
    size = int(np.prod(nodes))
    matrix = np.zeros((size, size))
    for i in range(size):
        unit = np.zeros(size)
        unit[i] = 1.0
        column = np.empty(nodes)
        grid.flux(unit.reshape(nodes), np.zeros(ndim), column)
        matrix[:, i] = column.ravel()
    rng = np.random.default_rng(0)
    for ends in itertools.product(("nn", "dd", "dn", "nd"), repeat=ndim):
        fixed = np.zeros(nodes, bool)
        for axis, end in enumerate(ends):
            index = [slice(None)] * ndim
            for position, kind in zip((0, -1), end, strict=True):
                if kind == "d":
                    index[axis] = position
                    fixed[tuple(index)] = True
        free = ~fixed.ravel()
        block = matrix[np.ix_(free, free)]
        r = rng.standard_normal(nodes)
        r[fixed] = 0.0
        singular = all(end == "nn" for end in ends)
        if singular:
            r -= r.mean()
        out = np.empty(nodes)
        reference_solver(ends, shape, spacing, np.ones(ndim))(r, out)
        assert np.all(out[fixed] == 0.0)
        if singular:
            expected = np.linalg.lstsq(block, r.ravel()[free], rcond=None)[0]
            got = out.ravel()[free]
            error = np.abs((got - got.mean()) - (expected - expected.mean())).max()
        else:
            expected = np.linalg.solve(block, r.ravel()[free])
            error = np.abs(out.ravel()[free] - expected).max() / np.abs(expected).max()
        assert error < 1e-10, ends
