"""Small test media shared by the solver tests."""

from __future__ import annotations

import numpy as np
import scipy.ndimage


def smooth_two_phase(shape, rng, *, length=2.0):
    """Two-phase labels (int8): level cut at the median of a smoothed periodic noise."""
    field = scipy.ndimage.gaussian_filter(rng.standard_normal(shape), length, mode="wrap")
    return (field > np.median(field)).astype(np.int8)


def random_labels(shape, n_phases, seed):
    """Independent uniform labels 0 .. n_phases - 1 (int8)."""
    return np.random.default_rng(seed).integers(0, n_phases, size=shape).astype(np.int8)


def refine(phases, factor):
    """The same geometry on a grid `factor` times finer along every axis."""
    for axis in range(phases.ndim):
        phases = np.repeat(phases, factor, axis=axis)
    return phases


def laminate(ndim, normal, layers, width=4):
    """Labels constant on planes normal to axis `normal`, `layers` along it."""
    layers = np.asarray(layers)
    shape = [width] * ndim
    shape[normal] = layers.size
    index = [np.newaxis] * ndim
    index[normal] = slice(None)
    return np.broadcast_to(layers[tuple(index)], shape).copy()


def symmetric_eigenvalues(matrix):
    """Eigenvalues of the symmetric part, ascending."""
    return np.linalg.eigvalsh(0.5 * (matrix + matrix.T))
