"""Numba kernel of the local fields: Gauss-point values and their moments (private)."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def gauss_moments(corners, matrix, load, points, mean, moment):
    """Per voxel, the field at the Gauss points and its mean and second moment.

    ``corners`` (n, K) corner dofs, ``matrix`` (K, G c) maps them to ``c``
    components at ``G`` equal-weight points (point-major), ``load`` (c,) is
    added at every point; ``points`` (G, c) is scratch; writes ``mean``
    (n, c) and ``moment`` (n, c, c).
    """
    n, dofs = corners.shape
    count, components = points.shape
    for v in range(n):
        for g in range(count):
            for i in range(components):
                points[g, i] = load[i]
        for a in range(dofs):
            value = corners[v, a]
            if value != 0.0:
                for g in range(count):
                    for i in range(components):
                        points[g, i] += value * matrix[a, g * components + i]
        for i in range(components):
            total = 0.0
            for g in range(count):
                total += points[g, i]
            mean[v, i] = total / count
            for j in range(i, components):
                total = 0.0
                for g in range(count):
                    total += points[g, i] * points[g, j]
                moment[v, i, j] = total / count
                moment[v, j, i] = total / count


def run_gauss_moments(corners, weights, load):
    """`gauss_moments` on corner values (..., K) and weights (G, K, c): (n, c), (n, c, c)."""
    count, dofs, components = weights.shape
    flat = np.ascontiguousarray(corners.reshape(-1, dofs), dtype=np.float64)
    matrix = np.ascontiguousarray(weights.transpose(1, 0, 2).reshape(dofs, count * components))
    mean = np.empty((flat.shape[0], components))
    moment = np.empty((flat.shape[0], components, components))
    points = np.empty((count, components))
    gauss_moments(flat, matrix, np.ascontiguousarray(load, dtype=np.float64), points, mean, moment)
    return mean, moment
