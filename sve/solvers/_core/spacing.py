"""Voxel edge lengths per axis, as the cell problems take them (private)."""

from __future__ import annotations

import numpy as np


def per_axis(spacing: float | tuple[float, ...] | np.ndarray, ndim: int) -> np.ndarray:
    """The voxel edges ``(h_0, ..., h_{d-1})`` as a float64 array of length `ndim`.

    One number stands for cubic voxels (every axis the same); a sequence must
    have `ndim` entries. The public functions check the values
    (``sve._validation.check_spacing``); this only shapes them for the
    kernels, which take an array (Numba types it once, whatever the entries).
    """
    h = np.array(spacing, dtype=np.float64).reshape(-1)
    if h.size == 1:
        return np.full(ndim, h[0])
    if h.size != ndim:
        raise ValueError(f"spacing must have one entry per axis ({ndim}), got {spacing!r}")
    return np.ascontiguousarray(h)


def normalized(spacing: tuple[float, ...]) -> np.ndarray:
    """`spacing` divided by its smallest entry, float64 (1 on the finest axis).

    Every apparent tensor is invariant under a uniform scaling of the voxel,
    so the solvers work with this: the same arithmetic, bit for bit, for
    ``(1, 1, 3)`` and ``(0.5, 0.5, 1.5)``, and exactly the cubic path of unit
    voxels for cubic ones.
    """
    h = np.asarray(spacing, dtype=np.float64)
    return h / h.min()


def padded(h: np.ndarray, length: int = 3) -> np.ndarray:
    """`h` with ones appended up to `length` entries (2-D fields passed as 3-D)."""
    return np.concatenate([h, np.ones(length - h.size)])
