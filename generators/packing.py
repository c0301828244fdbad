r"""Spheres with continuous centres in a periodic box, and their voxelization.

Shared by the Boolean model and random sequential addition. The box of a grid
of shape ``(N_a)`` and voxel edge :math:`\Delta` is :math:`[0, N_a\Delta)`
along each axis; voxel :math:`i` has its centre at :math:`(i_a + 1/2)\Delta`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from generators._kernels import paint_spheres
from generators._typing import ShapeLike
from generators._validation import as_float_array, as_positive, as_shape


@dataclass(frozen=True, eq=False)
class Packing:
    r"""Spheres (disks in 2-D) in a periodic box, with their voxel image.

    Attributes
    ----------
    labels : ndarray of the grid shape, int8
        1 at the voxels whose centre lies in at least one sphere, 0 elsewhere.
    centres : ndarray of shape (n, d), float64
        Sphere centres in physical length units, in :math:`[0, N_a \\Delta)`.
    radii : ndarray of shape (n,), float64
        Sphere radii in physical length units.
    """

    labels: NDArray[np.int8]
    centres: NDArray[np.float64]
    radii: NDArray[np.float64]


def ball_volume(radius: ArrayLike, ndim: int) -> NDArray[np.float64]:
    r"""Volume :math:`\pi^{d/2} R^d / \Gamma(d/2 + 1)` of a d-ball (length, area or volume)."""
    return math.pi ** (ndim / 2) / math.gamma(ndim / 2 + 1) * np.asarray(radius) ** ndim


def voxelize_spheres(
    shape: ShapeLike, centres: ArrayLike, radii: ArrayLike, *, spacing: float = 1.0
) -> NDArray[np.int8]:
    r"""Voxel image of a union of spheres in a periodic box, by voxel-centre inclusion.

    Parameters
    ----------
    shape : sequence of int
        Number of voxels (N0,), (N0, N1) or (N0, N1, N2); each >= 2.
    centres : array_like of float, shape (n, d)
        Sphere centres in physical length units (any real values: they are
        taken modulo the box), d = ``len(shape)``.
    radii : array_like of float, shape (n,) or scalar
        Radii > 0 in physical length units, at most half the smallest box
        edge (a sphere must not overlap its own periodic image).
    spacing : float, default 1.0
        Voxel edge length, > 0.

    Returns
    -------
    ndarray of shape ``shape``, int8
        1 where the voxel centre :math:`x` satisfies :math:`\lvert x - c
        \rvert \le R` for some sphere (minimum-image distance), 0 elsewhere.

    Notes
    -----
    Each sphere visits only the voxels of its bounding box (a Numba kernel),
    so the cost is proportional to the total sphere volume in voxels plus
    the number of spheres. The voxel volume fraction differs from the
    continuous one by a discretization error that decreases with the number
    of voxels per radius.

    Examples
    --------
    >>> voxelize_spheres((5, 5), [[2.5, 2.5]], [1.0])
    array([[0, 0, 0, 0, 0],
           [0, 0, 1, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 1, 0, 0],
           [0, 0, 0, 0, 0]], dtype=int8)
    """
    shape = as_shape(shape)
    spacing = as_positive(spacing, "spacing")
    ndim = len(shape)
    centres = as_float_array(centres, "centres", -math.inf, math.inf)
    if centres.ndim != 2 or centres.shape[1] != ndim:
        raise ValueError(f"centres must have shape (n, {ndim}), got {centres.shape}")
    radii = np.broadcast_to(
        as_float_array(radii, "radii", 0.0, math.inf), (centres.shape[0],)
    ).astype(np.float64)
    if radii.size and radii.min() <= 0.0:
        raise ValueError(f"radii must be > 0, got minimum {radii.min():g}")
    check_radius_fits(float(radii.max(initial=0.0)), shape, spacing, "radii")
    return paint(shape, centres, radii, spacing)


def check_radius_fits(radius: float, shape: tuple[int, ...], spacing: float, name: str) -> None:
    """Reject a radius above half the smallest box edge."""
    half_box = min(shape) * spacing / 2.0
    if radius > half_box:
        raise ValueError(
            f"{name} must be at most half the smallest box edge ({half_box:g}), got {radius:g}"
        )


def paint(
    shape: tuple[int, ...], centres: np.ndarray, radii: np.ndarray, spacing: float
) -> NDArray[np.int8]:
    """Call the kernel on the grid padded to three axes (validated arguments)."""
    ndim = len(shape)
    grid = shape + (1,) * (3 - ndim)
    padded = np.full((centres.shape[0], 3), 0.5)
    padded[:, :ndim] = np.mod(centres / spacing, shape)
    labels = np.zeros(grid, dtype=np.int8)
    paint_spheres(labels, padded, radii / spacing, np.int8(1))
    return labels.reshape(shape)
