"""Geometry of Q1 voxel elements shared by every Q1 cell problem (private).

A voxel has ``2**d`` corners numbered by the binary digits of the local index,
axis 0 the most significant (the order of ``numpy.kron``). The 1-D element
matrices of Q1 elements are diagonalised by the two-point Hadamard matrix, so
the scalar and the elastic operators both work in the Hadamard basis of the
corners. A node grid with ``"dirichlet"`` axes keeps its end nodes fixed.
"""

from __future__ import annotations

import itertools

import numpy as np


def corner_offsets(ndim: int) -> np.ndarray:
    """Return the corner offsets of a voxel, shape (2**ndim, ndim), int64.

    Row ``a`` holds the binary digits of ``a``, axis 0 the most significant
    (the node order of ``numpy.kron`` and of the kernels).
    """
    return np.array(list(itertools.product((0, 1), repeat=ndim)), dtype=np.int64)


def corner_hadamard(ndim: int) -> np.ndarray:
    """The unnormalised Hadamard matrix of the voxel corners, shape (2**d, 2**d).

    ``H = [[1, 1], [1, -1]]`` to the Kronecker power d, in the corner order
    of `corner_offsets`; ``H H = 2**d I``.
    """
    hadamard = np.ones((1, 1))
    for _ in range(ndim):
        hadamard = np.kron(hadamard, np.array([[1.0, 1.0], [1.0, -1.0]]))
    return hadamard


def zero_dirichlet_ends(x: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
    """Zero the nodal field `x` in place on the end nodes of its ``"dirichlet"`` axes (the
    fixed nodes of a node grid with boundary `kinds`); return `x`.
    """
    for axis, kind in enumerate(kinds):
        if kind == "dirichlet":
            index = [slice(None)] * x.ndim
            for end in (0, -1):
                index[axis] = end
                x[tuple(index)] = 0.0
    return x
